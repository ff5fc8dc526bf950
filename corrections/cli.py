"""``drm-gateway corrections …``: officers' commands on correction requests (typer). An officer acts as a console
user (``drm-gateway users add``), with their password and role; every action lands in the console's audit trail.

The store is ``--db URL`` or ``DRM_GATEWAY_DB`` (PostgreSQL: ``postgresql://…``), else the SQLite file
``OUT/corrections.db``; notices go to ``OUT/outbox/``. Times default to now (``--at`` to replay)."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from corrections.errors import InvalidRequestError
from corrections.states import Action
from gateway.errors import GatewayError
from gateway.layout import RunLayout
from gateway.pseudonym import mask_nir

app = typer.Typer(no_args_is_help=True, help="Correction requests tracked to the employer or paying body.")
out = Console()
AMOUNT = re.compile(r"^(20[0-9]{2}-(0[1-9]|1[0-2]))=(-?[0-9]+(?:[.,][0-9]{1,2})?)$")
OutOption = typer.Option(Path("out"), "--out", help="Output folder of the runs (register, outbox, default store).")
DbOption = typer.Option(None, "--db", help="Store URL (default: $DRM_GATEWAY_DB, else OUT/corrections.db).")
AtOption = typer.Option(None, "--at", help="When (ISO; default now).")
PASSWORD_ENV = "DRM_GATEWAY_PASSWORD"
OfficerOption = typer.Option(..., "--user", "--officer", help="Console user acting (officer or supervisor); their "
                             "password is $DRM_GATEWAY_PASSWORD, else asked on the terminal.")


def _fail(error: Exception) -> None:
    sys.stderr.write(f"error: {error}\n")
    raise typer.Exit(2)


def open_store(run_dir: Path, db: str | None):
    from corrections.store import CorrectionStore, default_url
    return CorrectionStore(db or os.environ.get("DRM_GATEWAY_DB") or default_url(run_dir))


def _now(at: str | None) -> str:
    from corrections.store import now_iso
    return at or now_iso()


def _cents(text: str) -> int:
    euros, _, rest = text.replace(",", ".").partition(".")
    sign = -1 if euros.startswith("-") else 1
    return sign * (abs(int(euros)) * 100 + int((rest + "00")[:2]))


def _amounts(items: list[str], option: str) -> dict[str, int]:
    values = {}
    for item in items:
        match = AMOUNT.match(item)
        if not match:
            raise InvalidRequestError(f"amount @ {option} {item}: expected YYYY-MM=euros, e.g. 2025-03=2450.00")
        values[match[1]] = _cents(match[3])
    return values


def _run(action):
    try:
        return action()
    except GatewayError as error:
        _fail(error)


def acting(store, username: str, permission: str = "act") -> str:
    """The console user acting on the command line, once their password and role are checked: the same users,
    lock-out and roles as the console (``console.users``). Exits with what to do otherwise."""
    from console.users import act_as
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            _fail(GatewayError(f"password @ {username}: expected ${PASSWORD_ENV}, or a terminal to type it on"))
        password = typer.prompt(f"password of {username}", hide_input=True)
    return _run(lambda: act_as(store, username, password, permission)).username


def audited(store, user: str, action: str, target: str, do, reason: str = ""):
    """Run an action of ``user``; the outcome goes to the console's audit trail (channel cli) either way."""
    from console.users import audit
    try:
        result = do()
    except GatewayError as error:
        audit(store, user, action, target, "refused", reason, channel="cli")
        _fail(error)
    audit(store, user, action, target, "ok", reason, channel="cli")
    return result


