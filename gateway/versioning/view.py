"""What the register knew at a date about the people of one bucket: current versions, month histories
for the floating rules, and the inputs of reference-period bases. Pure functions of the register's
rows and the date, so that the same date always gives the same answer (as-of reproduction)."""
from __future__ import annotations

import operator
import weakref
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.months import day_of_instant, due_date, month_number, next_month
from gateway.policy import FloatingPolicy
from gateway.records import (Flow, MonthHistory, ResourceNature, ResourceVersion, VersionPoint, fields_in_order,
                             from_state)
from gateway.validate.rules.floating import quiet, volatile_declarant
from gateway.versioning.columns import KEY, ContributionRows, codes, contribution_table, grouped, key_texts
from gateway.versioning.mentions import MentionRows, mention_table
from gateway.versioning.register import BucketState, Declaration, Mention, current_declarations
from schemas.records import RESOURCE_VERSION, ResourceRows, VersionRows, column_values

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


def _live_and_refused(declarations: Iterable[Declaration], as_of: str) -> tuple[set[str], dict[str, str]]:
    """The digests of the declarations current at ``as_of``, and the slots whose last annule-et-remplace received by
    then came too late to replace their declaration (slot -> its day)."""
    known = [d for d in declarations if d.transaction_time <= as_of]
    live = {d.digest for d in current_declarations(known).values()}
    refused: dict[str, str] = {}
    for declaration in known:
        if declaration.too_late and declaration.digest not in live:
            refused[declaration.slot] = max(refused.get(declaration.slot, ""), day_of_instant(declaration.transaction_time))
    return live, refused


def people_as_of(state: BucketState, declarations: Iterable[Declaration], as_of: str) -> dict[str, PersonView]:
    """Group a bucket's rows by person, keeping what was known at ``as_of`` (the reference of :class:`BucketView`)."""
    live, refused = _live_and_refused(declarations, as_of)
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
    dsn, salary, today = Flow.DSN.value, ResourceNature.SALARY.value, day_of_instant(as_of)
    for mention in view.mentions:
        if not mention.open_contract or view.flows.get(mention.declarant_id) != dsn:
            continue
        expected = next_month(mention.month)
        if (mention.declarant_id, expected) not in listed and due_date(expected, policy.missing_due_day) <= today:
            out.add((view.person_key, mention.declarant_id, salary, expected))
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


# --- a whole bucket at once ------------------------------------------------------------------------------------------

class _Deferred(PersonView):
    """A person of a :class:`BucketView`: flows and refused slots known at once; versions, contributions and mentions
    read from the bucket's columns when first asked for (most people's never are: their month histories, their
    months expected but missing and their bases are made over the columns, and the gate reads them only for people
    with frozen bases)."""

    def __init__(self, person_key: str, bucket: "BucketView", flows: dict[str, str]) -> None:
        self.person_key, self.flows, self.refused = person_key, flows, bucket.refused
        self._by_month = self._mentions_by_month = None
        self.sums = {}
        self._bucket = weakref.ref(bucket)      # no cycle: a bucket's columns freed with it, not by the collector

    def __getattr__(self, name: str):
        if name in ("versions", "contributions"):          # not read yet (read: instance attributes)
            self._bucket().load([self.person_key])
            return self.__dict__[name]
        if name == "mentions":
            found = self.__dict__["mentions"] = self._bucket().person_mentions(self.person_key)
            return found
        raise AttributeError(name)


