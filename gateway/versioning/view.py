"""What the register knew at a date about the people of one bucket: current versions, month histories
for the floating rules, and the inputs of reference-period bases. Pure functions of the register's
rows and the date, so that the same date always gives the same answer (as-of reproduction)."""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from gateway.months import day_of_instant, due_date, next_month
from gateway.policy import FloatingPolicy
from gateway.records import (Flow, MonthHistory, ResourceNature, ResourceVersion, VersionPoint, fields_in_order,
                             from_state)
from gateway.validate.rules.floating import quiet, volatile_declarant
from gateway.versioning.register import BucketState, Declaration, Mention, current_declarations
from schemas.records import ResourceRows, column_values

Key = tuple[str, str, str, str]           # person, declarant, nature, month


class ContributionNote(NamedTuple):
    """What a person's view keeps of a contribution of a current declaration: what its month histories read."""

    key: Key
    payment_count: int
    spanning: bool
    slot: str


@dataclass
class PersonView:
    """One person as known at ``as_of``."""

    person_key: str
    versions: dict[Key, list[ResourceVersion]] = field(default_factory=dict)   # oldest first, up to as_of
    contributions: list[ContributionNote] = field(default_factory=list)         # from current declarations
    mentions: list[Mention] = field(default_factory=list)                       # from current declarations
    flows: dict[str, str] = field(default_factory=dict)                         # declarant -> flow
    refused: dict[str, str] = field(default_factory=dict)       # slot -> date of its last A&R received too late
    _by_month: dict[str, list[Key]] | None = field(default=None, repr=False)
    _mentions_by_month: dict[str, list[Mention]] | None = field(default=None, repr=False)
    # The reference periods' sums already added up for this person (gateway.versioning.bases.window_sums): the
    # bases and the gate ask for the same period of benefits that count it alike (RSA and PA); emptied once the
    # person is derived (gateway.bucket.derive: a bucket holds every view of its people).
    sums: dict = field(default_factory=dict, repr=False, compare=False)

    def current(self, key: Key) -> ResourceVersion | None:
        versions = self.versions.get(key)
        return versions[-1] if versions else None

    def keys_of(self, month: str) -> list[Key]:
        """The person's keys of one month (indexed once the view is complete: bases and the gate ask month
        by month, for every base of every reference month)."""
        if self._by_month is None:
            self._by_month = {}
            for key in self.versions:
                self._by_month.setdefault(key[3], []).append(key)
        return self._by_month.get(month, [])

    def mentions_of(self, month: str) -> list[Mention]:
        """The person's mentions of one month, in their order (indexed once, like ``keys_of``)."""
        if self._mentions_by_month is None:
            self._mentions_by_month = {}
            for mention in self.mentions:
                self._mentions_by_month.setdefault(mention.month, []).append(mention)
        return self._mentions_by_month.get(month, [])


def people_as_of(state: BucketState, declarations: Iterable[Declaration], as_of: str) -> dict[str, PersonView]:
    """Group a bucket's rows by person, keeping what was known at ``as_of``."""
    known = [d for d in declarations if d.transaction_time <= as_of]
    current = current_declarations(known)
    live = {d.digest for d in current.values()}
    refused: dict[str, str] = {}
    for declaration in known:
        if declaration.too_late and declaration.digest not in live:
            refused[declaration.slot] = max(refused.get(declaration.slot, ""), day_of_instant(declaration.transaction_time))
    people: dict[str, PersonView] = {}

    def person(key: str) -> PersonView:
        found = people.get(key)
        if found is None:
            found = people[key] = PersonView(key, refused=refused)
        return found
    versions = state.versions.read() if isinstance(state.versions, ResourceRows) else state.versions
    for version in sorted(versions, key=lambda v: v.version):
        if version.transaction_time <= as_of:
            person(version.person_key).versions.setdefault(version.key, []).append(version)
    for person_key, declarant_id, nature, month, slot, digest, payments, spanning in _read(state.contributions):
        view = person(person_key)
        view.flows.setdefault(declarant_id, slot.split("|", 1)[0])
        if digest in live:
            view.contributions.append(ContributionNote((person_key, declarant_id, nature, month), payments, spanning,
                                                       slot))
    for mention in state.mentions:
        view = person(mention.person_key)
        view.flows.setdefault(mention.declarant_id, mention.slot.split("|", 1)[0])
        if mention.digest in live:
            view.mentions.append(mention)
    return {key: view for key, view in people.items() if view.versions or view.mentions}


_NOTED = ("person_key", "declarant_id", "nature", "month", "slot", "digest", "payment_count", "spanning")


def _read(contributions) -> Iterable[tuple]:
    """What a view reads of each contribution (``_NOTED``): from the columns of rows, no object built for them."""
    if isinstance(contributions, ResourceRows):
        return zip(*(column_values(contributions.table.column(name)) for name in _NOTED))
    return map(operator.attrgetter(*_NOTED), contributions)


