"""drm-gateway. Beam ships this multi-module package to workers with --setup_file ./setup.py."""
from setuptools import find_packages, setup

setup(
    name="drm-gateway",
    version="0.1.0",
    description="Data-quality gateway between DSN/PASRAU flows and benefit liquidation",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["gateway", "gateway.*", "schemas", "schemas.*", "transforms", "transforms.*",
                                    "corrections", "corrections.*", "console", "console.*", "fixtures", "fixtures.*"]),
    package_data={
        "schemas": ["*.avsc", "norm/*.json"],
        "gateway.publish": ["templates/*.j2"],
        "gateway.policy": ["*.yaml", "examples/*.yaml"],
        "corrections": ["*.yaml", "migrations/*.py", "migrations/*.mako", "migrations/versions/*.py", "templates/*.j2"],
        "console": ["templates/*.j2", "static/*"],
        "fixtures": ["bundled/*", "bundled/*/*", "bundled/*/*/*"],
    },
    install_requires=[
        "apache-beam==2.77.0",
        "pyarrow>=17,<26",
        "numpy>=1.26,<2.5",
        "pandera[polars]==0.35.0",
        "polars>=1.0",
        "fastavro>=1.9",
        "structlog>=24.1",
        "python-stdnum>=1.20",
        "typer>=0.12",
        "rich>=13",
        "pyyaml>=6",
        "jinja2>=3.1",
        "pygal>=3.0,<4",                  # the reports' charts as SVG (see gateway/publish/charts.py)
        "sqlalchemy>=2.0,<2.2",
        "alembic>=1.13",
        "psycopg[binary]>=3.1",
        "fastapi>=0.110",
        "uvicorn>=0.30",
        "python-multipart>=0.0.9",
        "argon2-cffi>=23.1",
        "itsdangerous>=2.1",
        "weasyprint>=62",                  # declarants' reports and the access document as PDF (needs Pango)
        "dask[distributed]>=2026.8",       # Beam's DaskRunner: the distributed engine tested here
        "deltalake>=1.6,<2",               # the register's tables (Delta Lake, delta-rs): bench.table_format
        "datasketches>=5.1,<6",            # a first run's people, estimated (HyperLogLog): gateway/inputs.py
    ],
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3.6", "hypothesis>=6.100", "httpx>=0.27", "playwright>=1.45", "import-linter>=2.16", "radon>=6.0",
                             "duckdb>=1.1", "moto[server]>=5.0", "boto3>=1.34", "pypdf>=5"],
                    "bench": ["pyiceberg[sql-sqlite]>=0.9"]},
    entry_points={"console_scripts": ["drm-gateway=gateway.cli:main"]},
)
