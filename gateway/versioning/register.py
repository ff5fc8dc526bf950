"""Versions of person x declarant x nature x month, computed from declarations as they arrive.

The value of a month, as known at time T, is the sum over *slots* (declarant x flow x main month x
fraction x declaration nature) of what the slot's current declaration says about that month: the
current declaration of a slot is the one with the highest rank (S20.G00.05.004) among those known
at T; an annule-et-remplace (type 03) supersedes the declaration of its slot as a whole, so a person
it no longer lists loses that slot's amounts, unless it arrived after the norm's deadline (the eve of the 15th
of the next month): then it is kept but never supersedes a declaration received in time. Corrections that later declarations attach to the
month (régularisations, back-pay, net-social corrections) come from other slots and add up.

Each time a run changes the value of a month, one version is appended, with its cause. Nothing is
overwritten: a version is never changed once written, and ingesting a declaration again adds nothing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from gateway.months import Instant, Month, month_of_instant, next_month, replacement_too_late
from gateway.records import AMOUNT_FIELDS, Amounts, Cause, DeclarationSummary, Flow, Outcome, ResourceMonth, \
    ResourceNature, ResourceVersion, VersionCause, compact_pickle, fields_in_order, from_state
from schemas.records import RESOURCE_MONTH, ResourceRows, column_values

AMOUNTS = AMOUNT_FIELDS


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class Declaration:
    """A declaration as the register knows it: enough to tell which one is current in its slot."""

    slot: str
    digest: str
    rank: int
    declaration_id: str
    declaration_type: str
    transaction_time: Instant
    file: str
    first_line: int
    # What superseding it touches: the earliest month it attributes amounts to, and the person buckets
    # ("03 11") of the people it lists. "" for none; None when not known (registers written before).
    first_month: Month | None = None
    buckets: str | None = None

    @property
    def order(self) -> tuple:
        return (self.rank, self.transaction_time, self.file, self.first_line)

    @property
    def too_late(self) -> bool:
        """An annule-et-remplace received after the norm allows it (``gateway.months.replacement_too_late``)."""
        flow, _, main_month, _, nature = self.slot.split("|")
        return replacement_too_late(flow=flow, nature=nature, declaration_type=self.declaration_type,
                                    main_month=main_month, arrived=self.transaction_time)

    @property
    def standing(self) -> tuple:
        """What decides the current declaration of a slot: a replacement received too late never supersedes one
        received in time (it stays known, not current); otherwise the highest (rank, arrival) wins."""
        return (not self.too_late, self.order)


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class Contribution(Amounts):
    """What one declaration says about one month of one key (its records for that key, summed)."""

    person_key: str
    nir: str | None
    declarant_id: str
    nature: str
    month: Month
    slot: str
    digest: str
    causes: str                     # the record causes, sorted, joined by "+"
    payment_count: int = 0          # payments the declaration made in the month
    spanning: bool = False          # a daily allowance whose imputation period spans several months

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.person_key, self.declarant_id, self.nature, self.month)


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class Mention:
    """A person listed in a declaration (even with no amount): open contract, subrogated daily allowances."""

    person_key: str
    declarant_id: str
    month: Month                      # the declaration's main month
    slot: str
    digest: str
    open_contract: bool
    subrogated_allowance_cents: int = 0
    subrogated_months: str | None = ""          # None in registers written before the field


@dataclass
class BucketState:
    """Everything the register knows about the people of one bucket (committed runs only)."""

    contributions: list[Contribution] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    versions: list[ResourceVersion] = field(default_factory=list)
    frozen: list = field(default_factory=list)         # ReferenceBase published to liquidation (the gate's references)
    decisions: list = field(default_factory=list)      # GateDecision taken so far


def _slot(flow: str, declarant_id: str, main_month: str | None, fraction: str, nature: str) -> str:
    return "|".join([flow, declarant_id, main_month or "", fraction, nature])


def slot_of(record: ResourceMonth) -> str:
    return _slot(record.flow.value, record.declarant_id, record.main_month, record.declaration_fraction,
                 record.declaration_nature)


def summary_slot(summary: DeclarationSummary) -> str:
    return _slot(summary.flow.value, summary.declarant_id, summary.main_month, summary.fraction, summary.nature)


def declaration_of(record: ResourceMonth, transaction_time: str) -> Declaration:
    rank = int(record.declaration_rank) if record.declaration_rank.isdigit() else 0
    return Declaration(slot=slot_of(record), digest=record.declaration_digest, rank=rank,
                       declaration_id=record.declaration_id, declaration_type=record.declaration_type,
                       transaction_time=transaction_time, file=record.file, first_line=record.first_line)


def declaration_of_summary(summary: DeclarationSummary, transaction_time: str) -> Declaration:
    """Every accepted declaration, even one that lists nobody (an A&R emptying its slot)."""
    rank = int(summary.rank) if summary.rank.isdigit() else 0
    return Declaration(slot=summary_slot(summary), digest=summary.digest, rank=rank,
                       declaration_id=summary.declaration_id, declaration_type=summary.type,
                       transaction_time=transaction_time, file=summary.file, first_line=summary.first_line)


def mentions_of(outcome: Outcome) -> list[Mention]:
    """The people each accepted declaration of an outcome lists, with their subrogated allowances."""
    out = []
    for summary in outcome.summaries:
        if not summary.main_month:
            continue
        declarant_id, month, digest = summary.declarant_id, summary.main_month, summary.digest
        slot = summary_slot(summary)
        out.extend(from_state(Mention, (person.person_key, declarant_id, month, slot, digest, person.open_contract,
                                        person.subrogated_allowance_cents, person.subrogated_months))
                   for person in summary.people)     # one per person listed: built from its fields' values
    return out


fields_in_order(Mention, "person_key", "declarant_id", "month", "slot", "digest", "open_contract",
                "subrogated_allowance_cents", "subrogated_months")


def fresh_mentions(mentions: Iterable[Mention], fresh_digests: set[str]) -> list[Mention]:
    """Of ``mentions``, those of the declarations a run adds to the register (``fresh_digests``), by declaration,
    person and month, each (declaration, person) once (its first in that order)."""
    seen: set[tuple] = set()
    out = []
    for mention in sorted(mentions, key=lambda m: (m.digest, m.person_key, m.month)):
        identity = (mention.digest, mention.person_key)
        if mention.digest in fresh_digests and identity not in seen:
            seen.add(identity)
            out.append(mention)
    return out


def contributions_of(records: Sequence[ResourceMonth]) -> list[Contribution]:
    """One contribution per (declaration, key): the records of a declaration for a key, summed. A
    declaration received twice (same digest, in two files or twice in one) counts once: the copy
    with the first (file, declaration id) is kept. Read from the records' columns (``schemas.records``: a tuple of
    records once made into a table, records held as columns as they are): one tuple of values per record, what is
    the same for a whole declaration (its copy, its slot) read once per declaration."""
    if not records:
        return []
    table = first_copies(records)
    slots = slots_of(table)
    # the records in key order (a stable sort of the columns: a key's records stay in their order), read row by row
    order = pc.sort_indices(table, [(name, "ascending") for name in _KEY_COLUMNS])
    spans = spanning(table).take(order).to_pylist()
    table = table.take(order)
    out: list[Contribution] = []
    key, group = None, []
    for row in zip(*(column_values(table.column(name)) for name in _READ), spans):
        if row[_KEY] == key:
            group.append(row)
            continue
        if group:
            out.append(_contribution(key, group, slots[key[0]]))
        key, group = row[_KEY], [row]
    out.append(_contribution(key, group, slots[key[0]]))
    return out


def first_copies(records: Sequence[ResourceMonth]) -> pa.Table:
    """The records as a table of ``resource_month``, those of a declaration received twice (same digest) from its
    first copy (the first (file, declaration id)) only."""
    table = RESOURCE_MONTH.table(records if isinstance(records, (tuple, ResourceRows)) else tuple(records))
    copies = table.group_by(["declaration_digest", "file", "declaration_id"], use_threads=False).aggregate([])
    if copies.num_rows > len(set(copies.column("declaration_digest").to_pylist())):     # a declaration twice
        first: dict[str, tuple[str, str]] = {}
        for digest, file, declaration_id in zip(*(copies.column(name).to_pylist() for name in copies.column_names)):
            first[digest] = min(first.get(digest, (file, declaration_id)), (file, declaration_id))
        kept = [(file, declaration_id) == first[digest] for digest, file, declaration_id in zip(
            *(table.column(name).to_pylist() for name in ("declaration_digest", "file", "declaration_id")))]
        table = table.filter(pa.array(kept, pa.bool_()))
    return table


def slots_of(table: pa.Table) -> dict[str, str]:
    """Each declaration's slot (digest -> slot), read once per declaration from its records' columns."""
    declarations = table.group_by(list(_SLOT_OF), use_threads=False).aggregate([])       # one row a declaration
    return {digest: _slot(*values) for digest, *values in zip(*(
        declarations.column(name).to_pylist() for name in _SLOT_OF))}


def spanning(table: pa.Table) -> pa.Array:
    """For each record, whether it is of daily allowances with an imputation period over more than one month."""
    start, end = table.column("period_start"), table.column("period_end")
    different = pc.or_(pc.not_equal(pc.year(start), pc.year(end)), pc.not_equal(pc.month(start), pc.month(end)))
    return pc.fill_null(pc.and_(pc.equal(table.column("nature"), _ALLOWANCE), different), False).combine_chunks()


# What a contribution reads of each record, in this order (its published columns): the amounts, its key, then the
# rest; its declaration's slot is made of _SLOT_OF, read once per declaration.
_KEY_COLUMNS = ("declaration_digest", "person_key", "declarant_id", "nature", "month")
_READ = (*AMOUNTS, *_KEY_COLUMNS, "nir", "cause", "payment_count")
_SLOT_OF = ("declaration_digest", "flow", "declarant_id", "main_month", "declaration_fraction", "declaration_nature")
_AMOUNT_COUNT = len(AMOUNTS)
_KEY = slice(_AMOUNT_COUNT, _AMOUNT_COUNT + 5)
_NIR, _CAUSE, _PAYMENTS, _SPANS = range(_AMOUNT_COUNT + 5, _AMOUNT_COUNT + 9)
_ALLOWANCE = ResourceNature.DAILY_ALLOWANCE.value


def _contribution(key: tuple, group: list[tuple], slot: str) -> Contribution:
    digest, person_key, declarant_id, nature, month = key
    first = group[0]
    if len(group) == 1:                 # most keys: one record, whose amounts are the sums
        return from_state(Contribution, (*first[:_AMOUNT_COUNT], person_key, first[_NIR], declarant_id, nature, month,
                                         slot, digest, first[_CAUSE], first[_PAYMENTS], first[_SPANS]))
    sums = []
    for index in range(_AMOUNT_COUNT):
        values = [row[index] for row in group if row[index] is not None]
        sums.append(sum(values) if values else None)
    return from_state(Contribution, (*sums, person_key, first[_NIR], declarant_id, nature, month, slot, digest,
                                     "+".join(sorted({row[_CAUSE] for row in group})),
                                     sum(row[_PAYMENTS] for row in group), any(row[_SPANS] for row in group)))


fields_in_order(Contribution, *AMOUNTS, "person_key", "nir", "declarant_id", "nature", "month", "slot", "digest",
                "causes", "payment_count", "spanning")


def current_declarations(declarations: Iterable[Declaration]) -> dict[str, Declaration]:
    """The current declaration of each slot: the highest (rank, arrival) of those that may supersede the others
    (``Declaration.standing``)."""
    current: dict[str, Declaration] = {}
    for declaration in declarations:
        best = current.get(declaration.slot)
        if best is None or declaration.standing > best.standing:
            current[declaration.slot] = declaration
    return current


def value_of(contributions: Iterable[Contribution], current: dict[str, Declaration]) -> tuple | None:
    """A key's amounts from the current declaration of each slot; None if no current slot says anything."""
    totals: dict[str, int] = {}
    seen = False
    for contribution in contributions:
        winner = current.get(contribution.slot)
        if winner is None or winner.digest != contribution.digest:
            continue
        seen = True
        for name in AMOUNTS:
            value = getattr(contribution, name)
            if value is not None:
                totals[name] = totals.get(name, 0) + value
    return tuple(totals.get(name) for name in AMOUNTS) if seen else None