def missing_keys(view: PersonView, as_of: str, policy: FloatingPolicy) -> set[Key]:
    """Months an employer should have declared (open contract the month before, due date passed) but did not."""
    listed = {(m.declarant_id, m.month) for m in view.mentions}
    out = set()
    for mention in view.mentions:
        if not mention.open_contract or view.flows.get(mention.declarant_id) != Flow.DSN.value:
            continue
        expected = next_month(mention.month)
        if (mention.declarant_id, expected) not in listed and due_date(expected, policy.missing_due_day) <= day_of_instant(as_of):
            out.add((view.person_key, mention.declarant_id, ResourceNature.SALARY.value, expected))
    return out


def month_histories(view: PersonView, as_of: str, policy: FloatingPolicy,
                    declarant_rates: dict[str, tuple[float, int]], *, skip_quiet: bool = False) -> list[MonthHistory]:
    """One MonthHistory per resource month of the person (and per month expected but missing); with
    ``skip_quiet``, none for the months no floating rule can flag (``rules.floating.quiet``: most months, one
    version declared in time), for a caller that runs only those rules."""
    payments: dict[Key, int] = {}
    spanning: set[Key] = set()
    refused: dict[Key, str] = {}           # months whose slot got an A&R too late to replace its declaration
    for contribution in view.contributions:
        key = contribution.key
        payments[key] = payments.get(key, 0) + contribution.payment_count
        if contribution.spanning:
            spanning.add(key)
        if contribution.slot in view.refused:
            refused[key] = max(refused.get(key, ""), view.refused[contribution.slot])
    missing = missing_keys(view, as_of, policy)
    revised = operator.attrgetter(policy.revised_amount)
    out = []
    for key in sorted(set(view.versions) | missing):
        rate, months = declarant_rates.get(key[1], (0.0, 0))
        versions = view.versions.get(key, ())
        if skip_quiet and quiet(len(versions), versions[0].cause.value if versions else "", payments.get(key, 0),
                                key in spanning, key in missing, refused.get(key, ""), rate, months, policy):
            continue
        # built from their fields' values (gateway.records.from_state): one per version and month looked at
        points = tuple(from_state(VersionPoint, (v.version, v.transaction_time, v.cause.value, revised(v), v.file,
                                                 v.first_line)) for v in versions)
        out.append(from_state(MonthHistory, (
            key[1], Flow(view.flows.get(key[1], Flow.DSN.value)), key[2], key[3], as_of, points,
            payments.get(key, 0), key in spanning, key in missing, refused.get(key, ""), rate, months)))
    return out


fields_in_order(VersionPoint, "version", "transaction_time", "cause", "amount_cents", "file", "first_line")
fields_in_order(MonthHistory, "declarant_id", "flow", "nature", "month", "as_of", "versions", "payment_count",
                "spanning_allowance", "expected_missing", "late_replacement", "declarant_revision_rate",
                "declarant_months")


def declarant_rates(rows: Iterable[dict], as_of: str) -> dict[str, tuple[float, int]]:
    """Each declarant's share of months revised after first publication, from the runs known at ``as_of``."""
    added: dict[str, int] = {}
    revised: dict[str, int] = {}
    for row in rows:
        if row["transaction_time"] < as_of:          # runs before this date (not the run computing it)
            added[row["declarant_id"]] = added.get(row["declarant_id"], 0) + row["months_added"]
            revised[row["declarant_id"]] = revised.get(row["declarant_id"], 0) + row["months_revised"]
    return {d: (revised.get(d, 0) / n if n else 0.0, n) for d, n in added.items()}


def rates_that_show(moved: Iterable[tuple[str, str]], rows: Iterable[dict], policy: FloatingPolicy, since: str,
                    until: str) -> tuple[tuple[str, str], ...]:
    """Of ``moved`` ((declarant, transaction time) of the register rows written in [``since``, ``until``): declarants
    whose revision rate moved in that time), those whose rate shows in a flag at some moment of it: volatile then
    (``rules.floating.volatile_declarant``: DRM-FLT-004 gives the rate in its detail only while the declarant is).
    The moments: ``since``, just after each of the declarant's rows written since, and ``until`` (``rows``: every
    row of those declarants, as ``declarant_rates`` reads them). A declarant volatile at none of them had the same
    flags at every derivation of that time: its people need no second look for its rate."""
    times: dict[str, list[dict]] = {}
    for row in rows:
        if row["transaction_time"] < until:
            times.setdefault(row["declarant_id"], []).append(row)
    shown = {declarant for declarant in {declarant for declarant, _ in moved}
             if _volatile_at_some_moment(times.get(declarant, []), policy, since)}
    return tuple(item for item in moved if item[0] in shown)


def _volatile_at_some_moment(rows: list[dict], policy: FloatingPolicy, since: str) -> bool:
    """Whether the declarant of ``rows`` (those before the end of the time looked at) is volatile at ``since`` (its
    rows before it) or after any of its later rows, the last of which gives its rate at the end (checked row by
    row: a moment between two rows of the same time is looked at too, which can only keep more)."""
    rows = sorted(rows, key=lambda row: row["transaction_time"])
    earlier = [row for row in rows if row["transaction_time"] < since]
    added = sum(row["months_added"] for row in earlier)
    revised = sum(row["months_revised"] for row in earlier)
    if volatile_declarant(revised / added if added else 0.0, added, policy):
        return True
    for row in rows[len(earlier):]:
        added, revised = added + row["months_added"], revised + row["months_revised"]
        if volatile_declarant(revised / added if added else 0.0, added, policy):
            return True
    return False