class BucketView:
    """Every person of a bucket as known at ``as_of``, over the columns of the bucket's rows: ``views`` holds the
    people ``people_as_of`` gives (its reference), each view's versions and contributions read when first asked for
    (``load`` reads some people's at once); ``histories`` gives what ``month_histories`` gives each of them and
    ``month_counts`` the months each (declarant, nature) counts, with no record of a version built for them."""

    def __init__(self, state: BucketState, declarations: Iterable[Declaration], as_of: str) -> None:
        self.as_of = as_of
        self.live, self.refused = _live_and_refused(declarations, as_of)
        versions = _table_of(state.versions, RESOURCE_VERSION.table)
        self.versions = _kept(versions, pc.less_equal(versions.column("transaction_time"), as_of))
        live = pa.array(sorted(self.live), pa.string())           # the digests of the current declarations
        contributions = _table_of(state.contributions, contribution_table)
        self.contributions = _kept(contributions, pc.is_in(contributions.column("digest"), live))
        flows = _first_flows(contributions)
        mentions = _table_of(state.mentions, mention_table)
        for person_key, declared in _first_flows(mentions).items():       # a declarant's flow: its first row's
            known = flows.setdefault(person_key, {})
            for declarant_id, flow in declared.items():
                known.setdefault(declarant_id, flow)
        self.mentions = _kept(mentions, pc.is_in(mentions.column("digest"), live))   # of current declarations only
        self._mention_rows: dict[str, np.ndarray] | None = None
        self._mention_people: tuple[np.ndarray, list] | None = None
        people = sorted(set(pc.unique(self.versions.column("person_key")).to_pylist())
                        | set(pc.unique(self.mentions.column("person_key")).to_pylist()))
        self.views: dict[str, PersonView] = {key: _Deferred(key, self, flows.get(key, {})) for key in people}

    def person_mentions(self, person_key: str) -> list[Mention]:
        """The person's mentions of current declarations, in the bucket's order, as records (made for them alone: the
        rows of each person found once for the bucket)."""
        if self._mention_rows is None:
            person, texts = self._people_of_mentions()
            order = np.argsort(person, kind="stable")
            bounds = np.searchsorted(person[order], np.arange(len(texts) + 1)).tolist()
            self._mention_rows = {text: order[start:end] for text, start, end in zip(texts, bounds[:-1], bounds[1:])}
        rows = self._mention_rows.get(person_key)
        return [] if rows is None else list(MentionRows(self.mentions.take(pa.array(rows, pa.int64()))).read())

    def _people_of_mentions(self) -> tuple[np.ndarray, list]:
        """The current mentions' people as codes (``codes``), found once: for a person's records and the months
        expected but missing."""
        if self._mention_people is None:
            self._mention_people = codes(self.mentions.column("person_key"))
        return self._mention_people

    def load(self, people: Iterable[str]) -> None:
        """The versions and contributions of ``people``'s views, read at once (those already read are kept)."""
        views = [self.views[key] for key in people if "versions" not in self.views[key].__dict__]
        if not views:
            return
        for view in views:
            view.__dict__.update(versions={}, contributions=[])
        wanted = pa.array(sorted(view.person_key for view in views), pa.string())
        versions = self.versions.filter(pc.is_in(self.versions.column("person_key"), wanted))
        for version in VersionRows(versions.take(pc.sort_indices(versions, [("version", "ascending")]))).read():
            self.views[version.person_key].versions.setdefault(version.key, []).append(version)
        contributions = self.contributions.filter(pc.is_in(self.contributions.column("person_key"), wanted))
        for person_key, declarant_id, nature, month, slot, _, payments, spanning in _read(ContributionRows(contributions)):
            self.views[person_key].contributions.append(
                ContributionNote((person_key, declarant_id, nature, month), payments, spanning, slot))

    def month_counts(self) -> dict[tuple[str, str], list[int]]:
        """(declarant, nature) -> [its people's months known, those with more than one version]."""
        if not self.versions.num_rows:
            return {}
        counted = self.versions.group_by(list(KEY), use_threads=False).aggregate([("version", "count")])
        counted = pa.table({"declarant_id": counted.column("declarant_id"), "nature": counted.column("nature"),
                            "revised": pc.cast(pc.greater(counted.column("version_count"), 1), pa.int64())})
        totals = counted.group_by(["declarant_id", "nature"], use_threads=False).aggregate(
            [("revised", "count"), ("revised", "sum")])
        return {(declarant, nature): [months, revised] for declarant, nature, months, revised in zip(
            *(totals.column(name).to_pylist() for name in ("declarant_id", "nature", "revised_count", "revised_sum")))}

    def histories(self, policy: FloatingPolicy, declarant_rates: dict[str, tuple[float, int]], *,
                  skip_quiet: bool = False) -> dict[str, list[MonthHistory]]:
        """Person -> what ``month_histories`` gives their view (people without any: absent)."""
        months = self.months(policy, declarant_rates, skip_quiet=skip_quiet)
        points = [from_state(VersionPoint, values) for values in zip(*(column_values(months.rows.column(name))
                                                                       for name in _POINT))]
        out: dict[str, list[MonthHistory]] = {}
        for key, start, count, payments, spanning, missing, refused, rate in zip(
                months.keys, months.starts, months.counts, months.payments, months.spanning, months.missing,
                months.refused, months.rates):
            out.setdefault(key[0], []).append(self._history(key, tuple(points[start:start + count]), payments,
                                                            spanning, missing, refused, rate))
        return out

    def months(self, policy: FloatingPolicy, declarant_rates: dict[str, tuple[float, int]], *,
               skip_quiet: bool = False) -> "Months":
        """The months whose histories ``histories`` gives (with ``skip_quiet``, not the quiet ones), in key order,
        with what each history holds, its versions as rows."""
        points = self.versions.select([*KEY, *(policy.revised_amount if name == "amount" else name for name in _POINT)])
        table, new_key = grouped(points.rename_columns([*KEY, *_POINT]), KEY, then=("version",))
        starts = np.flatnonzero(new_key)
        counts = np.diff(np.append(starts, table.num_rows))
        firsts = table.take(pa.array(starts, pa.int64()))
        keys = list(zip(*(column_values(firsts.column(name)) for name in KEY)))
        facts = _KeyFacts(self.contributions, self.refused)
        payments, spanning = facts.sums(firsts)
        missing, refused = self._missing(policy), facts.refused()
        rates = [declarant_rates.get(key[1], (0.0, 0)) for key in keys]
        loud = np.array([not skip_quiet or not quiet(count, cause, paid, spans, key in missing,
                                                     refused.get(key, ""), rate, months, policy)
                         for key, count, cause, paid, spans, (rate, months) in zip(
                             keys, counts.tolist(), column_values(firsts.column("cause")), payments.tolist(),
                             spanning.tolist(), rates)], dtype=bool)
        kept = np.flatnonzero(loud)
        sizes = counts[kept]
        at = kept.tolist()
        # the loud months' keys, version spans, payments, spanning and rates, a list each, in key order
        found = [[keys[place] for place in at], (np.cumsum(sizes) - sizes).tolist(), sizes.tolist(),
                 payments[kept].tolist(), spanning[kept].tolist(), [rates[place] for place in at]]
        alone = sorted(missing - set(keys))               # expected but never declared: no version
        if alone:
            paid, spans = facts.sums(pa.table({name: [key[place] for key in alone] for place, name in enumerate(KEY)}))
            found = [column + more for column, more in zip(found, (
                alone, [0] * len(alone), [0] * len(alone), paid.tolist(), spans.tolist(),
                [declarant_rates.get(key[1], (0.0, 0)) for key in alone]))]
            order = sorted(range(len(found[0])), key=found[0].__getitem__)     # two runs in key order, merged
            found = [[column[place] for place in order] for column in found]
        keys, starts, sizes, paid, spans, rates = found
        return Months(keys, table.filter(pa.array(np.repeat(loud, counts))), starts, sizes, paid, spans,
                      [key in missing for key in keys], [refused.get(key, "") for key in keys], rates)

    def _missing(self, policy: FloatingPolicy) -> set[Key]:
        """Every person's months expected but not declared (what ``missing_keys`` gives each view), over the columns
        of the current mentions: the month after each one with an open contract, from a declarant whose flow is
        DSN for the person, when the person has no mention of that declarant and month and its due date has
        passed."""
        mentions = self.mentions
        opened = np.flatnonzero(mentions.column("open_contract").fill_null(False).to_numpy(zero_copy_only=False)) \
            if mentions.num_rows else np.empty(0, dtype=np.int64)
        if not len(opened):
            return set()
        person, people = self._people_of_mentions()
        declarant, declarants = codes(mentions.column("declarant_id"))
        month, months = codes(mentions.column("month"))
        numbers = np.array([month_number(text) for text in months], dtype=np.int64)
        listed = (person * len(declarants) + declarant) * _MONTHS + numbers[month]      # (person, declarant, month)
        expected = (person[opened] * len(declarants) + declarant[opened]) * _MONTHS + numbers[month[opened]] + 1
        today = day_of_instant(self.as_of)
        due = np.array([due_date(next_month(text), policy.missing_due_day) <= today for text in months], dtype=bool)
        kept = opened[~np.isin(expected, listed) & due[month[opened]]]
        dsn, salary = Flow.DSN.value, ResourceNature.SALARY.value
        return {(people[who], declarants[whom], salary, next_month(months[when]))
                for who, whom, when in zip(person[kept].tolist(), declarant[kept].tolist(), month[kept].tolist())
                if self.views[people[who]].flows.get(declarants[whom]) == dsn}

    def _history(self, key: Key, points: tuple, payments: int, spanning: bool, missing: bool, refused: str,
                 rate: tuple[float, int]) -> MonthHistory:
        flow = _FLOWS[self.views[key[0]].flows.get(key[1], Flow.DSN.value)]
        return from_state(MonthHistory, (key[1], flow, key[2], key[3], self.as_of, points, payments, spanning,
                                         missing, refused, *rate))


