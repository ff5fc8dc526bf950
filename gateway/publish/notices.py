"""The claimant's notices of a run's gate decisions (``gateway.gate.notices``), written by the workers of the
register's buckets into the run's ``notices`` dataset: for each, ``<decision_id>.json`` (for the paying
system, which addresses the letter), ``.html`` and ``.txt`` (the letter, in French). File names are the
decision's id (hexadecimal): no value read from a file reaches a path; the HTML escapes every value."""
from __future__ import annotations

import json

from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.storage import write_text

_env = Environment(loader=PackageLoader("gateway.publish", "templates"), autoescape=select_autoescape(["html", "j2"]))
_text = Environment(loader=PackageLoader("gateway.publish", "templates"), autoescape=False, keep_trailing_newline=True)
FOLDER = "notices"


def write_notices(staging: str, notices: list[dict]) -> int:
    """Each notice as JSON, HTML and text in the staging folder's ``notices``; returns how many."""
    for notice in sorted(notices, key=lambda n: n["decision_id"]):
        stem = f"{staging}/{FOLDER}/{notice['decision_id']}"
        write_text(f"{stem}.json", json.dumps(notice, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        write_text(f"{stem}.html", _env.get_template("claimant_notice.html.j2").render(n=notice))
        write_text(f"{stem}.txt", _text.get_template("claimant_notice.txt.j2").render(n=notice))
    return len(notices)
