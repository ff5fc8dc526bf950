"""The register's merge over Arrow columns: what ``register.merge`` does key by key, done for a whole bucket's keys
at once, with ``register.merge`` as its reference (tests/gateway/versioning/test_merge_columns.py compares them).

A key's value after a declaration becomes current is the sum of its contributions whose declaration is current in
their slot then. A declaration is current during one stretch of the run's steps (a slot's standing only grows: one
superseded never comes back): from the step it becomes current (0 for those current before the run) to the step
another takes its slot. So each contribution is live over one interval of steps, and each (key, step of a slot the
key has a contribution in) is an *event* whose value is a masked sum over the key's rows. A key's events in step
order give its versions: a new one each time its amounts change (the first once something is declared).

Contributions are held as columns of the register's ``contributions`` table (``ContributionRows``); versions come
out as columns of ``resource_version`` (``schemas.records.VersionRows``), objects built only if read one by one.
"""
from __future__ import annotations

import hashlib
from typing import NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.records import ResourceMonth, ResourceVersion
from gateway.versioning.register import (AMOUNTS, Contribution, Declaration, becoming_current, contributions_of,
                                         current_declarations, first_copies, fresh_declarations, merge,
                                         slots_of, spanning, version_cause)
from schemas.records import RESOURCE_VERSION, ResourceRows, VersionRows

KEY = ("person_key", "declarant_id", "nature", "month")
CONTRIBUTIONS = pa.schema([("person_key", pa.string()), ("nir", pa.string()), ("declarant_id", pa.string()),
                           ("nature", pa.string()), ("month", pa.string()), ("slot", pa.string()),
                           ("digest", pa.string()), ("causes", pa.string()), ("payment_count", pa.int64()),
                           ("spanning", pa.bool_()), *((name, pa.int64()) for name in AMOUNTS)])
# a sum of this many amounts of at most this size stays within int64 (else the reference, with Python's integers)
_SAFE = 1 << 62


class ContributionRows(ResourceRows):
    """Contributions held as columns of the register's ``contributions`` table (``CONTRIBUTIONS``)."""

    record_type = Contribution

    @classmethod
    def enum_fields(cls) -> dict[str, type]:
        return {}


def contribution_table(items: Sequence[Contribution]) -> pa.Table:
    """Contributions (objects, or rows already) as a table of ``CONTRIBUTIONS``."""
    if isinstance(items, ContributionRows):
        return items.table
    items = list(items)
    return pa.Table.from_pydict({name: [getattr(item, name) for item in items] for name in CONTRIBUTIONS.names},
                                schema=CONTRIBUTIONS)


def contribution_rows(records: Sequence[ResourceMonth]) -> ContributionRows:
    """``register.contributions_of`` over columns: one row per (declaration, key), the records of a declaration for
    a key summed, a declaration received twice counted once, in key order; no object per contribution."""
    if not len(records):
        return ContributionRows(CONTRIBUTIONS.empty_table())
    table = first_copies(records)
    slot_of_digest = slots_of(table)
    table, new_group = grouped(table, ("declaration_digest", *KEY))
    starts = np.flatnonzero(new_group)
    size = np.diff(np.append(starts, table.num_rows))
    columns: dict[str, pa.Array | list] = {}
    for name in AMOUNTS:
        amount, declared = amount_arrays(table.column(name))
        if declared.any() and int(np.abs(amount).max()) * int(size.max()) >= _SAFE:
            return ContributionRows(contribution_table(contributions_of(records)))     # Python's integers
        columns[name] = pa.array(np.add.reduceat(amount, starts), pa.int64(),
                                 mask=~np.logical_or.reduceat(declared, starts))
    first = pa.array(starts)
    for name in (*KEY, "nir"):
        columns[name] = table.column(name).take(first)
    digests = table.column("declaration_digest").take(first)
    columns["digest"] = digests
    columns["slot"] = pa.array([slot_of_digest[digest] for digest in digests.to_pylist()], pa.string())
    causes = table.column("cause").take(first).to_pylist()
    if (size > 1).any():                  # a key of several records: its causes, sorted and joined
        every = table.column("cause").to_pylist()
        for group in np.flatnonzero(size > 1).tolist():
            start = int(starts[group])
            causes[group] = "+".join(sorted(set(every[start:start + int(size[group])])))
    columns["causes"] = pa.array(causes, pa.string())
    payments = table.column("payment_count").combine_chunks().to_numpy(zero_copy_only=False).astype(np.int64)
    columns["payment_count"] = pa.array(np.add.reduceat(payments, starts), pa.int64())
    spans = np.asarray(spanning(table).to_numpy(zero_copy_only=False), dtype=bool)
    columns["spanning"] = pa.array(np.logical_or.reduceat(spans, starts), pa.bool_())
    return ContributionRows(pa.Table.from_arrays([columns[name] for name in CONTRIBUTIONS.names],
                                                 schema=CONTRIBUTIONS))