_FLOWS = {flow.value: flow for flow in Flow}
_MONTHS = 1 << 20                 # more than any month's number (``month_number``: year * 12 + month - 1)
_POINT = ("version", "transaction_time", "cause", "amount", "file", "first_line")


class Months(NamedTuple):
    """A bucket's months the floating rules look at, in key order: each one's key, the span of its versions in
    ``rows`` (oldest first; none for a month expected but never declared), and what its history holds besides."""

    keys: list[Key]
    rows: pa.Table                        # the months' versions (``_POINT``: ``amount`` the policy's revised one)
    starts: list[int]
    counts: list[int]
    payments: list[int]
    spanning: list[bool]
    missing: list[bool]
    refused: list[str]
    rates: list[tuple[float, int]]


class _KeyFacts:
    """What a month's history reads of the live contributions of its key: payments, a spanning allowance, a slot
    whose replacement came too late."""

    def __init__(self, contributions: pa.Table, refused: dict[str, str]) -> None:
        self._contributions, self._refused = contributions, refused
        grouped = contributions.group_by(list(KEY), use_threads=False).aggregate(
            [("payment_count", "sum"), ("spanning", "any")])
        self._texts = key_texts(grouped)
        self._payments = grouped.column("payment_count_sum").to_numpy(zero_copy_only=False)
        self._spanning = grouped.column("spanning_any").to_numpy(zero_copy_only=False)

    def sums(self, keys: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """For each row of ``keys`` (the KEY columns): its payments and whether an allowance spans months."""
        at = pc.index_in(key_texts(keys), self._texts).to_numpy(zero_copy_only=False)
        found = ~np.isnan(at) if at.dtype.kind == "f" else np.ones(len(at), dtype=bool)
        position = np.where(found, np.nan_to_num(at), 0).astype(np.int64)
        payments = np.where(found, self._payments[position] if len(self._payments) else 0, 0).astype(np.int64)
        spanning = found & (self._spanning[position].astype(bool) if len(self._spanning) else False)
        return payments, spanning

    def refused(self) -> dict[Key, str]:
        """Key -> the day of the last annule-et-remplace of one of its slots refused as too late."""
        out: dict[Key, str] = {}
        if not self._refused:
            return out
        contributions = self._contributions.filter(pc.is_in(self._contributions.column("slot"),
                                                            pa.array(sorted(self._refused), pa.string())))
        for *key, slot in zip(*(column_values(contributions.column(name)) for name in (*KEY, "slot"))):
            key = tuple(key)
            out[key] = max(out.get(key, ""), self._refused[slot])
        return out


def _first_flows(contributions: pa.Table) -> dict[str, dict[str, str]]:
    """Person -> declarant -> the flow of the first of their rows (contributions or mentions: its slot's first
    field)."""
    if not contributions.num_rows:
        return {}
    person, people = codes(contributions.column("person_key"))
    declarant, declarants = codes(contributions.column("declarant_id"))
    _, first = np.unique(person * len(declarants) + declarant, return_index=True)
    first = np.sort(first)
    slots = contributions.column("slot").take(pa.array(first, pa.int64())).to_pylist()
    out: dict[str, dict[str, str]] = {}
    for who, whom, slot in zip(person[first].tolist(), declarant[first].tolist(), slots):
        out.setdefault(people[who], {})[declarants[whom]] = slot.split("|", 1)[0]
    return out


def _kept(table: pa.Table, mask: pa.ChunkedArray) -> pa.Table:
    """The rows of ``table`` where ``mask`` holds: the table itself when it holds everywhere (no copy of a bucket)."""
    return table if pc.all(mask).as_py() is not False else table.filter(mask)


def _table_of(rows, table_of) -> pa.Table:
    """Rows held as columns (``ResourceRows``), or records: their table."""
    return rows.table if isinstance(rows, ResourceRows) else table_of(list(rows))
