"""Officers' answers to REVIEW_CAP decisions: validated, appended with an audit record, read by the gate.

The answers live in the register's ``answers`` Delta table (one commit per answer; gateway.versioning.store):
the next run applies them and publishes the follow-up decision. The first answer to a decision is the one
that counts (two officers answering at the same moment: the earlier one). The console calls the same function.
"""
from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from gateway.errors import ConfigurationError, ErrorCode
from gateway.gate.table import Decision
from gateway.records import OfficerAnswer
from gateway.versioning import store

ACTIONS = ("regularise", "keep-frozen", "spread")
OFFICER_ID = re.compile(r"[A-Za-z0-9._-]{2,40}")


class DecisionError(ConfigurationError):
    """An officer's answer that cannot be taken (unknown decision, already decided, bad arguments)."""


def load_answers(root: Path | str, tables: store.Tables | None = None) -> dict[str, OfficerAnswer]:
    answers: dict[str, OfficerAnswer] = {}
    for row in store.answers(root, tables):
        answers.setdefault(row["decision_id"], OfficerAnswer(**row))
    return answers


def decide(root: Path, decision_id: str, action: str, *, reason: str, officer: str, spread_months: int | None = None,
           now: str | None = None) -> OfficerAnswer:
    """Record an officer's answer to a pending REVIEW_CAP decision; refused (nothing written) otherwise."""
    if action not in ACTIONS:
        raise DecisionError(f"unknown action @ {action}: expected one of {', '.join(ACTIONS)}",
                            code=ErrorCode.UNKNOWN_ACTION)
    if action == "spread" and not (spread_months and 1 < spread_months <= 12):
        raise DecisionError("spread months @ --spread: expected 2 to 12 months (repayment schedules of 12 months at most)",
                            code=ErrorCode.SPREAD_OUT_OF_RANGE)
    if len(reason.strip()) < 10:
        raise DecisionError("reason @ --reason: expected a justification of at least 10 characters",
                            code=ErrorCode.JUSTIFICATION_REQUIRED)
    if not OFFICER_ID.fullmatch(officer):
        raise DecisionError("officer @ --officer: expected an officer id (letters, digits, . _ -)")
    decisions = store.load_all(root, "decisions")
    mine = next((d for d in decisions if d["decision_id"] == decision_id), None)
    if mine is None:
        raise DecisionError(f"decision not found @ {decision_id}: expected the id of a REVIEW_CAP decision")
    if mine["kind"] != Decision.REVIEW_CAP.value:
        raise DecisionError(f"decision {decision_id} is {mine['kind']} @ {decision_id}: expected a REVIEW_CAP decision")
    later = [d for d in decisions if (d["person_key"], d["benefit"], d["reference_month"]) ==
             (mine["person_key"], mine["benefit"], mine["reference_month"]) and d["as_of"] > mine["as_of"]]
    if later:
        raise DecisionError(f"decision superseded @ {decision_id}: expected the latest decision on this base "
                            f"({later[-1]['decision_id']})", code=ErrorCode.SUPERSEDED)
    answer = OfficerAnswer(decision_id=decision_id, action=action, spread_months=spread_months if action == "spread"
                           else None, reason=reason.strip(), officer=officer,
                           at=now or datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"))
    if decision_id in load_answers(root):
        raise DecisionError(f"decision already answered @ {decision_id}: expected a decision not yet decided",
                            code=ErrorCode.ALREADY_ANSWERED)
    store.add_answers(root, [asdict(answer)])
    return answer