@app.command("open")
def open_request(
    declarant: str = typer.Option(..., "--declarant", help="SIRET of the employer or paying body."),
    months: list[str] = typer.Option(..., "--month", help="YYYY-MM=euros the claimant states (repeat)."),
    reason: str = typer.Option(..., "--reason"), officer: str = OfficerOption,
    nir: Optional[str] = typer.Option(None, "--nir"), person: Optional[str] = typer.Option(None, "--person"),
    nature: str = typer.Option("SALARY", "--nature"), documents: list[str] = typer.Option([], "--document"),
    flag_rule: Optional[str] = typer.Option(None, "--flag-rule", help="Floating rule that flagged it (DRM-FLT-NNN)."),
    key_file: Optional[str] = typer.Option(None, "--pseudonym-key-file"),
    insecure_demo_key: bool = typer.Option(False, "--insecure-demo-key"),
    run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption,
    confirm: bool = typer.Option(False, "--confirm", help="Open it even where the stated amount equals the "
                                                          "declared one (the dispute is about something else)."),
) -> None:
    """Open a request on resource months the register knows (the disputed amount comes from it)."""
    from corrections.service import open_from_register
    from gateway.pseudonym import Pseudonymiser, load_key

    store = _run(lambda: open_store(run_dir, db))
    officer = acting(store, officer)

    def action():
        if (nir is None) == (person is None):
            raise InvalidRequestError("person @ --nir/--person: expected exactly one")
        key = person or Pseudonymiser(load_key(key_file=key_file, insecure_demo=insecure_demo_key)).person_key(
            nir[:13], None, None)
        return open_from_register(store, RunLayout.of(run_dir).register, person_key=key, nir=nir, declarant=declarant,
                                  nature=nature, claimed=_amounts(months, "--month"), reason=reason,
                                  documents="; ".join(documents), officer=officer, at=_now(at), flag_rule=flag_rule,
                                  confirmed=confirm)
    request_id = audited(store, officer, "request:open", declarant, action, reason)
    out.print(f"request {request_id} opened")


def _transition(request_id: str, action: Action, officer: str, run_dir: Path, db: str | None, at: str | None,
                note: str = "", **fields) -> None:
    store = _run(lambda: open_store(run_dir, db))
    officer = acting(store, officer)
    request = audited(store, officer, f"request:{_VERBS[action]}", request_id,
                      lambda: store.transition(request_id, action, actor=officer, at=_now(at), note=note, **fields), note)
    out.print(f"request {request_id}: {request.state}")


_VERBS = {Action.ACKNOWLEDGE: "ack", Action.REJECT: "reject", Action.CLOSE: "close"}   # the console's action names


@app.command("route")
def route(request_id: str, officer: str = OfficerOption, run_dir: Path = OutOption, db: Optional[str] = DbOption,
          at: Optional[str] = AtOption) -> None:
    """Send the request to its source (notice written to OUT/outbox)."""
    from corrections.service import route as route_request
    store = _run(lambda: open_store(run_dir, db))
    officer = acting(store, officer)
    paths = audited(store, officer, "request:route", request_id,
                    lambda: route_request(store, request_id, officer=officer, at=_now(at),
                                          outbox=RunLayout.of(run_dir).outbox))
    out.print(f"request {request_id}: ROUTED; notice {paths[1]}")


