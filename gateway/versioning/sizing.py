"""How many person buckets the register has: a function of its size, not a constant.

A bucket is the register stage's unit of work (one worker reads its rows, merges, derives flags, bases and the
gate) and of storage (one partition of each person table, one shard of the declarations). A run pays a fixed
cost per bucket it touches (~50 ms here: five table scans, five files written) plus the rows of its people: a
small arrival into a register of few, big buckets reads little more than into an empty one, while a large
register needs many buckets so that a small arrival does not read most of it (README: "Register size").

- A new register takes its count from its first run's people: ``first_buckets`` (the distinct NIRs the inventory
  estimated: ``gateway.inputs.people_estimate``; without any, its input bytes → people).
- After its first run and every ``store.COMPACT_EVERY`` runs (``refit``, after the run's commit), the count is
  set to ``buckets_for(people)``: the smallest power of two whose buckets hold at most ``people_per_bucket``
  people each, as soon as buckets hold more, or once they hold less than a quarter of it. Powers of two: doubling splits each bucket in two (a person's bucket is a hash modulo the count),
  halving joins pairs, so that a resize reads and writes one group of buckets at a time.
- ``resize`` rewrites every person table (and the declarations, sharded with the same count) in one Delta
  commit per table; the layout names the resize under way first (``resizing``) and each table's commit carries
  an application transaction, so that a resize stopped half-way (a crash) is finished by the next run
  (``resume``) and none of its tables is rewritten twice. Rows keep their run (``_run``); their position
  (``_row``) is renumbered per run within the new bucket, in their earlier order, so that a bucket's rows come
  back in the same order as before for each person.
- A register created with ``--buckets N`` keeps N (fixed); ``drm-gateway register resize`` changes either.
"""
from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from gateway.faults import checkpoint
from gateway.publish.datasets import bucket_count, bucket_of
from gateway.versioning import store

PEOPLE_PER_BUCKET = store.PEOPLE_PER_BUCKET     # people a bucket holds at most (README: "Register size")
MAX_BUCKETS = 4096
# A new register's first run: its input bytes per person. A person-month is ~1,900-2,300 bytes (bench flows); a
# first run is often a history load of several months: 5,000 bytes a person. A single month is then under-estimated
# 2.5× (buckets of ~2,500 people until the refit after the run), a 5-month load over-estimated 2× (twice the buckets).
BYTES_PER_PERSON = 5000
_RESIZE_APP = "drm-gateway/resize"
_TABLES = ("declarations", *store.BUCKET_TABLES)


def buckets_for(people: int, people_per_bucket: int = PEOPLE_PER_BUCKET) -> int:
    """The smallest power of two whose buckets hold at most ``people_per_bucket`` of ``people`` each."""
    return bucket_count(people, people_per_bucket, MAX_BUCKETS)


def run_people(input_bytes: int, people: int = 0) -> int:
    """A run's people before it is read: the distinct NIRs the inventory estimated
    (``gateway.inputs.people_estimate``), else its input size over BYTES_PER_PERSON."""
    return people or input_bytes // BYTES_PER_PERSON


def first_buckets(input_bytes: int, people_per_bucket: int = PEOPLE_PER_BUCKET, people: int = 0) -> int:
    """A new register's count, from its first run's people (``run_people``; corrected by ``fit`` once that run is
    committed)."""
    return buckets_for(run_people(input_bytes, people), people_per_bucket)


def people_of(root: Path | str) -> int:
    """The people the register holds (with a version): counted bucket by bucket (a person is in one bucket)."""
    committed = {c.run_id for c in store.commits(root)}
    total = 0
    for partition, uris in store.table_files(root, "versions").items():
        rows = store.read_files(root, "versions", uris, columns=["person_key", store.RUN])
        kept = rows.filter(pc.is_in(rows.column(store.RUN), pa.array(sorted(committed), pa.string())))
        total += len(pc.unique(kept.column("person_key")))
    return total


def fit(root: Path | str, *, exact: bool = False) -> int | None:
    """Resize an auto-sized register to the count its size asks for: at once when its buckets hold too many
    people, when they hold less than a quarter of what they could (a first run's estimate within 4× is kept: a
    rewrite of everything costs more than a few extra buckets); ``exact``: whenever the count differs. Returns
    the new count (None: unchanged)."""
    layout = store.layout_of(root)
    per_bucket = layout.get("people_per_bucket")
    if not per_bucket:
        return None
    wanted, current = buckets_for(people_of(root), per_bucket), int(layout["buckets"])
    if wanted == current or not (exact or wanted > current or wanted * 4 <= current):
        return None
    resize(root, wanted)
    return wanted


def refit(root: Path | str, every: int = store.COMPACT_EVERY, count: int | None = None) -> int | None:
    """After a run's commit: ``fit`` after the register's first run and every ``every`` runs (``count``: the
    committed runs, when the caller knows it)."""
    count = len(store.commits(root)) if count is None else count
    return fit(root) if count == 1 or (every and count and count % every == 0) else None