def version_cause(trigger: Declaration, superseded: bool, contribution: Contribution | None, first_version: bool,
           month: str) -> VersionCause:
    if superseded:
        return VersionCause.REPLACEMENT
    causes = set(contribution.causes.split("+")) if contribution else set()
    if first_version and Cause.PAYMENT.value in causes or first_version and not causes:
        arrival = month_of_instant(trigger.transaction_time)
        return VersionCause.INITIAL if arrival <= next_month(month) else VersionCause.LATE
    for cause, version_cause in ((Cause.PAS_REGULARISATION, VersionCause.PAS_REGULARISATION),
                                 (Cause.BACK_PAY, VersionCause.BACK_PAY),
                                 (Cause.NET_SOCIAL_CORRECTION, VersionCause.NET_SOCIAL_CORRECTION)):
        if cause.value in causes:
            return version_cause
    if trigger.slot.startswith(Flow.PASRAU.value):
        return VersionCause.PASRAU_CORRECTION
    return VersionCause.LATE


def arrival_order(declaration: Declaration) -> tuple:
    return (declaration.transaction_time, declaration.file, declaration.first_line)


def becoming_current(current: dict[str, Declaration], fresh: Iterable[Declaration],
                     ) -> Iterator[tuple[Declaration, Declaration | None]]:
    """The fresh declarations that become current in their slot, in arrival order, each with the one it
    supersedes (None for a slot's first); ``current`` (slot -> current declaration) is updated before each is
    yielded. An older rank arriving late, or a replacement received after its due date, changes nothing and is
    not yielded."""
    # Declarations received at the same instant: those received in time first, so that a replacement received
    # too late is never current for a moment before the original it may not replace.
    for declaration in sorted(fresh, key=lambda d: (d.transaction_time, d.too_late, d.file, d.first_line)):
        previous = current.get(declaration.slot)
        if previous is not None and declaration.standing <= previous.standing:
            continue
        current[declaration.slot] = declaration
        yield declaration, previous