@app.command("ack")
def acknowledge(request_id: str, officer: str = OfficerOption, note: str = typer.Option("", "--note"),
                run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Record that the source took the request into account."""
    _transition(request_id, Action.ACKNOWLEDGE, officer, run_dir, db, at, note)


@app.command("reject")
def reject(request_id: str, officer: str = OfficerOption, answer: str = typer.Option(..., "--answer"),
           run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Record that the source confirms its data, with its answer."""
    if not answer.strip():
        _fail(GatewayError("answer @ --answer: expected the source's answer"))
    _transition(request_id, Action.REJECT, officer, run_dir, db, at, answer, source_answer=answer)


@app.command("close")
def close(request_id: str, officer: str = OfficerOption, run_dir: Path = OutOption, db: Optional[str] = DbOption,
          at: Optional[str] = AtOption) -> None:
    """Close a corrected, rejected or forced request."""
    _transition(request_id, Action.CLOSE, officer, run_dir, db, at)


@app.command("force")
def force(request_id: str, officer: str = OfficerOption,
          values: list[str] = typer.Option(..., "--value", help="YYYY-MM=euros to retain (repeat)."),
          justification: str = typer.Option("", "--justification"), evidence: str = typer.Option("", "--evidence"),
          run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Force the value of an escalated request's months: recorded in the register as FORCED versions."""
    from corrections.service import force as force_request
    from gateway.versioning.forced import append_forced
    moment = _now(at)
    register = RunLayout.of(run_dir).register
    store = _run(lambda: open_store(run_dir, db))
    officer = acting(store, officer, "decide")

    def record(request, month, cents):
        return append_forced(register, person_key=request.person_key, declarant_id=request.declarant_id,
                             nature=request.nature, month=month, cents=cents, amount="net_social_cents",
                             officer=officer, request_id=request.request_id, at=moment).version_id
    versions = audited(store, officer, "request:force", request_id,
                       lambda: force_request(store, request_id, officer=officer, at=moment,
                                             values=_amounts(values, "--value"), justification=justification,
                                             evidence=evidence, record=record), justification)
    out.print(f"request {request_id}: FORCED; register versions {', '.join(versions)}")


@app.command("tick")
def tick(run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Escalate requests past their deadline and remind sources whose deadline is close."""
    from corrections.service import tick as run_tick
    store = _run(lambda: open_store(run_dir, db))
    counts = _run(lambda: run_tick(store, at=_now(at), outbox=RunLayout.of(run_dir).outbox))
    out.print(f"{counts['escalated']} escalated, {counts['reminded']} reminded")


@app.command("list")
def list_requests(state: Optional[str] = typer.Option(None, "--state"),
                  declarant: Optional[str] = typer.Option(None, "--declarant"),
                  overdue: bool = typer.Option(False, "--overdue"), run_dir: Path = OutOption,
                  db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Requests, filtered by state, declarant or overdue."""
    store = _run(lambda: open_store(run_dir, db))
    rows = _run(lambda: store.list(state=state, declarant=declarant, overdue_at=_now(at) if overdue else None))
    table = Table(title="demandes de correction")
    for column in ("demande", "état", "déclarant", "mois", "échéance"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.request_id, r.state, r.declarant_id, " ".join(m.month for m in r.months), (r.due_at or "")[:10])
    out.print(table)


@app.command("show")
def show(request_id: str, run_dir: Path = OutOption, db: Optional[str] = DbOption) -> None:
    """A request with its months and audit trail (JSON, NIR masked)."""
    request = _run(lambda: open_store(run_dir, db).get(request_id))
    data = {k: getattr(request, k) for k in ("request_id", "person_key", "declarant_id", "flow", "nature", "state",
                                             "state_since", "due_at", "routing_target", "routing_channel", "reason",
                                             "documents", "flag_rule", "source_answer", "outcome",
                                             "forced_justification", "forced_evidence")}
    data["nir"] = mask_nir(request.nir) if request.nir else None
    data["months"] = [{k: getattr(m, k) for k in ("month", "disputed_cents", "claimed_cents", "corrected_cents",
                                                  "corrected_version", "forced_cents")} for m in request.months]
    data["events"] = [{k: getattr(e, k) for k in ("at", "actor", "action", "from_state", "to_state", "note")}
                      for e in request.events]
    out.print_json(json.dumps(data, ensure_ascii=False))


@app.command("status")
def status(request_id: str, run_dir: Path = OutOption, db: Optional[str] = DbOption) -> None:
    """Where the request stands, in plain French (to read to the claimant)."""
    from corrections.service import status as timeline
    store = _run(lambda: open_store(run_dir, db))
    for line in _run(lambda: timeline(store, request_id)):
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("sla")
def sla(run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Counts by state, overdue requests, median days to correction by declarant."""
    from corrections.service import sla as report
    store = _run(lambda: open_store(run_dir, db))
    out.print_json(json.dumps(_run(lambda: report(store, at=_now(at)))))


@app.command("sync")
def sync(run_dir: Path = OutOption, db: Optional[str] = DbOption, at: Optional[str] = AtOption) -> None:
    """Apply the register's committed runs not applied yet: corrected declarations close requests."""
    corrected = sync_register(run_dir, db, _now(at))
    out.print(f"{len(corrected)} request(s) corrected by the flow" + (f": {', '.join(corrected)}" if corrected else ""))


def configured(run_dir: Path, db: str | None) -> bool:
    return bool(db or os.environ.get("DRM_GATEWAY_DB") or RunLayout.of(run_dir).corrections_db.exists())


def export_open_requests(run_dir: Path, db: str | None) -> Path:
    """The open requests' (person, month) as JSON lines: the run's --open-requests input for the gate."""
    store = _run(lambda: open_store(run_dir, db))
    path = RunLayout.of(run_dir).open_requests
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"person_key": p, "declarant_id": d, "month": m}) for p, d, m in store.open_months()]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def sync_register(run_dir: Path, db: str | None, at: str) -> list[str]:
    from corrections.service import apply_versions
    from gateway.versioning import store as register_store
    store = _run(lambda: open_store(run_dir, db))
    register = RunLayout.of(run_dir).register
    corrected = []
    for commit in register_store.commits(register):
        if commit.run_id.startswith("forced-") or store.synced(commit.run_id):
            continue
        versions = register_store.load_run(register, "versions", commit.run_id)      # that run's parts only
        corrected += _run(lambda: apply_versions(store, commit.run_id, versions, at=at))
    return corrected