def joined(before: Sequence, after: Sequence) -> Sequence:
    """Rows of a bucket's table, then more: one rows object of both when both are rows of the same kind (or one is
    empty), else a list of their records."""
    parts = [part for part in (before, after) if len(part)]
    if not parts:
        return after if isinstance(after, ResourceRows) else []
    kind = type(parts[0])
    if issubclass(kind, ResourceRows) and all(type(part) is kind for part in parts):
        return parts[0] if len(parts) == 1 else kind(pa.concat_tables([part.table for part in parts]).combine_chunks())
    return [item for part in parts for item in part]


def first_versions(versions: VersionRows) -> list[tuple[str, int, int]]:
    """(declarant, version, how many) of the first and second versions among ``versions`` (a declarant's months
    first known and first revised)."""
    early = versions.table.filter(pc.less_equal(versions.table.column("version"), 2))
    counted = early.group_by(["declarant_id", "version"], use_threads=False).aggregate([("version", "count")])
    return list(zip(*(counted.column(name).to_pylist() for name in ("declarant_id", "version", "version_count"))))


def unique_contributions(items: Sequence[Contribution]) -> ContributionRows:
    """Each (declaration, key) once (the last given of those received twice, in two tasks), in that order: what a
    bucket merges of what its tasks spilled."""
    table = contribution_table(items)
    if table.num_rows < 2:
        return ContributionRows(table)
    table, new_group = grouped(table, ("digest", *KEY))
    last = _last_of_group(new_group)
    return ContributionRows(table if last.all() else table.filter(pa.array(last)))


def codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    """A text column as (one integer a row, the distinct texts): equal integers for equal texts."""
    if isinstance(column, pa.ChunkedArray):          # one dictionary for all the rows
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def amount_arrays(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """An amount column as (values, 0 where null; whether present)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    present = ~np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(array.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64), present


def merge_columns(*, known: list[Declaration], contributions: Sequence[Contribution],
                  versions: list[ResourceVersion], arriving: list[Declaration],
                  new_contributions: Sequence[Contribution], run_id: str,
                  ) -> tuple[list[Declaration], ContributionRows, VersionRows]:
    """``register.merge`` over columns: the same fresh declarations, added contributions and new versions (in the
    same order), the contributions and versions as rows."""
    fresh = fresh_declarations(known, arriving)
    new = contribution_table(new_contributions)
    fresh_digests = pa.array(sorted({d.digest for d in fresh}), pa.string())
    added = new.filter(pc.is_in(new.column("digest"), value_set=fresh_digests)) if new.num_rows else new
    after = current_declarations(known)
    initial = {slot: declaration.digest for slot, declaration in after.items()}
    steps = list(becoming_current(after, fresh))
    table = pa.concat_tables([contribution_table(contributions), added]).combine_chunks()
    empty = VersionRows(RESOURCE_VERSION.arrow.empty_table())
    if not steps or not table.num_rows:
        return fresh, ContributionRows(added), empty
    found = _versions(table, steps, initial, _Last.of(versions), run_id)
    if found is None:           # amounts too large for int64 sums: the reference, with Python's integers
        _, _, out = merge(known=known, contributions=list(contributions), versions=versions, arriving=arriving,
                          new_contributions=list(ContributionRows(new)), run_id=run_id)
        return fresh, ContributionRows(added), VersionRows(RESOURCE_VERSION.table(out))
    return fresh, ContributionRows(added), VersionRows(found)


class _Keys(NamedTuple):
    """The rows in key order (a key's rows in their order: prior contributions first, as ``register.merge``'s
    by_key), with each row's key and each key's first row and row count."""

    table: pa.Table
    of_row: np.ndarray
    start: np.ndarray
    length: np.ndarray


class _Events(NamedTuple):
    """The (key, step) events in key then step order, and each event against each row of its key (its pairs:
    ``first`` pair of each event, each pair's row and step, whether the row's declaration is current then)."""

    key: np.ndarray
    step: np.ndarray
    first: np.ndarray
    row: np.ndarray
    at: np.ndarray
    live: np.ndarray


def _versions(table: pa.Table, steps: list[tuple[Declaration, Declaration | None]], initial: dict[str, str],
              last: "_Last | None", run_id: str) -> pa.Table | None:
    keys = _by_key(table)
    slot_code, slots = codes(keys.table.column("slot"))
    digest_code, digests = codes(keys.table.column("digest"))
    events = _events(keys, slot_code, slots, digest_code, digests, steps, initial)
    if events is None:
        return RESOURCE_VERSION.arrow.empty_table()
    sums = _sums(keys, events)
    if sums is None:
        return None
    value, has, seen = sums
    emit, number, has_previous = _emitted(keys, events, value, has, seen, last)
    # the contribution of the declaration that became current ("mine"): its causes, and its NIR (else the key's first)
    trigger_digest = np.full(len(steps) + 1, -1, dtype=np.int64)
    digest_index = {digest: index for index, digest in enumerate(digests)}
    for step, (trigger, _) in enumerate(steps, 1):
        trigger_digest[step] = digest_index.get(trigger.digest, -1)
    pairs = len(events.row)
    mine_pair = np.where(digest_code[events.row] == trigger_digest[events.at], np.arange(pairs), pairs)
    first_mine = np.minimum.reduceat(mine_pair, events.first)
    chosen = np.flatnonzero(emit)
    chosen = chosen[np.lexsort((events.key[chosen], events.step[chosen]))]       # step order, then key order
    mine_row = np.where(first_mine[chosen] < pairs, events.row[np.minimum(first_mine[chosen], pairs - 1)], -1)
    return _version_table(keys.table, steps, chosen, events.key[chosen], events.step[chosen], keys.start, mine_row,
                          value[chosen], has[chosen], number[chosen], ~has_previous[chosen], run_id)


class _Last:
    """The last version of each key before the run (the highest number), as arrays: its number, amounts and which
    are declared; found by key without a record built (a bucket's whole history may be read)."""

    def __init__(self, table: pa.Table) -> None:
        table = latest_versions(table)
        self.index = {text: row for row, text in enumerate(key_texts(table).to_pylist())}
        self.number = table.column("version").to_numpy()
        amounts = [amount_arrays(table.column(name)) for name in AMOUNTS]
        self.value = np.stack([values for values, _ in amounts], axis=1)
        self.has = np.stack([present for _, present in amounts], axis=1)

    @classmethod
    def of(cls, versions: Sequence[ResourceVersion]) -> "_Last | None":
        if not len(versions):
            return None
        return cls(versions.table if isinstance(versions, VersionRows) else RESOURCE_VERSION.table(list(versions)))

    def rows_of(self, keys: pa.Table) -> np.ndarray:
        """For each row of ``keys`` (a table with the key's columns), the row of its key's last version, or -1."""
        return np.array([self.index.get(text, -1) for text in key_texts(keys).to_pylist()], dtype=np.int64)


def latest_versions(versions: pa.Table) -> pa.Table:
    """The version of each key with the highest number (``versions``: rows of ``resource_version``), in key order."""
    table, new_key = grouped(versions, KEY, then=("version",))
    return table.filter(pa.array(_last_of_group(new_key)))


def key_texts(table: pa.Table) -> pa.ChunkedArray:
    """Each row's key as one text (its fields joined by a character none of them holds)."""
    return pc.binary_join_element_wise(*(table.column(name) for name in KEY), "\x1f")


def _by_key(table: pa.Table) -> _Keys:
    table, new_key = grouped(table, KEY)
    start = np.flatnonzero(new_key)
    return _Keys(table, np.cumsum(new_key) - 1, start, np.diff(np.append(start, table.num_rows)))


def grouped(table: pa.Table, names: tuple[str, ...], then: tuple[str, ...] = ()) -> tuple[pa.Table, np.ndarray]:
    """The rows sorted by ``names`` (then ``then``; a stable sort: equal rows keep their order), and for each row
    whether it starts a group of equal ``names``."""
    table = table.take(pc.sort_indices(table, [(name, "ascending") for name in (*names, *then)]))
    new_group = np.zeros(table.num_rows, dtype=bool)
    new_group[:1] = True
    for name in names:
        code = codes(table.column(name))[0]
        new_group[1:] |= code[1:] != code[:-1]
    return table, new_group


def _last_of_group(new_group: np.ndarray) -> np.ndarray:
    """For each row, whether it ends its group (the next row starts another, or there is none)."""
    return np.append(new_group[1:], True) if len(new_group) else new_group


def _live(slot_code: np.ndarray, slots: list, digest_code: np.ndarray, digests: list, steps: list,
          initial: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the steps [from, to) over which its declaration is current in its slot (never: empty)."""
    never = len(steps) + 1
    start_of, end_of = {(slot, digest): 0 for slot, digest in initial.items()}, {}
    for step, (trigger, previous) in enumerate(steps, 1):
        if previous is not None:
            end_of[(trigger.slot, previous.digest)] = step
        start_of[(trigger.slot, trigger.digest)] = step
    pairs, pair_of_row = np.unique(slot_code * len(digests) + digest_code, return_inverse=True)
    pair_start = np.full(len(pairs), never, dtype=np.int64)
    pair_end = np.full(len(pairs), never, dtype=np.int64)
    for index, code in enumerate(pairs.tolist()):
        slot, digest = slots[code // len(digests)], digests[code % len(digests)]
        if (slot, digest) in start_of:
            pair_start[index] = start_of[(slot, digest)]
            pair_end[index] = end_of.get((slot, digest), never)
    return pair_start[pair_of_row], pair_end[pair_of_row]


def _events(keys: _Keys, slot_code: np.ndarray, slots: list, digest_code: np.ndarray, digests: list, steps: list,
            initial: dict[str, str]) -> _Events | None:
    """A key has an event at each step of a slot it has a row in; None when no step touches the rows' slots."""
    slot_index = {slot: index for index, slot in enumerate(slots)}
    by_slot: list[list[int]] = [[] for _ in slots]
    for step, (trigger, _) in enumerate(steps, 1):
        index = slot_index.get(trigger.slot)
        if index is not None:
            by_slot[index].append(step)
    slot_steps = np.array([step for its in by_slot for step in its], dtype=np.int64)
    slot_count = np.array([len(its) for its in by_slot], dtype=np.int64)
    slot_first = np.cumsum(slot_count) - slot_count
    per_row = slot_count[slot_code]
    if not per_row.sum():
        return None
    row_of = np.repeat(np.arange(len(slot_code)), per_row)
    within = np.arange(len(row_of)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    span = len(steps) + 1
    code = np.unique(keys.of_row[row_of] * span + slot_steps[slot_first[slot_code[row_of]] + within])
    key, step = code // span, code % span
    per_event = keys.length[key]
    first = np.cumsum(per_event) - per_event
    pair_event = np.repeat(np.arange(len(code)), per_event)
    row = keys.start[key][pair_event] + np.arange(len(pair_event)) - first[pair_event]
    at = step[pair_event]
    live_from, live_to = _live(slot_code, slots, digest_code, digests, steps, initial)
    return _Events(key, step, first, row, at, (live_from[row] <= at) & (at < live_to[row]))


def _sums(keys: _Keys, events: _Events) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Each event's amounts (sums of its key's current rows; 0 where none declares one), which are declared, and
    whether any row is current; None when a sum may leave int64."""
    values, present = [], []
    for name in AMOUNTS:
        amount, declared = amount_arrays(keys.table.column(name))
        if declared.any() and int(np.abs(amount).max()) * int(keys.length.max()) >= _SAFE:
            return None
        counted = events.live & declared[events.row]
        values.append(np.add.reduceat(np.where(counted, amount[events.row], 0), events.first))
        present.append(np.logical_or.reduceat(counted, events.first))
    has = np.stack(present, axis=1)
    return np.where(has, np.stack(values, axis=1), 0), has, np.logical_or.reduceat(events.live, events.first)


def _emitted(keys: _Keys, events: _Events, value: np.ndarray, has: np.ndarray, seen: np.ndarray,
             last: "_Last | None") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which events give a version (amounts changed since the key's previous event or last version; the first
    once something is declared), its number, and whether the key had a version before it."""
    count = len(events.key)
    first_of_key = np.ones(count, dtype=bool)
    first_of_key[1:] = events.key[1:] != events.key[:-1]
    prior_value, prior_has = np.zeros_like(value), np.zeros_like(has)
    prior_exists, prior_number = np.zeros(count, dtype=bool), np.zeros(count, dtype=np.int64)
    if last is not None:
        firsts = np.flatnonzero(first_of_key)
        found = last.rows_of(keys.table.take(pa.array(keys.start[events.key[firsts]])))
        known = found >= 0
        events_known, rows = firsts[known], found[known]
        prior_exists[events_known], prior_number[events_known] = True, last.number[rows]
        prior_has[events_known], prior_value[events_known] = last.has[rows], last.value[rows]
    before_value = np.where(first_of_key[:, None], prior_value, np.roll(value, 1, axis=0))
    before_has = np.where(first_of_key[:, None], prior_has, np.roll(has, 1, axis=0))
    group = np.cumsum(first_of_key) - 1
    group_first = np.flatnonzero(first_of_key)
    seen_through = np.cumsum(seen)
    seen_before = seen_through - seen - (seen_through[group_first] - seen[group_first])[group]
    has_previous = _spread(prior_exists, group, group_first) | (seen_before > 0)
    differs = ((has != before_has) | (has & (value != before_value))).any(axis=1)
    emit = np.where(has_previous, differs, seen)
    emitted_through = np.cumsum(emit)
    number = (_spread(prior_number, group, group_first) + emitted_through
              - (emitted_through[group_first] - emit[group_first])[group])
    return emit, number, has_previous


def _spread(per_first: np.ndarray, group: np.ndarray, group_first: np.ndarray) -> np.ndarray:
    """A value set on the first event of each key, given to every event of that key."""
    return per_first[group_first][group]


def _version_table(table: pa.Table, steps: list, chosen: np.ndarray, keys: np.ndarray, at: np.ndarray,
                   key_start: np.ndarray, mine_row: np.ndarray, value: np.ndarray, has: np.ndarray,
                   number: np.ndarray, first: np.ndarray, run_id: str) -> pa.Table:
    """The versions of the events ``chosen``, as rows of ``resource_version`` (their fields as ``register``'s
    ``_next_version`` gives them)."""
    key_rows = pa.array(key_start[keys])
    person, declarant, nature, month = (table.column(name).take(key_rows) for name in KEY)
    nir_rows = np.where(mine_row >= 0, mine_row, key_start[keys])
    nir = table.column("nir").take(pa.array(nir_rows))
    causes_of_row = table.column("causes").take(pa.array(np.maximum(mine_row, 0))).to_pylist()
    triggers = [steps[step - 1][0] for step in at.tolist()]
    digests = pa.array([trigger.digest for trigger in triggers], pa.string())
    numbers = pa.array(number, pa.int64())
    # a version's id: of its key, its number and the declaration that made it (``register._next_version``)
    ids = [hashlib.sha256(text.encode()).hexdigest()[:24] for text in pc.binary_join_element_wise(
        person, declarant, nature, month, numbers.cast(pa.string()), digests, "|").to_pylist()]
    causes: list[str] = []
    made: dict[tuple, str] = {}
    months = month.to_pylist()
    for step, mine, its_first, its_month in zip(at.tolist(), np.where(mine_row >= 0, causes_of_row, None).tolist(),
                                                first.tolist(), months):
        identity = (step, mine, its_first, its_month)
        cause = made.get(identity)
        if cause is None:
            previous = steps[step - 1][1]
            cause = made[identity] = version_cause(steps[step - 1][0], previous is not None,
                                            _Causes(mine) if mine is not None else None, its_first, its_month).value
        causes.append(cause)
    columns = {name: pa.array(np.where(has[:, index], value[:, index], 0), pa.int64(),
                              mask=~has[:, index]) for index, name in enumerate(AMOUNTS)}
    columns.update(version_id=ids, person_key=person, nir=nir, declarant_id=declarant, nature=nature, month=month,
                   version=numbers, transaction_time=[t.transaction_time for t in triggers], cause=causes,
                   declaration_id=[t.declaration_id for t in triggers], declaration_digest=digests,
                   file=[t.file for t in triggers], first_line=[t.first_line for t in triggers],
                   run_id=[run_id] * len(ids))
    return pa.Table.from_pydict({name: columns[name] for name in RESOURCE_VERSION.arrow.names},
                                schema=RESOURCE_VERSION.arrow)


class _Causes:
    """What ``register._cause`` reads of a contribution: its causes."""

    __slots__ = ("causes",)

    def __init__(self, causes: str) -> None:
        self.causes = causes


__all__ = ["CONTRIBUTIONS", "ContributionRows", "contribution_rows", "contribution_table", "codes",
           "amount_arrays", "first_versions", "joined", "latest_versions", "merge_columns", "unique_contributions"]
