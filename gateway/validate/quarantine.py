"""Violations -> quarantine records: the unit taken out, its lines, and the reasons."""
from __future__ import annotations

import hashlib
from typing import Iterable

from gateway.records import QuarantineRecord, Severity, Violation
from gateway.validate.declared import Declared, Noted


def quarantine_records(violations: Iterable[Violation], *, scope: Severity, lines: int, first_line: int,
                       last_line: int, declarant_id: str | None = None, declaration_id: str | None = None,
                       person_key: str | None = None, declared: Declared | Noted | None = None
                       ) -> tuple[QuarantineRecord, ...]:
    """One record per violation; the unit's lines are carried by the first record only, so that
    the sum of ``lines`` over the dataset is the number of quarantined input lines. ``declared`` (the
    declaration's values) adds what the declarant needs to fix it: the value, the format, the payroll number."""
    out = []
    for index, violation in enumerate(violations):
        origin = violation.origin
        warning = scope is Severity.WARNING
        out.append(QuarantineRecord(
            quarantine_id=hashlib.sha256("|".join(
                [origin.file, str(first_line), str(last_line), str(origin.first_line), violation.rule_id,
                 violation.rubric, str(index)]).encode()).hexdigest()[:24],
            rule_id=violation.rule_id, family=violation.family, severity=violation.severity, scope=scope,
            file=origin.file,
            first_line=origin.first_line if warning else first_line,
            last_line=origin.last_line if warning else last_line,
            line=origin.first_line,
            rubric=violation.rubric, lines=0 if (warning or index) else lines,
            declarant_id=declarant_id, declaration_id=declaration_id, person_key=person_key,
            detail=violation.message(), explain=violation.explain,
            **(declared.about(origin.first_line, violation.rubric) if declared is not None else {}),
        ))
    return tuple(out)


def widest(violations: Iterable[Violation]) -> Severity | None:
    order = list(Severity)
    rejecting = [v.severity for v in violations if v.severity.rejects]
    return min(rejecting, key=order.index) if rejecting else None
