"""What officers, the clock and the flow do to requests, on top of the store (one transaction each)."""
from __future__ import annotations

from pathlib import Path
from statistics import median
from typing import Callable, Iterable

from corrections.errors import InvalidRequestError
from gateway.errors import ErrorCode
from corrections.model import Request
from corrections.notices import write_notice
from gateway.values import euros
from corrections.routing import month_fr, route_for
from corrections.states import AWAITING_SOURCE, LABELS, Action, State
from corrections.store import NOT_AS_CLAIMED, SYSTEM, CorrectionStore, _parse

ForcedRecorder = Callable[[Request, str, int], str]     # (request, month, cents) -> version id in the register


def open_from_register(store: CorrectionStore, register: Path, *, person_key: str, nir: str | None, declarant: str,
                       nature: str, claimed: dict[str, int], reason: str, documents: str, officer: str, at: str,
                       flag_rule: str | None = None, confirmed: bool = False) -> str:
    """Open a request on resource months the register knows: the disputed amount is the register's current one
    for each month, the claimed one the claimant's. Returns the request id."""
    from gateway.versioning.forced import current_version
    disputed = {}
    for month, cents in claimed.items():
        version = current_version(register, person_key, declarant, nature, month)
        if version is None:
            raise InvalidRequestError(f"unknown resource month @ {declarant} {month} {nature}: expected a month "
                                      "the register has received for this person and declarant")
        disputed[month] = (version.net_social_cents, cents)
    return store.open(person_key=person_key, nir=nir[:13] if nir else None, declarant_id=declarant,
                      flow="DSN" if nature == "SALARY" else "PASRAU", nature=nature, months=disputed, reason=reason,
                      documents=documents, officer=officer, at=at, flag_rule=flag_rule, confirmed=confirmed)


def route(store: CorrectionStore, request_id: str, *, officer: str, at: str, outbox: Path,
          explain: str | None = None) -> list[Path]:
    with store.transaction() as session:
        request = store.transition(request_id, Action.ROUTE, actor=officer, at=at, session=session,
                                   note="avis envoyé à la source")
        target = route_for(request.flow, request.declarant_id)
        request.routing_target, request.routing_channel = target.target, target.channel
        _ = list(request.months)
        return write_notice(outbox, request, "notice", at, explain)


def tick(store: CorrectionStore, *, at: str, outbox: Path) -> dict[str, int]:
    """The clock: escalate requests past their deadline, remind sources whose deadline is close."""
    counts = {"escalated": 0, "reminded": 0}
    soon = store.settings.reminder_days_before
    for request in store.list():
        if request.state not in (State.ROUTED.value, State.ACKNOWLEDGED.value) or not request.due_at:
            continue
        if request.due_at < at:
            store.transition(request.request_id, Action.ESCALATE, actor=SYSTEM, at=at,
                             note=f"délai dépassé ({request.due_at[:10]})")
            counts["escalated"] += 1
        elif request.reminded_at is None and (_parse(request.due_at) - _parse(at)).days < soon:
            with store.transaction() as session:
                mine = session.get(Request, request.request_id)
                mine.reminded_at = at
                _ = list(mine.months)
                write_notice(outbox, mine, "reminder", at)
            counts["reminded"] += 1
    return counts


def force(store: CorrectionStore, request_id: str, *, officer: str, at: str, values: dict[str, int],
          justification: str, evidence: str, record: ForcedRecorder) -> list[str]:
    """An officer forces the amounts of an escalated request; each becomes a FORCED version in the register."""
    if len(justification.strip()) < 10:
        raise InvalidRequestError("justification @ --justification: expected why the value is forced (10+ characters)",
                                  code=ErrorCode.JUSTIFICATION_REQUIRED)
    if not evidence.strip():
        raise InvalidRequestError("evidence @ --evidence: expected the document the forced value rests on",
                                  code=ErrorCode.EVIDENCE_REQUIRED)
    with store.transaction() as session:
        request = store.transition(request_id, Action.FORCE, actor=officer, at=at, session=session,
                                   note=justification.strip(), forced_justification=justification.strip(),
                                   forced_evidence=evidence.strip())
        months = {m.month: m for m in request.months}
        unknown = sorted(set(values) - set(months))
        if unknown or not values:
            raise InvalidRequestError(f"month @ {', '.join(unknown) or '--value'}: expected the request's months "
                                      f"({', '.join(months)})")
        versions = []
        for month, cents in sorted(values.items()):
            months[month].forced_cents = cents
            versions.append(record(request, month, cents))
        return versions