def fresh_declarations(known: list[Declaration], arriving: list[Declaration]) -> list[Declaration]:
    """The arriving declarations the register does not know, each once (its first copy), in arrival order."""
    known_digests = {d.digest for d in known}
    return sorted({d.digest: d for d in reversed(arriving) if d.digest not in known_digests}.values(),
                  key=arrival_order)


def last_versions(versions: list[ResourceVersion]) -> dict[tuple, ResourceVersion]:
    last: dict[tuple, ResourceVersion] = {}
    for version in versions:
        if version.key not in last or version.version > last[version.key].version:
            last[version.key] = version
    return last


def _next_version(key: tuple, key_contributions: list[Contribution], value: tuple | None, trigger: Declaration,
                  superseded: bool, previous: ResourceVersion | None, run_id: str) -> ResourceVersion | None:
    """The key's new version when ``trigger`` becomes current in its slot; None when its value is unchanged."""
    amounts = value or (None,) * len(AMOUNTS)
    if previous is not None and previous.amounts == amounts or previous is None and value is None:
        return None
    mine = next((c for c in key_contributions if c.digest == trigger.digest), None)
    number = previous.version + 1 if previous else 1
    return from_state(ResourceVersion, (
        *amounts, hashlib.sha256(f"{'|'.join(key)}|{number}|{trigger.digest}".encode()).hexdigest()[:24],
        key[0], (mine or key_contributions[0]).nir, key[1], key[2], key[3], number, trigger.transaction_time,
        version_cause(trigger, superseded, mine, previous is None, key[3]), trigger.declaration_id, trigger.digest,
        trigger.file, trigger.first_line, run_id))


