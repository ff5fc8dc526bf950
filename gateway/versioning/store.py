"""The register on disk: append-only Parquet parts, person tables bucketed by person, and a commit log.

    REGISTER/_layout.json                                    {"buckets": N}, fixed when the register is created
    REGISTER/_commits.jsonl                                  one line per committed run (readers see only these)
    REGISTER/declarations/shard=NN/run=<run_id>.parquet      each declaration's slot, rank and arrival, by slot shard
    REGISTER/declarants/run=<run_id>.parquet                 per declarant: months first known / first revised
    REGISTER/versions/bucket=NN/run=<run_id>.parquet         the versions (schema resource_version)
    REGISTER/contributions/bucket=NN/run=<run_id>.parquet    what each declaration said about each key
    REGISTER/mentions/bucket=NN/run=<run_id>.parquet         who each declaration lists (open contracts…)
    REGISTER/frozen/bucket=NN/run=<run_id>.parquet           bases published to liquidation (schema reference_base)
    REGISTER/decisions/bucket=NN/run=<run_id>.parquet        frozen-effects gate decisions (schema gate_decision)
    REGISTER/officer_answers.jsonl                           officers' answers to REVIEW_CAP decisions
    REGISTER/_compacted/<folder>/runs=<digest>.parquet       many runs' parts of a folder in one file
                                                             (gateway.versioning.compaction)

A run writes its parts, then the driver appends its line to ``_commits.jsonl``: parts of a run that
never committed (a crash) are invisible and are overwritten when the run is done again; a committed
run is never written again, so rerunning an old run after later ones changes nothing. A worker merging
one bucket reads only that bucket's parts, and of the declarations only the rows of its people's slots
(registers written before the shards keep their ``declarations/run=<run_id>.parquet`` parts, read
alike). Of a bucket's parts, a run reads the rows of months still open (gateway.versioning.horizon), in
the parts of the runs that wrote such rows (``last_month`` in the commit log), unless it changes a
settled month; the parts of many runs are read from the folder's compacted file. Readable by pyarrow and DuckDB
(``SELECT * FROM 'REGISTER/versions/*/*.parquet'``, filtered on the committed runs). At scale the same
layout maps onto a lake table format (Iceberg or Delta: one append commit per run, partitioned by
person bucket and month; the commit log is the table's snapshot log).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.publish.datasets import bucket_of
from gateway.storage import write_bytes, write_parquet
from gateway.versioning import compaction
from gateway.records import ResourceVersion
from gateway.versioning.register import BucketState, Contribution, Declaration, Mention
from gateway.versioning.horizon import OPEN_ROWS, open_bound
from schemas.records import GATE_DECISION, REFERENCE_BASE, RESOURCE_VERSION, records_of

DEFAULT_BUCKETS = 16
_AMOUNTS = ("net_social_cents", "net_taxable_cents", "net_paid_cents", "gross_cents", "pas_base_cents",
            "pas_amount_cents")
SCHEMAS = {
    "declarations": pa.schema([("slot", pa.string()), ("digest", pa.string()), ("rank", pa.int64()),
                               ("declaration_id", pa.string()), ("declaration_type", pa.string()),
                               ("transaction_time", pa.string()), ("file", pa.string()), ("first_line", pa.int64()),
                               ("first_month", pa.string()), ("buckets", pa.string())]),
    "contributions": pa.schema([("person_key", pa.string()), ("nir", pa.string()), ("declarant_id", pa.string()),
                                ("nature", pa.string()), ("month", pa.string()), ("slot", pa.string()),
                                ("digest", pa.string()), ("causes", pa.string()), ("payment_count", pa.int64()),
                                ("spanning", pa.bool_()), *((name, pa.int64()) for name in _AMOUNTS)]),
    "mentions": pa.schema([("person_key", pa.string()), ("declarant_id", pa.string()), ("month", pa.string()),
                           ("slot", pa.string()), ("digest", pa.string()), ("open_contract", pa.bool_()),
                           ("subrogated_allowance_cents", pa.int64()), ("subrogated_months", pa.string())]),
    "declarants": pa.schema([("declarant_id", pa.string()), ("months_added", pa.int64()),
                             ("months_revised", pa.int64()), ("transaction_time", pa.string())]),
}
RECORDS = {"declarations": Declaration, "contributions": Contribution, "mentions": Mention}


@dataclass(frozen=True)
class Commit:
    run_id: str
    transaction_time: str
    declarations_added: int
    versions_added: int
    # The latest month of any row the run wrote (its own month at least): a run whose rows are all of
    # settled months is not read by later runs. None in registers written before it was kept.
    last_month: str | None = None


def buckets_of(root: Path) -> int:
    layout = root / "_layout.json"
    if layout.exists():
        return int(json.loads(layout.read_text())["buckets"])
    return DEFAULT_BUCKETS


def ensure_layout(root: Path, buckets: int = DEFAULT_BUCKETS) -> int:
    """Create the register folder and fix its bucket count (an existing register keeps its own)."""
    root.mkdir(parents=True, exist_ok=True)
    layout = root / "_layout.json"
    if not layout.exists():
        write_bytes(layout, json.dumps({"buckets": buckets}).encode())
    return buckets_of(root)


def commits(root: Path) -> list[Commit]:
    path = root / "_commits.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                out.append(Commit(**json.loads(line)))
            except (ValueError, TypeError):
                continue                    # a torn last line (crash while appending) is not a commit
    return out


def commit(root: Path, entry: Commit) -> None:
    """Make a run's parts visible: one appended line, flushed to disk."""
    if entry.run_id in {c.run_id for c in commits(root)}:
        return
    with open(root / "_commits.jsonl", "a", encoding="utf-8") as fh:
        fh.write("\n" + json.dumps(entry.__dict__, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _committed_parts(folder: Path, committed: Iterable[str]) -> list[str]:
    runs = set(committed)
    if not folder.exists():
        return []
    return sorted(str(p) for p in folder.glob("run=*.parquet") if p.name[4:-8] in runs)


def _table(files: list[str], where: pc.Expression | None = None) -> pa.Table:
    """Parts read as one table, filtered once over the whole."""
    table = pa.concat_tables([compaction.read_part(path) for path in files], promote_options="default")
    return table if where is None else table.filter(where)


def _read(files: list[str], where: pc.Expression | None = None) -> list[dict]:
    return _table(files, where).to_pylist() if files else []


def _rows_of(root: Path, folder: Path, committed: Iterable[str], where: pc.Expression | None = None,
             visible: Iterable[str] | None = None, bound: tuple[str, str] | None = None) -> pa.Table | None:
    """The rows of ``folder``'s parts of the ``committed`` runs matching ``where``, in part order: through the
    folder's compaction when one is usable by a reader that sees the ``visible`` runs (default: ``committed``);
    None when there is nothing to read. ``bound``: (column, first value) when ``where`` keeps values from there."""
    committed = list(committed)
    compacted = compaction.usable(root, folder, committed if visible is None else visible)
    if compacted is not None:
        return compaction.read(root, folder, compacted, committed, where, bound)
    files = _committed_parts(folder, committed)
    return _table(files, where) if files else None


def shard_of(slot: str, shards: int) -> int:
    """The declarations shard of a slot (slot = flow|declarant|main month|fraction|nature): the same stable
    hash as the person buckets."""
    return bucket_of(slot, shards)


def shard_folder(root: Path, shard: int) -> Path:
    return root / "declarations" / f"shard={shard:02d}"


def load_declarations(root: Path, committed: Iterable[str], *, shards: Iterable[int] | None = None,
                      visible: Iterable[str] | None = None) -> list[Declaration]:
    """Committed declarations: all of them, or those of some shards (with the unsharded parts of older
    registers)."""
    committed = list(committed)
    wanted = range(buckets_of(root)) if shards is None else sorted(set(shards))
    legacy = _committed_parts(root / "declarations", committed)
    tables = [_table(legacy)] if legacy else []
    for shard in wanted:
        found = _rows_of(root, shard_folder(root, shard), committed, visible=visible)
        if found is not None:
            tables.append(found)
    return records_of(pa.concat_tables(tables, promote_options="default"), Declaration) if tables else []


def slot_declared(root: Path, committed: Iterable[str], slot: str) -> bool:
    """Whether a committed run put a declaration of ``slot`` in the register (one shard read, filtered)."""
    if not (root / "declarations").exists():
        return False
    folder = shard_folder(root, shard_of(slot, buckets_of(root)))
    found = _rows_of(root, folder, list(committed), pc.field("slot") == pa.scalar(slot))
    legacy = _committed_parts(root / "declarations", list(committed))
    if found is None and legacy:
        found = _table(legacy, pc.field("slot") == pa.scalar(slot))
    return found is not None and found.num_rows > 0


def load_declarant_rows(root: Path, committed: Iterable[str], declarants: Iterable[str] | None = None,
                        visible: Iterable[str] | None = None) -> list[dict]:
    """Per run and declarant, the months first known and first revised: of every declarant, or of some (read
    with a filter: a bucket needs the rates of its own people's declarants, not the country's)."""
    where = None if declarants is None else pc.field("declarant_id").isin(
        pa.array(sorted(set(declarants)), type=pa.string()))
    found = _rows_of(root, root / "declarants", committed, where, visible)
    return [] if found is None else found.to_pylist()


def _bucket_folder(root: Path, table: str, bucket: int) -> Path:
    return root / table / f"bucket={bucket:02d}"


def _bucket_table(root: Path, table: str, bucket: int, committed: list[str], since: str | None,
                  visible: Iterable[str] | None = None) -> pa.Table | None:
    where = bound = None
    if since is not None:
        bound = open_bound(table, since)                 # the rows gateway.versioning.horizon.within keeps
        where = pc.field(bound[0]) >= pa.scalar(bound[1])
    return _rows_of(root, _bucket_folder(root, table, bucket), committed, where, visible, bound)


def load_bucket(root: Path, bucket: int, committed: Iterable[str], since: str | None = None,
                visible: Iterable[str] | None = None) -> BucketState:
    """A bucket's committed rows: all of them, or (``since``) those of open months only; ``committed`` may
    be a subset of the runs the reader sees (``visible``, default ``committed``): the runs with open rows."""
    committed = list(committed)

    def rows(table: str, records: Callable[[pa.Table], list]) -> list:
        found = _bucket_table(root, table, bucket, committed, since, visible)
        return [] if found is None else records(found)
    return BucketState(contributions=rows("contributions", lambda t: records_of(t, Contribution)),
                       mentions=rows("mentions", lambda t: records_of(t, Mention)),
                       versions=rows("versions", RESOURCE_VERSION.from_table),
                       frozen=rows("frozen", REFERENCE_BASE.from_table),
                       decisions=rows("decisions", GATE_DECISION.from_table))


def plain_table(items: list[Any], table: str) -> pa.Table:
    schema = SCHEMAS[table]
    return pa.Table.from_pydict({name: [getattr(item, name) if not isinstance(item, dict) else item[name]
                                        for item in items] for name in schema.names}, schema=schema)


def write_run_part(root: Path, table: str, run_id: str, items: list[Any], shard: int | None = None) -> None:
    """A run-wide part (declarants), or one shard's (declarations)."""
    folder = root / table if shard is None else root / table / f"shard={shard:02d}"
    write_parquet(folder / f"run={run_id}.parquet", plain_table(items, table))


def write_bucket(root: Path, bucket: int, run_id: str, contributions: list[Contribution], mentions: list[Mention],
                 versions: list[ResourceVersion], frozen: list | None = None, decisions: list | None = None) -> None:
    """One bucket's parts for a run (versions last). Empty tables are not written."""
    contributions = sorted(contributions, key=lambda c: (c.digest, c.key))           # parts are byte-stable
    mentions = sorted(mentions, key=lambda m: (m.digest, m.person_key, m.month))
    for table, items in (("contributions", contributions), ("mentions", mentions)):
        if items:
            write_parquet(_bucket_folder(root, table, bucket) / f"run={run_id}.parquet", plain_table(items, table))
    for table, schema, items in (("frozen", REFERENCE_BASE, frozen), ("decisions", GATE_DECISION, decisions)):
        if items:
            write_parquet(_bucket_folder(root, table, bucket) / f"run={run_id}.parquet", schema.table(items))
    if versions:
        ordered = sorted(versions, key=lambda v: (v.month, v.person_key, v.declarant_id, v.nature, v.version))
        write_parquet(_bucket_folder(root, "versions", bucket) / f"run={run_id}.parquet", RESOURCE_VERSION.table(ordered))


BUCKET_TABLES = ("contributions", "mentions", "versions", "frozen", "decisions")


def compact_bucket(root: Path, bucket: int, runs: Iterable[str], every: int = compaction.COMPACT_EVERY) -> None:
    """Compact a bucket's tables over ``runs`` (gateway.versioning.compaction), rows stored by open month."""
    runs = list(runs)
    for table in BUCKET_TABLES:
        compaction.compact(root, _bucket_folder(root, table, bucket), runs, every=every, order=OPEN_ROWS[table][0])


def compact_folder(root: Path, folder: Path, runs: Iterable[str], every: int = compaction.COMPACT_EVERY) -> None:
    """Compact a run-wide folder (declarants) or a declarations shard."""
    compaction.compact(root, folder, runs, every=every)


def load_all(root: Path, table: str) -> list[dict]:
    """Every committed row of a bucketed table, as dicts."""
    committed = [c.run_id for c in commits(root)]
    files = [f for b in range(buckets_of(root)) for f in _committed_parts(_bucket_folder(root, table, b), committed)]
    return _read(files)


def load_run(root: Path, table: str, run_id: str) -> list[dict]:
    """The rows one run added to a bucketed table (its own parts only), as dicts."""
    return _read([str(path) for bucket in range(buckets_of(root))
                  if (path := _bucket_folder(root, table, bucket) / f"run={run_id}.parquet").exists()])


def pending_buckets(root: Path, committed: Iterable[str], since: str | None = None,
                    visible: Iterable[str] | None = None) -> tuple[int, ...]:
    """Buckets whose latest gate decision on some base (of open months, with ``since``) is PENDING (held or
    waiting for an officer)."""
    if not (root / "decisions").exists():
        return ()
    committed = list(committed)
    out = []
    for bucket in range(buckets_of(root)):
        latest: dict[tuple, tuple[str, str]] = {}
        found = _bucket_table(root, "decisions", bucket, committed, since, visible)
        for row in [] if found is None else found.select(["person_key", "benefit", "reference_month", "as_of",
                                                           "status"]).to_pylist():
            key = (row["person_key"], row["benefit"], row["reference_month"])
            if key not in latest or row["as_of"] >= latest[key][0]:
                latest[key] = (row["as_of"], row["status"])
        if any(status == "PENDING" for _, status in latest.values()):
            out.append(bucket)
    return tuple(out)


def load_all_versions(root: Path) -> list[ResourceVersion]:
    """Every committed version (the ``history`` command and as-of queries over all people)."""
    return [RESOURCE_VERSION.from_row(row) for row in load_all(root, "versions")]


__all__ = ["BUCKET_TABLES", "BucketState", "Commit", "DEFAULT_BUCKETS", "buckets_of", "commit", "commits", "ensure_layout",
           "compact_bucket", "compact_folder", "load_all", "load_all_versions", "load_run", "pending_buckets", "load_bucket", "load_declarant_rows", "load_declarations",
           "shard_folder", "shard_of", "write_bucket", "write_run_part"]
