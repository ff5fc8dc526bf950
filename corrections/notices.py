"""Outbound notices to the source: JSON for machines, a letter (HTML and text) for people, in an outbox."""
from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from corrections.model import Request
from corrections.routing import expected_correction, month_fr
from gateway.pseudonym import mask_nir
from gateway.storage import list_files, read_bytes, write_text
from gateway.values import euros

_env = Environment(loader=PackageLoader("corrections", "templates"), autoescape=select_autoescape(["html", "j2"]))


def write_notice(outbox: Path, request: Request, kind: str, date: str, explain: str | None = None) -> list[Path]:
    """``kind``: notice (when routed) or reminder (deadline close). The source must identify the employee,
    so the letter names the NIR; it never goes to logs or reports."""
    months = [m.month for m in request.months]
    subject = ("Demande de correction de ressources déclarées" if kind == "notice"
               else "Rappel : demande de correction de ressources déclarées")
    who = f"la personne de NIR {request.nir}" if request.nir else "la personne concernée"
    body = (f"{who} conteste les montants que vous avez déclarés pour {', '.join(month_fr(m) for m in months)}. "
            f"Motif indiqué : {request.reason}")
    notice = {
        "request_id": request.request_id, "kind": kind, "date": date, "recipient": request.routing_target,
        "channel": request.routing_channel, "declarant_id": request.declarant_id, "flow": request.flow,
        "nir": request.nir, "subject": subject, "body": body, "due": (request.due_at or "")[:10],
        "rule": f"{request.flag_rule} — {explain}" if request.flag_rule and explain else request.flag_rule,
        "expected": expected_correction(request.flow, months),
        "months": [{"month": m.month, "label": month_fr(m.month), "disputed_cents": m.disputed_cents,
                    "claimed_cents": m.claimed_cents, "disputed": euros(m.disputed_cents),
                    "claimed": euros(m.claimed_cents)} for m in request.months],
    }
    stem = outbox / f"{request.request_id}-{kind}-{date[:10]}"
    write_text(stem.with_suffix(".json"), json.dumps(notice, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    write_text(stem.with_suffix(".html"), _env.get_template("notice.html.j2").render(n=notice))
    lines = [subject, f"Référence : {request.request_id}", body,
             *(f"- {m['label']} : déclaré {m['disputed']}, indiqué {m['claimed']}" for m in notice["months"]),
             f"Correction attendue : {notice['expected']}.", f"À effectuer avant le {notice['due']}."]
    write_text(stem.with_suffix(".txt"), "\n".join(lines) + "\n")
    return [stem.with_suffix(s) for s in (".json", ".html", ".txt")]


def sent(outbox: Path, request_id: str) -> list[dict]:
    """The notices sent for a request (oldest first), as an officer may see them: the NIR masked. ``request_id``
    is the store's own (REQ- and hex digits), so it names files in the outbox and nothing else."""
    prefix = f"{request_id}-"
    letters = []
    for path in list_files(outbox):
        name = path.rsplit("/", 1)[-1]
        if name.startswith(prefix) and name.endswith(".json"):
            notice = json.loads(read_bytes(path))
            if notice.get("nir"):
                notice["body"] = notice["body"].replace(notice["nir"], mask_nir(notice["nir"]))
                notice["nir"] = mask_nir(notice["nir"])
            letters.append(notice)
    return sorted(letters, key=lambda n: (n["date"], n["kind"]))
