"""The officers' web console (FastAPI + server-rendered Jinja2): reads what the pipeline, the register
and the corrections store hold; acts only through the functions the CLI uses."""