def resume(root: Path | str) -> bool:
    """Finish a resize a crash stopped half-way (a run does this first); whether there was one."""
    target = store.layout_of(root).get("resizing")
    if target is None:
        return False
    resize(root, int(target))
    return True


def resize(root: Path | str, buckets: int) -> None:
    """Re-partition the register's person tables and declaration shards into ``buckets`` (see the module)."""
    layout = store.layout_of(root)
    if "resizing" in layout and int(layout["resizing"]) != buckets:
        resume(root)
        layout = store.layout_of(root)
    if int(layout["buckets"]) == buckets and "resizing" not in layout:
        return
    if "resizing" not in layout:
        layout = {**layout, "resizing": buckets, "generation": int(layout.get("generation", 0)) + 1}
        store.write_layout(root, layout)
    listed = _declarations_buckets(root, buckets)
    for table in _TABLES:
        _rewrite(root, table, int(layout["buckets"]), buckets, int(layout["generation"]), listed)
        checkpoint("resize")
    store.write_layout(root, {key: value for key, value in {**layout, "buckets": buckets}.items()
                              if key != "resizing"})


def _declarations_buckets(root: Path | str, buckets: int) -> dict[str, str]:
    """Declaration digest -> the person buckets (of the new count) of the people it lists, as the ``buckets``
    column writes them: from the contributions and mentions, partition by partition."""
    found: dict[str, set[int]] = {}
    for table in ("contributions", "mentions"):
        for uris in store.table_files(root, table).values():
            rows = store.read_files(root, table, uris, columns=["digest", "person_key"])
            for digest, person in zip(rows.column("digest").to_pylist(), rows.column("person_key").to_pylist()):
                found.setdefault(digest, set()).add(bucket_of(person, buckets))
    return {digest: " ".join(f"{number:02d}" for number in sorted(numbers)) for digest, numbers in found.items()}


def _rewrite(root: Path | str, table: str, old: int, new: int, generation: int, listed: dict[str, str]) -> None:
    """One table's rows in ``new`` partitions, committed in one Delta transaction replacing all its files."""
    from deltalake import CommitProperties, Transaction
    delta = store.open_table(root, table)
    if delta is None or delta.transaction_version(_RESIZE_APP) == generation:
        return                                          # no such table, or already rewritten by this resize
    column = store.PARTITION[table]
    groups = math.gcd(old, new)                 # old partition p holds rows of new partitions q with q ≡ p (mod groups)
    files = store.table_files(root, table)
    added = []
    for group in range(groups):
        parts = [_tagged_partition(root, table, partition, uris) for partition, uris in sorted(files.items())
                 if partition is not None and partition % groups == group]
        if parts:
            added += _write_group(root, table, pa.concat_tables(parts), new, generation, listed)
    delta.create_write_transaction(added, mode="overwrite", schema=store.table_schema(table), partition_by=[column],
                                   commit_properties=CommitProperties(
                                       app_transactions=[Transaction(_RESIZE_APP, generation)]))


_OLD = "_old_partition"


def _tagged_partition(root: Path | str, table: str, partition: int, uris: list[str]) -> pa.Table:
    rows = store.read_files(root, table, uris)
    return rows.append_column(_OLD, pa.array([partition] * rows.num_rows, pa.int64()))


def _write_group(root: Path | str, table: str, rows: pa.Table, new: int, generation: int,
                 listed: dict[str, str]) -> list:
    """The files of one group of new partitions; their add actions."""
    if table == "declarations":
        slots = rows.column("slot").to_pylist()
        partitions = [store.shard_of(slot, new) for slot in slots]
        buckets = [value if value is None else listed.get(digest, "")
                   for value, digest in zip(rows.column("buckets").to_pylist(), rows.column("digest").to_pylist())]
        rows = rows.set_column(rows.schema.get_field_index("buckets"), "buckets", pa.array(buckets, pa.string()))
    else:
        partitions = [bucket_of(person, new) for person in rows.column("person_key").to_pylist()]
    rows = rows.append_column("_new", pa.array(partitions, pa.int64()))
    actions = []
    for partition in sorted(set(partitions)):
        mine = rows.filter(pc.equal(rows.column("_new"), partition)).sort_by(
            [(store.RUN, "ascending"), (_OLD, "ascending"), (store.ROW, "ascending")])
        runs = mine.column(store.RUN).to_pylist()
        positions, seen = [], {}
        for run_id in runs:                                 # position within the run's rows of the new bucket
            positions.append(seen.get(run_id, 0))
            seen[run_id] = positions[-1] + 1
        mine = mine.set_column(mine.schema.get_field_index(store.ROW), store.ROW, pa.array(positions, pa.int64()))
        actions.append(store.write_file(root, table, f"resize-{generation}", partition,
                                        mine.select(store.file_schema(table).names)))
    return actions


__all__ = ["BYTES_PER_PERSON", "MAX_BUCKETS", "PEOPLE_PER_BUCKET", "buckets_for", "first_buckets", "fit", "run_people",
           "people_of", "refit", "resize", "resume"]
