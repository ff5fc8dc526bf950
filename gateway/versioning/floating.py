"""Floating flags: the FLOATING rules of the registry applied to each resource month as known at a date."""
from __future__ import annotations

import functools
import hashlib
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.months import REPLACEMENT_DUE_DAY, day_of_instant, due_date, month_of_instant, months_between
from gateway.records import FloatingFlag, MonthHistory
from gateway.validate.rules import floating as F
from gateway.values import euros
from gateway.validate.registry import Rule, RuleRegistry, Target
from schemas.records import FLOATING_FLAG, FlagRows, column_values


_FIGURES_RULE = "DRM-FLT-001"          # the rule whose sentence gives figures


def _sentence(rule: Rule, facts: dict) -> str:
    """The rule's French explanation, with the figures a claimant needs where the rule gives them."""
    if rule.id == _FIGURES_RULE:
        times = "une fois" if facts["revisions"] == 1 else f"{facts['revisions']} fois"
        return (f"Le montant de ce mois a été modifié {times} après sa première déclaration "
                f"(écart total {euros(facts['change_cents'])}, {facts['days']} jours après) : il peut encore changer.")
    return rule.explain


def floating_rules(registry: RuleRegistry) -> list[Rule]:
    return [rule for rule in registry if rule.target is Target.FLOATING]


def flags_of(person_key: str, histories: Iterable[MonthHistory], rules: list[Rule], policy, *,
             policy_version: str) -> list[FloatingFlag]:
    """Every flag of one person's resource months (histories as of one date)."""
    out = []
    for history in histories:
        last = history.versions[-1] if history.versions else None
        for rule in rules:
            for finding in rule.check(history, policy):
                out.append(_flag(
                    (person_key, history.declarant_id, history.nature, history.month), rule, finding.score,
                    finding.detail, finding.facts, version=last.version if last else None,
                    revisions=max(0, len(history.versions) - 1),
                    first_known=history.versions[0].transaction_time if last else None,
                    last_changed=last.transaction_time if last else None, file=finding.origin.file,
                    first_line=finding.origin.first_line, policy_version=policy_version, as_of=history.as_of))
    return sorted(out, key=lambda f: (f.month, f.declarant_id, f.nature, f.rule_id))


def flag_id(person: str, declarant: str, nature: str, month: str, rule_id: str, as_of: str) -> str:
    """A flag's id: of its month's key, its rule and the date it was raised at."""
    return hashlib.sha256(f"{person}|{declarant}|{nature}|{month}|{rule_id}|{as_of}".encode()).hexdigest()[:24]


def _flag(key: tuple[str, str, str, str], rule: Rule, score: float, detail: str, facts, *, version, revisions: int,
          first_known, last_changed, file: str, first_line: int, policy_version: str, as_of: str) -> FloatingFlag:
    """The flag ``rule`` raises on the month ``key`` (person, declarant, nature, month) as known at ``as_of``."""
    person, declarant, nature, month = key
    return FloatingFlag(
        flag_id=flag_id(person, declarant, nature, month, rule.id, as_of), person_key=person,
        declarant_id=declarant, nature=nature, month=month, rule_id=rule.id, score=round(score, 4),
        explain=_sentence(rule, dict(facts)), detail=detail, version=version, revisions=revisions,
        first_known=first_known, last_changed=last_changed, file=file, first_line=first_line,
        policy_version=policy_version, as_of=as_of)


# --- every month of a bucket at once -----------------------------------------------------------------------------

# The rules ``bucket_flags`` applies over columns: each one's check, as the registry holds it (another check under the
# same id, a rule added to the registry: the months go through ``flags_of``).
_OVER_COLUMNS = {check.__name__: check for check in (
    F.revised_after_first_publication, F.replaced_by_annule_et_remplace, F.corrected_by_a_later_declaration,
    F.still_inside_the_volatility_window, F.expected_but_missing, F.allowance_period_spans_months,
    F.several_payments_in_the_month, F.declared_after_its_due_date, F.replaced_after_its_due_date)}


def over_columns(rules: list[Rule]) -> bool:
    """Whether ``bucket_flags`` can apply ``rules`` (each one of the nine above)."""
    return all(_OVER_COLUMNS.get(getattr(rule.check, "__name__", "")) is rule.check for rule in rules)