def apply_versions(store: CorrectionStore, run_id: str, versions: Iterable[dict], *, at: str) -> list[str]:
    """The flow: new versions of disputed months from the disputed declarant correct the requests (once per run)."""
    from corrections.model import SyncedRun
    by_key: dict[tuple[str, str, str], dict] = {}
    for version in sorted(versions, key=lambda v: (v["transaction_time"], v["version"])):
        if version["cause"] != "FORCED":
            by_key[(version["person_key"], version["declarant_id"], version["month"])] = version
    corrected = []
    with store.transaction() as session:
        if session.get(SyncedRun, run_id) is not None:
            return []
        for request in store.list():
            if request.state not in {s.value for s in AWAITING_SOURCE}:
                continue
            mine = session.get(Request, request.request_id)
            for month in mine.months:
                version = by_key.get((mine.person_key, mine.declarant_id, month.month))
                if version and version["transaction_time"] > mine.opened_at:
                    month.corrected_cents, month.corrected_version = version["net_social_cents"], version["version_id"]
            if all(m.corrected_version for m in mine.months):
                tolerance = store.settings.in_favour_tolerance_cents
                in_favour = all(abs((m.corrected_cents or 0) - m.claimed_cents) <= tolerance for m in mine.months)
                store.transition(mine.request_id, Action.CORRECT, actor=SYSTEM, at=at, session=session,
                                 note=f"déclaration corrigée reçue (exécution {run_id})",
                                 outcome="IN_FAVOUR" if in_favour else NOT_AS_CLAIMED)
                corrected.append(mine.request_id)
        session.add(SyncedRun(run_id=run_id, at=at))
    return corrected


def status(store: CorrectionStore, request_id: str) -> list[str]:
    """The request's timeline in plain French, to read to the claimant."""
    request = store.get(request_id)
    months = ", ".join(month_fr(m.month) for m in request.months)
    lines = [f"Demande {request.request_id} — ressources de {months} déclarées par {request.declarant_id} "
             f"({'employeur' if request.flow == 'DSN' else 'organisme payeur'}).",
             f"État actuel : {LABELS[State(request.state)]}" + (f", à traiter avant le {request.due_at[:10]}"
                                                               if request.due_at else "") + "."]
    for event in request.events:
        day = event.at[:10]
        text = {"open": "demande enregistrée", "route": f"transmise : {request.routing_channel or ''}",
                "acknowledge": "la source a pris en compte la demande", "reject": "la source maintient ses montants",
                "escalate": "délai dépassé : un agent prend la demande en charge",
                "force": "un agent a fixé la valeur à retenir", "correct": "une déclaration corrigée est arrivée",
                "close": "demande close"}.get(event.action, event.action)
        lines.append(f"- le {day} : {text}" + (f" ({event.note})" if event.note and event.action != "open" else ""))
    for month in request.months:
        if month.corrected_version:
            lines.append(f"Montant corrigé pour {month_fr(month.month)} : {euros(month.corrected_cents)} "
                         f"(vous indiquiez {euros(month.claimed_cents)}).")
        elif month.forced_cents is not None:
            lines.append(f"Valeur fixée pour {month_fr(month.month)} : {euros(month.forced_cents)}.")
    if request.outcome:
        lines.append("Résultat : " + ("la correction vous donne raison." if request.outcome == "IN_FAVOUR" else
                                      "la correction ne correspond pas au montant que vous indiquiez ; vous pouvez "
                                      "demander un réexamen."))
    return lines


def sla(store: CorrectionStore, *, at: str) -> dict:
    """Counts by state, overdue requests, median days to correction by declarant."""
    requests = store.list()
    by_state: dict[str, int] = {}
    durations: dict[str, list[float]] = {}
    for request in requests:
        by_state[request.state] = by_state.get(request.state, 0) + 1
        corrected = next((e.at for e in request.events if e.action == "correct"), None)
        if corrected:
            days = (_parse(corrected) - _parse(request.opened_at)).total_seconds() / 86400
            durations.setdefault(request.declarant_id, []).append(days)
    overdue = [r.request_id for r in requests if r.due_at and r.due_at < at
               and r.state in (State.OPEN.value, State.ROUTED.value, State.ACKNOWLEDGED.value, State.ESCALATED.value)]
    return {"by_state": dict(sorted(by_state.items())), "overdue": overdue,
            "median_days_to_correction": {d: round(median(v), 1) for d, v in sorted(durations.items())}}
