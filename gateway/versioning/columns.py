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
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.records import ResourceVersion, VersionCause
from gateway.records import ResourceMonth
from gateway.versioning.register import (AMOUNTS, Contribution, Declaration, _cause, _fresh, _last_versions,
                                         becoming_current, contributions_of, current_declarations, first_copies, merge,
                                         slots_of, spanning)
from schemas.records import RESOURCE_VERSION, ResourceRows, VersionRows, records_of

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
    table = table.take(pc.sort_indices(table, [(name, "ascending") for name in ("declaration_digest", *KEY)]))
    rows = table.num_rows
    new_group = np.zeros(rows, dtype=bool)
    new_group[0] = True
    for name in ("declaration_digest", *KEY):
        code = _codes(table.column(name))[0]
        new_group[1:] |= code[1:] != code[:-1]
    starts = np.flatnonzero(new_group)
    size = np.diff(np.append(starts, rows))
    columns: dict[str, pa.Array | list] = {}
    for name in AMOUNTS:
        amount, declared = _amount(table.column(name))
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


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    """A text column as (one integer a row, the distinct texts): equal integers for equal texts."""
    if isinstance(column, pa.ChunkedArray):          # one dictionary for all the rows
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _amount(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
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
    fresh = _fresh(known, arriving)
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
    found = _versions(table, steps, initial, _last_versions(versions), run_id)
    if found is None:           # amounts too large for int64 sums: the reference, with Python's integers
        _, _, out = merge(known=known, contributions=list(contributions), versions=versions, arriving=arriving,
                          new_contributions=list(ContributionRows(new)), run_id=run_id)
        return fresh, ContributionRows(added), VersionRows(RESOURCE_VERSION.table(out))
    return fresh, ContributionRows(added), VersionRows(found)


def _versions(table: pa.Table, steps: list[tuple[Declaration, Declaration | None]], initial: dict[str, str],
              last: dict[tuple, ResourceVersion], run_id: str) -> pa.Table | None:
    # the rows in key order, a key's rows in their order (prior contributions first: ``register.merge``'s by_key)
    order = pc.sort_indices(table, [(name, "ascending") for name in KEY])
    table = table.take(order)
    rows = table.num_rows
    codes = [_codes(table.column(name))[0] for name in KEY]
    new_key = np.zeros(rows, dtype=bool)
    new_key[0] = True
    for code in codes:
        new_key[1:] |= code[1:] != code[:-1]
    key_of_row = np.cumsum(new_key) - 1
    key_start = np.flatnonzero(new_key)
    key_length = np.diff(np.append(key_start, rows))
    slot_code, slots = _codes(table.column("slot"))
    digest_code, digests = _codes(table.column("digest"))
    # each (slot, digest) of the rows: the steps it is current over, [start, end)
    count = len(steps)
    never = count + 1
    start_of, end_of = {}, {}
    for slot, digest in initial.items():
        start_of[(slot, digest)] = 0
    for step, (trigger, previous) in enumerate(steps, 1):
        if previous is not None:
            end_of[(trigger.slot, previous.digest)] = step
        start_of[(trigger.slot, trigger.digest)] = step
    pair = slot_code * len(digests) + digest_code
    pairs, pair_of_row = np.unique(pair, return_inverse=True)
    pair_start = np.full(len(pairs), never, dtype=np.int64)
    pair_end = np.full(len(pairs), never, dtype=np.int64)
    for index, code in enumerate(pairs.tolist()):
        slot, digest = slots[code // len(digests)], digests[code % len(digests)]
        if (slot, digest) in start_of:
            pair_start[index] = start_of[(slot, digest)]
            pair_end[index] = end_of.get((slot, digest), never)
    live_from, live_to = pair_start[pair_of_row], pair_end[pair_of_row]
    # the steps of each slot of the rows, in order: a key has an event at each step of a slot it has a row in
    slot_index = {slot: index for index, slot in enumerate(slots)}
    by_slot: list[list[int]] = [[] for _ in slots]
    for step, (trigger, _) in enumerate(steps, 1):
        index = slot_index.get(trigger.slot)
        if index is not None:
            by_slot[index].append(step)
    slot_steps = np.array([step for its in by_slot for step in its], dtype=np.int64)
    slot_count = np.array([len(its) for its in by_slot], dtype=np.int64)
    slot_first = np.concatenate(([0], np.cumsum(slot_count)[:-1])).astype(np.int64)
    per_row = slot_count[slot_code]
    if not per_row.sum():
        return RESOURCE_VERSION.arrow.empty_table()
    row_of = np.repeat(np.arange(rows), per_row)
    within = np.arange(len(row_of)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    event_code = np.unique(key_of_row[row_of] * (count + 1) + slot_steps[slot_first[slot_code[row_of]] + within])
    event_key, event_step = event_code // (count + 1), event_code % (count + 1)
    events = len(event_code)
    # each event against each row of its key
    per_event = key_length[event_key]
    event_first = np.cumsum(per_event) - per_event
    pair_event = np.repeat(np.arange(events), per_event)
    pair_row = key_start[event_key][pair_event] + np.arange(len(pair_event)) - event_first[pair_event]
    step_of_pair = event_step[pair_event]
    live = (live_from[pair_row] <= step_of_pair) & (step_of_pair < live_to[pair_row])
    values, present = [], []
    for name in AMOUNTS:
        amount, declared = _amount(table.column(name))
        if declared.any() and int(np.abs(amount).max()) * int(key_length.max()) >= _SAFE:
            return None
        counted = live & declared[pair_row]
        values.append(np.add.reduceat(np.where(counted, amount[pair_row], 0), event_first))
        present.append(np.logical_or.reduceat(counted, event_first))
    value, has = np.stack(values, axis=1), np.stack(present, axis=1)
    seen = np.logical_or.reduceat(live, event_first)
    value = np.where(has, value, 0)
    # what each event compares with: the event before in its key, or the key's last version before the run
    first_of_key = np.ones(events, dtype=bool)
    first_of_key[1:] = event_key[1:] != event_key[:-1]
    prior_value = np.zeros_like(value)
    prior_has = np.zeros_like(has)
    prior_exists = np.zeros(events, dtype=bool)
    prior_number = np.zeros(events, dtype=np.int64)
    if last:
        key_texts = [table.column(name).take(pa.array(key_start)).to_pylist() for name in KEY]
        for event in np.flatnonzero(first_of_key).tolist():
            version = last.get(tuple(texts[event_key[event]] for texts in key_texts))
            if version is not None:
                prior_exists[event] = True
                prior_number[event] = version.version
                amounts = version.amounts
                prior_has[event] = [item is not None for item in amounts]
                prior_value[event] = [item or 0 for item in amounts]
    before_value = np.where(first_of_key[:, None], prior_value, np.roll(value, 1, axis=0))
    before_has = np.where(first_of_key[:, None], prior_has, np.roll(has, 1, axis=0))
    group = np.cumsum(first_of_key) - 1
    group_first = np.flatnonzero(first_of_key)
    seen_through = np.cumsum(seen)
    seen_before = seen_through - seen - (seen_through[group_first] - seen[group_first])[group]
    exists = _spread(prior_exists, group, group_first)
    has_previous = exists | (seen_before > 0)
    differs = ((has != before_has) | (has & (value != before_value))).any(axis=1)
    emit = np.where(has_previous, differs, seen)
    emitted_through = np.cumsum(emit)
    number = (_spread(prior_number, group, group_first) + emitted_through
              - (emitted_through[group_first] - emit[group_first])[group])
    # the contribution of the declaration that became current ("mine"): its causes, and its NIR (else the key's first)
    trigger_digest = np.full(count + 1, -1, dtype=np.int64)
    digest_index = {digest: index for index, digest in enumerate(digests)}
    for step, (trigger, _) in enumerate(steps, 1):
        trigger_digest[step] = digest_index.get(trigger.digest, -1)
    mine_pair = np.where(digest_code[pair_row] == trigger_digest[step_of_pair], np.arange(len(pair_row)),
                         len(pair_row))
    first_mine = np.minimum.reduceat(mine_pair, event_first)
    chosen = np.flatnonzero(emit)
    chosen = chosen[np.lexsort((event_key[chosen], event_step[chosen]))]       # step order, then key order
    mine_row = np.where(first_mine[chosen] < len(pair_row),
                        pair_row[np.minimum(first_mine[chosen], len(pair_row) - 1)], -1)
    return _version_table(table, steps, chosen, event_key[chosen], event_step[chosen], key_start, mine_row,
                          value[chosen], has[chosen], number[chosen], ~has_previous[chosen], run_id)


def _spread(per_first: np.ndarray, group: np.ndarray, group_first: np.ndarray) -> np.ndarray:
    """A value set on the first event of each key, given to every event of that key."""
    return per_first[group_first][group]


def _version_table(table: pa.Table, steps: list, chosen: np.ndarray, keys: np.ndarray, at: np.ndarray,
                   key_start: np.ndarray, mine_row: np.ndarray, value: np.ndarray, has: np.ndarray,
                   number: np.ndarray, first: np.ndarray, run_id: str) -> pa.Table:
    """The versions of the events ``chosen``, as rows of ``resource_version`` (their fields as ``register``'s
    ``_next_version`` gives them)."""
    key_rows = pa.array(key_start[keys])
    person, declarant, nature, month = (table.column(name).take(key_rows).to_pylist() for name in KEY)
    nir_rows = np.where(mine_row >= 0, mine_row, key_start[keys])
    nir = table.column("nir").take(pa.array(nir_rows)).to_pylist()
    causes_of_row = table.column("causes").take(pa.array(np.maximum(mine_row, 0))).to_pylist()
    numbers, steps_at = number.tolist(), at.tolist()
    ids, causes = [], []
    made: dict[tuple, str] = {}
    for index, step in enumerate(steps_at):
        trigger, previous = steps[step - 1]
        ids.append(hashlib.sha256(f"{person[index]}|{declarant[index]}|{nature[index]}|{month[index]}|"
                                  f"{numbers[index]}|{trigger.digest}".encode()).hexdigest()[:24])
        mine = causes_of_row[index] if mine_row[index] >= 0 else None
        identity = (step, mine, bool(first[index]), month[index])
        cause = made.get(identity)
        if cause is None:
            cause = made[identity] = _cause(trigger, previous is not None, _Causes(mine) if mine is not None else None,
                                            bool(first[index]), month[index]).value
        causes.append(cause)
    triggers = [steps[step - 1][0] for step in steps_at]
    columns = {name: pa.array(np.where(has[:, index], value[:, index], 0), pa.int64(),
                              mask=~has[:, index]) for index, name in enumerate(AMOUNTS)}
    columns.update(version_id=ids, person_key=person, nir=nir, declarant_id=declarant, nature=nature, month=month,
                   version=numbers, transaction_time=[t.transaction_time for t in triggers], cause=causes,
                   declaration_id=[t.declaration_id for t in triggers], declaration_digest=[t.digest for t in triggers],
                   file=[t.file for t in triggers], first_line=[t.first_line for t in triggers],
                   run_id=[run_id] * len(ids))
    return pa.Table.from_pydict({name: columns[name] for name in RESOURCE_VERSION.arrow.names},
                                schema=RESOURCE_VERSION.arrow)


class _Causes:
    """What ``register._cause`` reads of a contribution: its causes."""

    __slots__ = ("causes",)

    def __init__(self, causes: str) -> None:
        self.causes = causes


def versions_of(rows: VersionRows) -> list[ResourceVersion]:
    return records_of(rows.table, ResourceVersion, RESOURCE_VERSION.enum_fields)


__all__ = ["CONTRIBUTIONS", "ContributionRows", "contribution_rows", "contribution_table", "merge_columns"]