def bucket_flags(months, rules: list[Rule], policy, *, as_of: str, policy_version: str) -> FlagRows:
    """The flags ``flags_of`` gives the people of the month histories ``months`` describes
    (``gateway.versioning.view.Months``: a bucket's months in key order, their versions as rows), as columns, by
    person (in key order) and each person's in ``flags_of``'s order, with no history built and no record made: each
    rule's condition over the months' arrays, a row for each month it holds for. ``rules``: those ``over_columns``
    accepts."""
    found = _Facts(months)
    wanted = {rule.check.__name__: rule for rule in rules}
    at: list[int] = []
    rule_ids: list[str] = []
    scores: list[float] = []
    details: list[str] = []
    explains: list[str] = []
    for name, rule in wanted.items():
        figures = rule.id == _FIGURES_RULE
        for position, score, detail, facts in getattr(found, "r_" + name)(policy, as_of):
            at.append(position)
            rule_ids.append(rule.id)
            scores.append(round(score, 4))
            details.append(detail)
            explains.append(_sentence(rule, dict(facts)) if figures else rule.explain)
    table = found.flags(np.asarray(at, dtype=np.int64), rule_ids, scores, details, explains, as_of=as_of,
                        policy_version=policy_version)
    return FlagRows(table.sort_by([(name, "ascending") for name in _ORDER]) if table.num_rows > 1 else table)


_ORDER = ("person_key", "month", "declarant_id", "nature", "rule_id")    # derive's order, then ``flags_of``'s


def flags_by_person(flags: FlagRows, people: Iterable[str]) -> dict[str, list[FloatingFlag]]:
    """The flags of ``people`` as records, by person (each one's in their order among ``flags``)."""
    wanted = sorted(set(people))
    out: dict[str, list[FloatingFlag]] = {person_key: [] for person_key in wanted}
    if wanted and len(flags):
        table = flags.table
        chosen = table.filter(pc.is_in(table.column("person_key"), pa.array(wanted, pa.string())))
        for flag in FLOATING_FLAG.from_table(chosen):
            out[flag.person_key].append(flag)
    return out


def flag_keys(flags: FlagRows, people: Iterable[str]) -> dict[str, set[tuple[str, str, str, str]]]:
    """Each of ``people``'s flagged months (``FloatingFlag.key``: person, declarant, nature, month), from the
    columns."""
    out: dict[str, set[tuple[str, str, str, str]]] = {person_key: set() for person_key in people}
    table = flags.table
    for key in zip(*(column_values(table.column(name)) for name in ("person_key", "declarant_id", "nature", "month"))):
        out[key[0]].add(key)
    return out


