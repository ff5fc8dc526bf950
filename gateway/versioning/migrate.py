"""Converting a register written before the Delta tables (Parquet parts and a ``_commits.jsonl``) in place.

The earlier register kept each run's rows in ``<table>/bucket=NN/run=<run_id>.parquet`` (declarations by shard,
or in one ``declarations/run=<run_id>.parquet`` in still older registers), made them visible by a line in
``_commits.jsonl``, compacted them under ``_compacted`` and kept officers' answers in ``officer_answers.jsonl``. The migration rewrites every part of a committed run
with the columns the tables now carry (the run and each row's position; columns an older part lacks are
added empty), splits unsharded declarations by shard, then commits the runs one by one, in their order, as the
pipeline commits a run (gateway.versioning.store.commit): each run becomes one version of each table it
wrote, so the tables' history follows the runs'. Officers' answers go into the ``answers`` table. The commit log and
the answers file are kept as ``*.migrated``;
the compacted copies are removed (they only repeated the parts). An interrupted migration is run again: a
part already rewritten and a run already committed are left as they are.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.errors import ConfigurationError
from gateway.storage import write_parquet
from gateway.versioning import store

LEGACY_COMMITS = "_commits.jsonl"
LEGACY_ANSWERS = "officer_answers.jsonl"


@dataclass(frozen=True)
class Migrated:
    runs: int
    parts: int
    rows: int


def is_legacy(root: Path) -> bool:
    """Whether ``root`` is a register of the earlier layout, not converted yet."""
    return (root / LEGACY_COMMITS).exists()


def _legacy_commits(root: Path) -> list[store.Commit]:
    out = []
    for line in (root / LEGACY_COMMITS).read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(store.Commit(**json.loads(line)))
            except (ValueError, TypeError):
                continue                    # a torn last line (crash while appending) was never a commit
    return out


def _conformed(table: pa.Table, name: str, run_id: str) -> pa.Table:
    """A legacy part in the table's file schema: missing columns empty, the run and row positions added."""
    schema = store.SCHEMAS[name]
    columns = [table.column(field.name).cast(field.type) if field.name in table.column_names
               else pa.nulls(table.num_rows, field.type) for field in schema]
    return store.tagged(pa.Table.from_arrays(columns, schema=schema), name, run_id)


def _rewrite(path: Path, name: str, run_id: str) -> int:
    """A committed run's part rewritten in place with the table's columns (once: a rewritten part is kept)."""
    table = pq.read_table(path)
    if store.RUN in table.column_names:
        return 0
    write_parquet(path, _conformed(table, name, run_id))
    return table.num_rows


def _split_declarations(root: Path, run_id: str, buckets: int) -> int:
    """Still older registers kept a run's declarations in one part: split by shard of their slot."""
    path = root / "declarations" / f"run={run_id}.parquet"
    if not path.exists():
        return 0
    table = pq.read_table(path)
    shards = pa.array([store.shard_of(slot, buckets) for slot in table.column("slot").to_pylist()], pa.int32())
    for shard in sorted(set(shards.to_pylist())):
        part = root / "declarations" / f"shard={shard:02d}" / f"run={run_id}.parquet"
        write_parquet(part, _conformed(table.filter(pc.equal(shards, shard)), "declarations", run_id))
    path.unlink()
    return table.num_rows


def _answers(root: Path) -> None:
    """Officers' answers kept one JSON object a line: into the register's ``answers`` table, in their order."""
    path = root / LEGACY_ANSWERS
    if not path.exists():
        return
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:
            row = None                              # a torn last line was never an answer
        if isinstance(row, dict):
            rows.append({name: row.get(name) for name in store.ANSWERS_SCHEMA.names})
    if rows and not store.answers(root):
        store.add_answers(root, rows)
    path.rename(root / f"{LEGACY_ANSWERS}.migrated")


def migrate(root: Path) -> Migrated:
    """Convert the register at ``root`` to Delta tables; refused when it is not a register of the earlier
    layout."""
    if not is_legacy(root):
        raise ConfigurationError(f"no register to convert @ {root}: expected a register folder with "
                                 f"{LEGACY_COMMITS} (written before the Delta tables)")
    runs = _legacy_commits(root)
    buckets = store.buckets_of(root)
    parts = rows = 0
    for entry in runs:
        rows += _split_declarations(root, entry.run_id, buckets)
        for name, column in store.PARTITION.items():
            folder = root / name
            found = [folder / f"run={entry.run_id}.parquet"] if column is None else \
                sorted(folder.glob(f"{column}=*/run={entry.run_id}.parquet"))
            for path in (p for p in found if p.exists()):
                parts += 1
                rows += _rewrite(path, name, entry.run_id)
    store.ensure_layout(root, buckets, people_per_bucket=None)      # its count, fixed
    for entry in runs:
        store.commit(root, entry)
    _answers(root)
    shutil.rmtree(root / "_compacted", ignore_errors=True)
    (root / LEGACY_COMMITS).rename(root / f"{LEGACY_COMMITS}.migrated")
    return Migrated(runs=len(runs), parts=parts, rows=rows)


__all__ = ["Migrated", "is_legacy", "migrate"]
