"""The people each declaration lists (``register.Mention``), held as columns of the register's ``mentions`` table
from an outcome to the register's files: ``register.mentions_of`` and ``register.fresh_mentions`` are their
references (tests/gateway/versioning/test_mentions.py compares them). Records are built only for whoever reads
the rows one by one (a bucket's people, ``gateway.versioning.view``)."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.records import Outcome
from gateway.versioning.register import Mention, summary_slot
from schemas.records import ResourceRows, items_table

MENTIONS = pa.schema([("person_key", pa.string()), ("declarant_id", pa.string()), ("month", pa.string()),
                      ("slot", pa.string()), ("digest", pa.string()), ("open_contract", pa.bool_()),
                      ("subrogated_allowance_cents", pa.int64()), ("subrogated_months", pa.string())])


class MentionRows(ResourceRows):
    """Mentions held as columns of ``MENTIONS``. Many of them (a task's spill to its buckets of a declaration listing
    200,000 people) are pickled with the columns that repeat a declaration's values (declarant, month, slot,
    digest) as dictionaries: ~10 MB of them, not ~35 MB; a few hundred, as they are (packing costs more than it
    saves there, a bucket's segment at a time)."""

    record_type = Mention

    @classmethod
    def enum_fields(cls) -> dict[str, type]:
        return {}

    @classmethod
    def packed(cls, table: pa.Table) -> pa.Table:
        if table.num_rows < PACK_FROM:
            return table
        for name in _REPEATED:
            at = table.schema.get_field_index(name)
            if not pa.types.is_dictionary(table.schema.field(at).type):      # a task's are packed once, then split
                table = table.set_column(at, name, pc.dictionary_encode(table.column(name)))
        return table

    @classmethod
    def unpacked(cls, table: pa.Table) -> pa.Table:
        return table.cast(MENTIONS) if any(pa.types.is_dictionary(field.type) for field in table.schema) else table


PACK_FROM = 10_000           # rows from which mentions are pickled packed
_REPEATED = ("declarant_id", "month", "slot", "digest")       # a declaration's own values, on each of its rows


def mention_table(items: Sequence[Mention] | Iterable[dict]) -> pa.Table:
    """Mentions (records or dicts, or rows already) as a table of ``MENTIONS``."""
    if isinstance(items, MentionRows):
        return items.table
    return items_table(items, MENTIONS)


def mention_rows(outcome: Outcome) -> MentionRows:
    """``register.mentions_of`` over columns: the people each accepted declaration of an outcome lists (with a main
    month), declaration by declaration in their order, no object per person listed."""
    columns: dict[str, list] = {name: [] for name in MENTIONS.names}
    for summary in outcome.summaries:
        people = summary.people
        if not summary.main_month or not people:
            continue
        count = len(people)
        for name, value in (("declarant_id", summary.declarant_id), ("month", summary.main_month),
                            ("slot", summary_slot(summary)), ("digest", summary.digest)):
            columns[name].extend([value] * count)
        for name in ("person_key", "open_contract", "subrogated_allowance_cents", "subrogated_months"):
            columns[name].extend([getattr(person, name) for person in people])
    return MentionRows(pa.Table.from_pydict(columns, schema=MENTIONS))


def listed_order(table: pa.Table) -> pa.Table:
    """Mentions by declaration, person and month (ties in their order: Arrow's sorts are stable), as a run's are
    written."""
    return table.take(pc.sort_indices(table, [(name, "ascending") for name in ("digest", "person_key", "month")]))


def fresh_mention_rows(mentions: Sequence[Mention], fresh_digests: Iterable[str]) -> MentionRows:
    """``register.fresh_mentions`` over columns: of ``mentions``, those of the declarations a run adds to the
    register, by declaration, person and month, each (declaration, person) once (its first in that order)."""
    table = mention_table(mentions)
    table = table.filter(pc.is_in(table.column("digest"), pa.array(sorted(set(fresh_digests)), pa.string())))
    if not table.num_rows:
        return MentionRows(MENTIONS.empty_table())
    table = listed_order(table)
    digest, person = (table.column(name).combine_chunks() for name in ("digest", "person_key"))
    first = np.ones(table.num_rows, dtype=bool)
    if table.num_rows > 1:
        same = pc.and_(pc.equal(digest[1:], digest[:-1]), pc.equal(person[1:], person[:-1]))
        first[1:] = ~same.to_numpy(zero_copy_only=False)
    return MentionRows(table.filter(pa.array(first)).combine_chunks())