class _Facts:
    """The months' versions as arrays, and each rule's months (position, score, detail, facts)."""

    def __init__(self, months) -> None:
        self.months = months
        rows = months.rows
        self.count = np.asarray(months.counts, dtype=np.int64)
        self.first = np.asarray(months.starts, dtype=np.int64)
        self.last = self.first + self.count - 1
        self.declared = self.count > 0
        self.time = column_values(rows.column("transaction_time"))
        self.cause = np.asarray(column_values(rows.column("cause")), dtype=object)
        self.amount = rows.column("amount").to_pylist()

    def flags(self, at: np.ndarray, rule_ids: list[str], scores: list[float], details: list[str],
              explains: list[str], *, as_of: str, policy_version: str) -> pa.Table:
        """The flags (rows of the ``floating_flag`` schema) raised on the months at positions ``at``, in that order,
        with the other columns given; what ``_flag`` makes of each, column by column."""
        keys = self.months.keys
        flagged = [keys[position] for position in at.tolist()]
        person, declarant, nature, month = ([key[place] for key in flagged] for place in range(4))
        ids = list(map(flag_id, person, declarant, nature, month, rule_ids, [as_of] * len(at)))
        declared = self.declared[at]
        undeclared = pa.array(~declared)
        rows = self.months.rows

        def of_version(name: str, at_row: np.ndarray, otherwise):
            """Column ``name`` of each flag's version ``at_row`` (``otherwise`` for a month never declared)."""
            if not rows.num_rows:
                return [otherwise] * len(at)
            taken = rows.column(name).take(pa.array(np.where(declared, at_row, 0)))
            return pc.if_else(undeclared, pa.scalar(otherwise, taken.type), taken)
        columns = {
            "flag_id": ids, "person_key": person, "declarant_id": declarant, "nature": nature, "month": month,
            "rule_id": rule_ids, "score": scores, "explain": explains, "detail": details,
            "version": of_version("version", self.last[at], None),
            "revisions": np.maximum(self.count[at] - 1, 0),
            "first_known": of_version("transaction_time", self.first[at], None),
            "last_changed": of_version("transaction_time", self.last[at], None),
            "file": of_version("file", self.last[at], "register"),
            "first_line": of_version("first_line", self.last[at], 0),
            "policy_version": [policy_version] * len(at), "as_of": [as_of] * len(at)}
        schema = FLOATING_FLAG.arrow
        return pa.Table.from_arrays([pa.array(columns[field.name], field.type)
                                     if not isinstance(columns[field.name], (pa.Array, pa.ChunkedArray))
                                     else columns[field.name].cast(field.type) for field in schema], schema=schema)

    def counted(self, rows: np.ndarray) -> np.ndarray:
        """For each month, how many of its versions ``rows`` (a mask over the rows) holds."""
        total = np.concatenate([[0], np.cumsum(rows, dtype=np.int64)])
        return total[self.first + self.count] - total[self.first]

    @functools.cached_property
    def replacements(self) -> np.ndarray:
        """For each month, how many of its versions an annule-et-remplace made (rules 002 and 009 read it)."""
        return self.counted(self.cause == F.REPLACEMENT)

    def r_revised_after_first_publication(self, policy, as_of):
        for at in np.flatnonzero(self.count >= 2).tolist():
            first, last = int(self.first[at]), int(self.last[at])
            start, end = self.amount[first] or 0, self.amount[last] or 0
            base, change = abs(start), end - start
            relative = abs(change) / base if base else (1.0 if change else 0.0)
            revisions = int(self.count[at]) - 1
            score = min(1.0, relative / policy.revised_full_score_change + policy.revised_step_per_revision * (revisions - 1))
            days = F.days_between(self.time[first], self.time[last])
            yield (at, round(max(score, policy.revised_step_per_revision), 4),
                   f"{revisions} revision(s), change {change} cents, {days} day(s) after first known",
                   (("revisions", revisions), ("change_cents", change), ("days", days)))

    def r_replaced_by_annule_et_remplace(self, policy, as_of):
        replaced = self.replacements
        for at in np.flatnonzero(replaced).tolist():
            yield at, policy.replaced_score, f"{replaced[at]} replacement version(s)", (("replacements", int(replaced[at])),)

    def r_corrected_by_a_later_declaration(self, policy, as_of):
        present = {cause: self.counted(self.cause == cause) > 0 for cause in sorted(set(F.CORRECTIONS))}
        for at in np.flatnonzero(np.logical_or.reduce(list(present.values()))).tolist():
            causes = [cause for cause, holds in present.items() if holds[at]]
            yield at, policy.regularised_score, f"corrected by {'+'.join(causes)}", (("corrections", len(causes)),)

    def r_still_inside_the_volatility_window(self, policy, as_of):
        now = month_of_instant(as_of)
        for at in np.flatnonzero(self.declared).tolist():
            rate, months = self.months.rates[at]
            if not F.volatile_declarant(rate, months, policy):
                continue
            age = months_between(month_of_instant(self.time[int(self.first[at])]), now)
            if age < policy.volatile_months:
                yield (at, policy.volatile_score, f"first known {age} month(s) ago; declarant revision rate "
                       f"{rate:.3f} over {months} months", (("age_months", age),))

    def r_expected_but_missing(self, policy, as_of):
        for at, missing in enumerate(self.months.missing):
            if missing:
                yield at, policy.missing_score, "open contract the month before, no declaration although due", ()

    def r_allowance_period_spans_months(self, policy, as_of):
        for at, spanning in enumerate(self.months.spanning):
            if spanning:
                yield at, policy.spanning_allowance_score, "daily-allowance period over more than one month", ()

    def r_several_payments_in_the_month(self, policy, as_of):
        for at, payments in enumerate(self.months.payments):
            if payments >= policy.several_payments_min:
                yield at, policy.several_payments_score, f"{payments} payments", (("payments", payments),)

    def r_declared_after_its_due_date(self, policy, as_of):
        late = np.zeros(len(self.count), dtype=bool)
        late[self.declared] = self.cause[self.first[self.declared]] == "LATE"
        for at in np.flatnonzero(late).tolist():
            yield at, policy.late_score, f"first known {day_of_instant(self.time[int(self.first[at])])}", ()

    def r_replaced_after_its_due_date(self, policy, as_of):
        replaced = self.replacements
        for at in np.flatnonzero((replaced > 0) | np.array([bool(day) for day in self.months.refused], dtype=bool)).tolist():
            due = due_date(self.months.keys[at][3], REPLACEMENT_DUE_DAY)
            refused = self.months.refused[at]
            rows = range(int(self.first[at]), int(self.first[at] + self.count[at]))
            applied = [day for row in rows if self.cause[row] == F.REPLACEMENT and (day := day_of_instant(self.time[row])) >= due]
            late = sorted([*applied, *([refused] if refused else [])])
            if late:
                yield (at, policy.late_score, f"replacement of {late[-1]} {'refused' if refused else 'applied'}, due "
                       f"before {due}", (("late_replacements", len(late)),))