fields_in_order(ResourceVersion, *AMOUNTS, "version_id", "person_key", "nir", "declarant_id", "nature", "month",
                "version", "transaction_time", "cause", "declaration_id", "declaration_digest", "file", "first_line",
                "run_id")


def merge(*, known: list[Declaration], contributions: list[Contribution], versions: list[ResourceVersion],
          arriving: list[Declaration], new_contributions: list[Contribution], run_id: str,
          ) -> tuple[list[Declaration], list[Contribution], list[ResourceVersion]]:
    """Apply arriving declarations, one by one in arrival order, to the keys they touch.

    ``known``/``contributions``/``versions``: the register so far for the keys concerned (and every
    declaration of the slots concerned). Returns what to append: new declarations, new contributions
    and new versions. Declarations already known (same digest) add nothing.
    """
    fresh = fresh_declarations(known, arriving)
    fresh_digests = {d.digest for d in fresh}
    added = [c for c in new_contributions if c.digest in fresh_digests]
    by_key: dict[tuple, list[Contribution]] = {}
    keys_of_slot: dict[str, set[tuple]] = {}
    for contribution in contributions + added:
        key = contribution.key
        by_key.setdefault(key, []).append(contribution)
        keys_of_slot.setdefault(contribution.slot, set()).add(key)
    last = last_versions(versions)
    out: list[ResourceVersion] = []
    after = current_declarations(known)            # the current declaration of each slot, kept up to date
    for trigger, previous_current in becoming_current(after, fresh):
        for key in sorted(keys_of_slot.get(trigger.slot, ())):
            version = _next_version(key, by_key[key], value_of(by_key[key], after), trigger,
                                    previous_current is not None, last.get(key), run_id)
            if version is not None:
                last[key] = version
                out.append(version)
    return fresh, added, out


def as_of(versions: Iterable[ResourceVersion], when: str) -> dict[tuple, ResourceVersion]:
    """The version of each key that was current at ``when`` (ISO date or time): what was known then."""
    current: dict[tuple, ResourceVersion] = {}
    for version in versions:
        if version.transaction_time <= when and (version.key not in current
                                                 or version.version > current[version.key].version):
            current[version.key] = version
    return current


__all__ = ["BucketState", "Contribution", "Declaration", "Mention", "ResourceVersion", "VersionCause", "arrival_order",
           "as_of", "becoming_current", "contributions_of",
           "current_declarations", "declaration_of", "declaration_of_summary", "fresh_mentions", "mentions_of", "merge", "replace"]
