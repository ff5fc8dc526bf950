"""The register on disk: one Delta Lake table per kind of row, bucketed by person, with a table of runs.

    REGISTER/_layout.json                                  {"buckets": N, ...}: the person buckets (sizing.py)
    REGISTER/runs/                                         one row per committed run (readers see only these)
    REGISTER/declarations/   partitioned by shard          each declaration's slot, rank and arrival
    REGISTER/declarants/                                   per declarant and run: months first known / revised
    REGISTER/versions/       partitioned by bucket         the versions (schema resource_version)
    REGISTER/contributions/  partitioned by bucket         what each declaration said about each key
    REGISTER/mentions/       partitioned by bucket         who each declaration lists (open contracts…)
    REGISTER/frozen/         partitioned by bucket         bases published to liquidation (schema reference_base)
    REGISTER/decisions/      partitioned by bucket         frozen-effects gate decisions (schema gate_decision)

Every table is a Delta Lake table (``deltalake``, delta-rs: the transaction log in ``<table>/_delta_log``;
bench.table_format gives the figures that chose it over Iceberg). Every row carries the run that wrote it
(``_run``) and its position in that run's file (``_row``). A run's workers write their files
(``<table>/bucket=NN/run=<run_id>.parquet``, byte-stable: the same inputs give the same bytes); the driver
then commits them, table by table, each table's files in one Delta transaction tagged with the run (an
application transaction: a table that already holds the run is not committed twice), and last appends the
run to ``runs``. Readers keep the rows of the runs in ``runs`` only: the files of a run that never reached
``runs`` (a crash) are invisible, and a rerun writes the same files and completes the commit. A committed run
is never written again, so rerunning an old run after later ones changes nothing. Rows come back in the
order of reading the runs' files one after the other (by run id, then position).

A worker merging one bucket reads only that bucket's partition, and of the declarations only its people's
shards; of a bucket, a run reads the rows of months still open (gateway.versioning.horizon), of the runs that
wrote such rows (``last_month`` in ``runs``), unless it changes a settled month. Compaction and retention
are the table format's own operations (``maintain``: ``optimize.compact``, ``vacuum``, a log checkpoint); as-of reads
filter by the runs known at a date, and Delta's time travel (``DeltaTable.load_as_version``) reproduces any
earlier state of a table. DuckDB reads the tables through their Arrow datasets (README: "The register").
"""
from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from gateway.errors import ConfigurationError
from gateway.publish.datasets import bucket_of
from gateway.records import ResourceVersion
from gateway.storage import (exists, file_size, parquet_metadata, read_bytes, remote_filesystem, write_bytes,
                             write_parquet)
from gateway.versioning.horizon import OPEN_ROWS, open_bound
from gateway.versioning.columns import CONTRIBUTIONS, ContributionRows, contribution_table
from gateway.versioning.mentions import MENTIONS, MentionRows, listed_order, mention_table
from gateway.versioning.register import BucketState, Contribution, Declaration, Mention
from schemas.records import GATE_DECISION, REFERENCE_BASE, RESOURCE_VERSION, VersionRows, items_table, records_of

DEFAULT_BUCKETS = 16         # the bucket count of a register whose layout says nothing (written before layouts)
PEOPLE_PER_BUCKET = 1000     # people a bucket holds at most when the count follows the size (gateway.versioning.sizing)
COMPACT_EVERY = 8            # runs between two compactions of the register's tables (``maintain``)
RETENTION_HOURS = 24 * 7     # files a compaction replaced stay this long (time travel), then vacuum removes them
RUN, ROW = "_run", "_row"
_APP = "drm-gateway"
_AMOUNTS = ("net_social_cents", "net_taxable_cents", "net_paid_cents", "gross_cents", "pas_base_cents",
            "pas_amount_cents")
SCHEMAS = {
    "declarations": pa.schema([("slot", pa.string()), ("digest", pa.string()), ("rank", pa.int64()),
                               ("declaration_id", pa.string()), ("declaration_type", pa.string()),
                               ("transaction_time", pa.string()), ("file", pa.string()), ("first_line", pa.int64()),
                               ("first_month", pa.string()), ("buckets", pa.string())]),
    "contributions": CONTRIBUTIONS,
    "mentions": MENTIONS,
    "declarants": pa.schema([("declarant_id", pa.string()), ("months_added", pa.int64()),
                             ("months_revised", pa.int64()), ("transaction_time", pa.string())]),
    "versions": RESOURCE_VERSION.arrow,
    "frozen": REFERENCE_BASE.arrow,
    "decisions": GATE_DECISION.arrow,
}
BUCKET_TABLES = ("contributions", "mentions", "versions", "frozen", "decisions")
PARTITION = {"declarations": "shard", "declarants": None, **{table: "bucket" for table in BUCKET_TABLES}}
ANSWERS = "answers"                # officers' answers to REVIEW_CAP decisions (gateway.gate.officer)
ANSWERS_SCHEMA = pa.schema([("decision_id", pa.string()), ("action", pa.string()), ("spread_months", pa.int64()),
                            ("reason", pa.string()), ("officer", pa.string()), ("at", pa.string())])
RUNS = "runs"
RUNS_SCHEMA = pa.schema([("run_id", pa.string()), ("transaction_time", pa.string()),
                         ("declarations_added", pa.int64()), ("versions_added", pa.int64()),
                         ("last_month", pa.string()), ("sequence", pa.int64()), ("derivation", pa.string()),
                         ("buckets", pa.string()), ("bucket_count", pa.int64())])


@dataclass(frozen=True)
class Commit:
    run_id: str
    transaction_time: str
    declarations_added: int
    versions_added: int
    # The latest month of any row the run wrote (its own month at least): a run whose rows are all of
    # settled months is not read by later runs. None when not known (then every run reads it).
    last_month: str | None = None
    # What the run's flags, bases and gate decisions were derived under (gateway.register_run.derivation), and
    # the buckets it derived (space-separated, each with the mark of its open correction requests when it has
    # some: ``07:3fa2…``): in a bucket last derived under the same, a later run re-derives only the people it
    # concerns. None: not known (a register written before the columns existed, an officer's
    # forced version): the next run re-derives everyone of the buckets it touches.
    derivation: str | None = None
    buckets: str | None = None
    # The register's bucket count when the run merged (gateway.versioning.sizing): what its outputs' partitions
    # (``part-NN``) are numbered by. None: written before the count could change (the register's count).
    bucket_count: int | None = None


# The columns whose per-file minimum and maximum the tables keep (Delta data skipping): the run, to read the files
# of some runs only, and the month column of the open-months filter (gateway.versioning.horizon).
STATS_COLUMNS = {table: (RUN, *((OPEN_ROWS[table][0],) if table in OPEN_ROWS else ())) for table in SCHEMAS}


def _join(root: Path | str, *parts: str) -> str:
    return "/".join((os.fspath(root).rstrip("/"), *parts))


def _uri(root: Path | str, table: str) -> str:
    return _join(root, table)


def file_schema(table: str) -> pa.Schema:
    """The schema of a table's data files: its rows, the run that wrote each and its position in the file."""
    return SCHEMAS[table].append(pa.field(RUN, pa.string())).append(pa.field(ROW, pa.int64()))


def table_schema(table: str) -> pa.Schema:
    """A table's Delta schema: its files' columns and its partition column (kept in the folder names)."""
    column = PARTITION[table]
    return file_schema(table) if column is None else file_schema(table).append(pa.field(column, pa.int32()))


# --- layout and the runs table ------------------------------------------------------------------------------

def layout_of(root: Path | str) -> dict:
    """The register's layout: its bucket count (``buckets``), the people a bucket should hold when the count
    follows the register's size (``people_per_bucket``; absent: the count is fixed), and a resize under way
    (``resizing``, gateway.versioning.sizing)."""
    layout = _join(root, "_layout.json")
    return json.loads(read_bytes(layout)) if exists(layout) else {"buckets": DEFAULT_BUCKETS}


def write_layout(root: Path | str, layout: dict) -> None:
    write_bytes(_join(root, "_layout.json"), json.dumps(layout, sort_keys=True).encode())


def buckets_of(root: Path | str) -> int:
    return int(layout_of(root)["buckets"])


def ensure_layout(root: Path | str, buckets: int = 1, people_per_bucket: int | None = PEOPLE_PER_BUCKET) -> int:
    """Create the register (its layout and empty tables) with ``buckets``, a count that then follows its size
    when ``people_per_bucket`` is given, else fixed (an existing register keeps its own)."""
    from deltalake import DeltaTable
    if not exists(_join(root, "_layout.json")):
        write_layout(root, {"buckets": buckets, **({"people_per_bucket": people_per_bucket}
                                                   if people_per_bucket else {})})
    for table in SCHEMAS:
        if not DeltaTable.is_deltatable(_uri(root, table)):
            column = PARTITION[table]
            DeltaTable.create(_uri(root, table), table_schema(table), mode="ignore",
                              partition_by=None if column is None else [column],
                              configuration={"delta.dataSkippingStatsColumns": ",".join(STATS_COLUMNS[table])})
    for table, schema in ((RUNS, RUNS_SCHEMA), (ANSWERS, ANSWERS_SCHEMA)):
        if not DeltaTable.is_deltatable(_uri(root, table)):
            DeltaTable.create(_uri(root, table), schema, mode="ignore")
    return buckets_of(root)


def _delta(root: Path | str, table: str):
    """The table's latest state, or None when the register has no such table (yet)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError
    try:
        return DeltaTable(_uri(root, table))          # one read of the log (no separate existence check)
    except TableNotFoundError:
        return None


ABSENT = -1                 # a pinned table the register did not hold when its run pinned it


class Tables:
    """The register's tables as one run reads them, each table's log read once: the run's driver opens them all
    after laying the register out (``pin``) and every reader of the run (the driver, each worker's shards and
    buckets, the commit) reads the versions it pinned, so the whole run sees one state of the register. A run's
    ``RegisterJob`` carries the pins; in one process the tables opened at those versions are shared
    (``_snapshot``): an embedded run reads each log once, a distributed worker once per process."""

    def __init__(self, root: Path | str, pins: Iterable[tuple[str, int]] = ()) -> None:
        self.root = root
        self._pins = dict(pins)
        self._opened: dict[str, Any] = {}

    def get(self, table: str):
        """The table (None when the register has no such table), at its pinned version if it has one, else its
        latest; its log read on the first call."""
        if table not in self._opened:
            self._opened[table] = _snapshot(self.root, table, self._pins.get(table))
        return self._opened[table]

    def pin(self, tables: Iterable[str] = ()) -> tuple[tuple[str, int], ...]:
        """Every table of the register (or ``tables``) opened, with the version this reader sees of each. The logs
        are read at once (the Delta binding reads with the interpreter's lock released: half the time on two
        cores)."""
        names = tuple(tables) or (*SCHEMAS, RUNS, ANSWERS)
        with ThreadPoolExecutor(min(len(names), 4) or 1) as pool:
            opened = list(pool.map(self.get, names))
        return tuple((table, ABSENT if delta is None else delta.version()) for table, delta in zip(names, opened))

    def written(self, table: str) -> None:
        """Forget the table once something committed to it through this reader (its state moved on)."""
        delta = self._opened.pop(table, None)
        with _SNAPSHOTS_LOCK:
            for key in [key for key, kept in _SNAPSHOTS.items() if kept is delta]:
                del _SNAPSHOTS[key]


_SNAPSHOTS: "OrderedDict[tuple[str, int], Any]" = OrderedDict()     # (table URI, version) -> that version's table
_SNAPSHOTS_KEPT = 32                 # a run pins 9 tables; a few runs' worth, then the oldest are dropped
_SNAPSHOTS_LOCK = threading.Lock()


def _snapshot(root: Path | str, table: str, version: int | None):
    """The table at ``version`` (None: its latest; ``ABSENT``: a table the register did not hold), shared by
    the process's readers of that version (a version of a Delta table never changes)."""
    uri = _uri(root, table)
    if version == ABSENT:
        return None
    if version is not None:
        with _SNAPSHOTS_LOCK:
            found = _SNAPSHOTS.get((uri, version))
            if found is not None:
                _SNAPSHOTS.move_to_end((uri, version))
                return found
        from deltalake import DeltaTable
        delta = DeltaTable(uri, version=version)
    else:
        delta = _delta(root, table)
        if delta is None:
            return None
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS[(uri, delta.version())] = delta
        while len(_SNAPSHOTS) > _SNAPSHOTS_KEPT:
            _SNAPSHOTS.popitem(last=False)
    return delta


def commits(root: Path | str, tables: Tables | None = None) -> list[Commit]:
    """The committed runs, in the order they were committed (``tables``: as a run pinned them)."""
    rows = sorted(_small_table(root, RUNS, RUNS_SCHEMA, tables), key=lambda row: row["sequence"])
    return [Commit(**{name: row[name] for name in Commit.__dataclass_fields__}) for row in rows]


def _small_table(root: Path | str, table: str, schema: pa.Schema, tables: Tables | None = None) -> list[dict]:
    """Every row of one of the register's small unpartitioned tables (runs, answers)."""
    delta = tables.get(table) if tables is not None else _delta(root, table)
    if delta is None:
        return []
    filesystem, path_of = _filesystem(root)
    return ds.dataset([path_of(uri) for uri in delta.file_uris()], schema=schema, format="parquet",
                      filesystem=filesystem).to_table().to_pylist()


def answers(root: Path | str, tables: Tables | None = None) -> list[dict]:
    """Officers' answers, oldest first (by time, then officer and decision: the same order for every reader)."""
    return sorted(_small_table(root, ANSWERS, ANSWERS_SCHEMA, tables), key=lambda a: (a["at"], a["officer"], a["decision_id"]))


def add_answers(root: Path | str, rows: list[dict]) -> None:
    """Officers' answers, appended in one Delta commit (concurrent answers are serialised by the table)."""
    from deltalake import write_deltalake
    ensure_layout(root)
    write_deltalake(_uri(root, ANSWERS), pa.Table.from_pylist(rows, schema=ANSWERS_SCHEMA), mode="append")


def _part(root: Path | str, table: str, run_id: str, partition: int | None) -> tuple[str, str]:
    """(relative path in the table, full path) of a run's file for a table's partition."""
    column = PARTITION[table]
    relative = f"run={run_id}.parquet" if column is None else f"{column}={partition:02d}/run={run_id}.parquet"
    return relative, _join(root, table, relative)


def _stage_actions(root: Path | str, table: str, run_id: str, partitions: Iterable[int | None]) -> list:
    """The add actions of the run's files of a table (those its workers wrote)."""
    actions = []
    for partition in partitions:
        relative, path = _part(root, table, run_id, partition)
        action = _add_action(table, relative, path, partition)
        if action is not None:
            actions.append(action)
    return actions


def _add_action(table: str, relative: str, path: str, partition: int | None):
    """The Delta add action of one data file of ``table`` (None when there is no such file)."""
    from deltalake.transaction import AddAction
    size = file_size(path)
    if size is None:
        return None
    column = PARTITION[table]
    values = {} if column is None else {column: str(partition)}
    return AddAction(relative, size, values, int(datetime.now(timezone.utc).timestamp() * 1000), True,
                     _stats(path, STATS_COLUMNS[table]))


def write_file(root: Path | str, table: str, name: str, partition: int, rows: pa.Table):
    """A data file of ``rows`` (in the table's file schema) in a partition, outside any run (a resize); its add
    action, for the caller to commit."""
    relative = f"{PARTITION[table]}={partition:02d}/{name}.parquet"
    path = _join(root, table, relative)
    write_parquet(path, rows)
    return _add_action(table, relative, path, partition)


def _stats(path: str, columns: Iterable[str]) -> str:
    """A file's Delta statistics (rows; minimum, maximum and nulls of ``columns``) from its Parquet footer."""
    metadata = parquet_metadata(path)
    names = metadata.schema.to_arrow_schema().names
    low, high, nulls = {}, {}, {}
    for name in columns:
        index = names.index(name)
        chunks = [metadata.row_group(group).column(index).statistics for group in range(metadata.num_row_groups)]
        if not chunks or any(stats is None for stats in chunks):
            continue                                   # no statistics: the file is always read
        nulls[name] = sum(stats.null_count for stats in chunks)
        valued = [stats for stats in chunks if stats.has_min_max]
        if valued:
            low[name], high[name] = min(s.min for s in valued), max(s.max for s in valued)
    return json.dumps({"numRecords": metadata.num_rows, "minValues": low, "maxValues": high, "nullCount": nulls})


def commit(root: Path | str, entry: Commit, *, after: int | None = None, tables: Tables | None = None) -> int:
    """Make a run's files visible: each table's in one transaction, then the run's row in ``runs``. ``after``:
    how many runs were committed when the run read the register; refused (nothing committed) when another
    run committed since (object storage has no lock to keep two runs apart: their merges would interleave).
    ``tables``: the tables as the run read them (each written from there, no second read of its log).
    Returns how many runs the register holds then (what ``maintain`` and ``sizing.refit`` count)."""
    from deltalake import CommitProperties, Transaction, write_deltalake
    latest = Tables(root)                   # the runs as they are now (another run may have committed since)
    known = commits(root, latest)
    if entry.run_id in {c.run_id for c in known}:
        return len(known)
    if after is not None and len(known) != after:
        raise ConfigurationError(f"another run committed to the register @ {os.fspath(root)} while this run merged "
                                 f"({len(known) - after} more): expected one run at a time per register; run this "
                                 "one again, it will merge after the other")
    ensure_layout(root)
    buckets = range(buckets_of(root))
    for table, column in PARTITION.items():
        actions = _stage_actions(root, table, entry.run_id, [None] if column is None else buckets)
        if not actions:
            continue                            # the run wrote nothing there: the table is not even opened
        delta = tables.get(table) if tables is not None else None
        if delta is None:                       # no reader given, or a table the run found absent (laid out since)
            delta = _delta(root, table)
        app = f"{_APP}/{entry.run_id}"
        if delta.transaction_version(app) is None:      # else committed by an attempt that stopped before ``runs``
            delta.create_write_transaction(actions, mode="append", schema=table_schema(table),
                                           partition_by=None if column is None else [column],
                                           commit_properties=CommitProperties(
                                               app_transactions=[Transaction(app, 1)]))
            if tables is not None:
                tables.written(table)
    row = {**asdict(entry), "sequence": len(known) + 1}
    # "merge": a register written before a column of ``runs`` existed takes it on (its earlier rows: null).
    runs = latest.get(RUNS)                 # written from the state just read: no second read of its log
    write_deltalake(_uri(root, RUNS) if runs is None else runs, pa.Table.from_pylist([row], schema=RUNS_SCHEMA),
                    mode="append", schema_mode="merge")
    latest.written(RUNS)
    return row["sequence"]


def maintain(root: Path | str, every: int = COMPACT_EVERY, retention_hours: int = RETENTION_HOURS,
             count: int | None = None) -> bool:
    """Every ``every`` committed runs, compact each table's small files (``optimize.compact``: no row changes),
    remove files no version younger than ``retention_hours`` needs (``vacuum``) and checkpoint its log: a reader
    then replays the log from there, not every commit since the table's first (a 24-run register: 8 ms to open a
    table, 3 ms from a checkpoint; a run opens ~20; the earlier commits stay, for time travel). Returns whether
    it ran. ``count``: the committed runs, when the caller knows it (``commit`` returns it)."""
    count = len(commits(root)) if count is None else count
    if not every or count == 0 or count % every:
        return False
    for table in (*SCHEMAS, RUNS, ANSWERS):
        delta = _delta(root, table)
        if delta is None:
            continue
        delta.optimize.compact()
        delta.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False)
        _delta(root, table).create_checkpoint()         # of the table as compacted
    return True


# --- reading ------------------------------------------------------------------------------------------------

def _filesystem(root: Path | str):
    """pyarrow's own file system for the register's files (local or object storage), and how a data file's URI
    (as the Delta log gives it) becomes a path in it. Not the Delta binding's Python file system handler:
    pyarrow's threads calling back into it may abort the interpreter at exit (delta-rs issue 2184)."""
    from pyarrow import fs
    text = os.fspath(root)
    if "://" in text:
        filesystem, _ = remote_filesystem(text)
        return filesystem, lambda uri: uri.split("://", 1)[1]
    return fs.LocalFileSystem(), lambda uri: uri


def _files(root: Path | str, table: str, predicate: list, tables: Tables | None = None) -> dict[int | None, list[str]]:
    """The table's current data files that may hold rows matching ``predicate`` (partition values select
    exactly; other columns by the files' statistics), by partition value."""
    delta = tables.get(table) if tables is not None else _delta(root, table)
    if delta is None:
        return {}
    column = PARTITION[table]
    found: dict[int | None, list[str]] = {}
    for uri in delta.file_uris(file_pruning_predicate=predicate or None):
        match = re.search(rf"/{column}=(\d+)/", uri) if column else None
        found.setdefault(int(match[1]) if match else None, []).append(uri)
    return found


def open_table(root: Path | str, table: str):
    """The table's latest state (deltalake's DeltaTable), or None when the register has no such table."""
    return _delta(root, table)


def table_files(root: Path | str, table: str) -> dict[int | None, list[str]]:
    """Every current data file of the table, by partition value."""
    return _files(root, table, [])


def read_files(root: Path | str, table: str, uris: list[str], columns: list[str] | None = None) -> pa.Table:
    """The rows of some of the table's data files (committed or not: filter ``_run`` on the committed runs)."""
    return _read(root, table, uris, None, columns)


def _read(root: Path | str, table: str, uris: list[str], where: pc.Expression | None,
          columns: list[str] | None = None) -> pa.Table:
    filesystem, path_of = _filesystem(root)
    return ds.dataset([path_of(uri) for uri in sorted(uris)], schema=file_schema(table), format="parquet",
                      filesystem=filesystem).to_table(columns=columns, filter=where)


def _scan(root: Path | str, table: str, committed: Iterable[str], where: pc.Expression | None = None,
          partitions: Iterable[int] | None = None, bound: tuple[str, str] | None = None,
          tables: Tables | None = None, columns: Iterable[str] | None = None) -> pa.Table | None:
    """The rows of ``table`` written by the ``committed`` runs (of some partitions) matching ``where``, partition
    by partition, each in the order of the runs' files (by run, then position); None when there is none.
    ``bound``: (column, first value) that ``where`` keeps, to skip the files whose values are all below it.
    ``columns``: only these (the others are not decoded), else all of the table's."""
    runs = sorted(set(committed))
    if not runs:
        return None
    keep = pc.field(RUN).isin(pa.array(runs, type=pa.string()))
    predicate: list = [(RUN, "in", runs)]                    # files of other runs are not opened (statistics)
    if partitions is not None:
        wanted = sorted(set(partitions))
        if not wanted:
            return None
        predicate.append((PARTITION[table], "in", wanted))
    if bound is not None:
        predicate.append((bound[0], ">=", bound[1]))
    names = SCHEMAS[table].names if columns is None else list(columns)
    parts = []
    by_partition = _files(root, table, predicate, tables)
    for _, uris in sorted(by_partition.items(), key=lambda item: -1 if item[0] is None else item[0]):
        found = _read(root, table, uris, keep if where is None else keep & where, [*names, RUN, ROW])
        if found.num_rows:
            parts.append(found.sort_by([(RUN, "ascending"), (ROW, "ascending")]) if found.num_rows > 1 else found)
    return pa.concat_tables(parts).select(names) if parts else None


def shard_of(slot: str, shards: int) -> int:
    """The declarations shard of a slot (slot = flow|declarant|main month|fraction|nature): the same stable
    hash as the person buckets."""
    return bucket_of(slot, shards)


def load_declarations(root: Path | str, committed: Iterable[str], *,
                      shards: Iterable[int] | None = None, tables: Tables | None = None) -> list[Declaration]:
    """Committed declarations: all of them, or those of some shards."""
    found = _scan(root, "declarations", committed, partitions=shards, tables=tables)
    return [] if found is None else records_of(found, Declaration)


def slot_declared(root: Path | str, committed: Iterable[str], slot: str) -> bool:
    """Whether a committed run put a declaration of ``slot`` in the register (one shard read, filtered)."""
    found = _scan(root, "declarations", committed, pc.field("slot") == pa.scalar(slot),
                  partitions=[shard_of(slot, buckets_of(root))], columns=["slot"])
    return found is not None


def load_declarant_rows(root: Path | str, committed: Iterable[str],
                        declarants: Iterable[str] | None = None, tables: Tables | None = None) -> list[dict]:
    """Per run and declarant, the months first known and first revised: of every declarant, or of some (read
    with a filter: a bucket needs the rates of its own people's declarants, not the country's)."""
    where = None if declarants is None else pc.field("declarant_id").isin(
        pa.array(sorted(set(declarants)), type=pa.string()))
    found = _scan(root, "declarants", committed, where, tables=tables)
    return [] if found is None else found.to_pylist()


def declarants_between(root: Path | str, committed: Iterable[str], start: str, end: str,
                       tables: Tables | None = None) -> tuple[tuple[str, str], ...]:
    """(declarant, transaction time) of the runs' rows whose transaction time is in [start, end): the declarants
    whose revision rate (gateway.versioning.view.declarant_rates: the runs before a date) differs between a date
    in that range and ``end``."""
    where = (pc.field("transaction_time") >= pa.scalar(start)) & (pc.field("transaction_time") < pa.scalar(end))
    found = _scan(root, "declarants", committed, where, columns=["declarant_id", "transaction_time"], tables=tables)
    return () if found is None else tuple(sorted(set(zip(found.column("declarant_id").to_pylist(),
                                                         found.column("transaction_time").to_pylist()))))


def _since(table: str, since: str | None) -> tuple[pc.Expression | None, tuple[str, str] | None]:
    """The filter of the rows of open months (those gateway.versioning.horizon.within keeps), and its bound."""
    if since is None:
        return None, None
    column, first = open_bound(table, since)
    return pc.field(column) >= pa.scalar(first), (column, first)


def _of_people(where: pc.Expression | None, people: Iterable[str] | None) -> pc.Expression | None:
    """``where``, narrowed to the rows of ``people`` (None: everyone)."""
    if people is None:
        return where
    mine = pc.field("person_key").isin(pa.array(sorted(people), type=pa.string()))
    return mine if where is None else where & mine


def load_bucket(root: Path | str, bucket: int, committed: Iterable[str], since: str | None = None,
                tables: Tables | None = None, people: Iterable[str] | None = None) -> BucketState:
    """A bucket's committed rows: all of them, or (``since``) those of open months only; ``committed`` may
    be a subset of the runs the reader sees: the runs with open rows. ``tables``: the tables as the reader
    already opened them (a run's bucket step: each log read once for all its buckets). ``people``: the rows
    of these people only (filtered in the scan: the others are never turned into records)."""
    committed = list(committed)
    people = None if people is None else sorted(set(people))
    if people is not None and not people:
        return BucketState()

    def scan(table: str) -> pa.Table | None:
        where, bound = _since(table, since)
        return _scan(root, table, committed, _of_people(where, people), partitions=[bucket], bound=bound,
                     tables=tables)
    # The five tables read at once (each read waits on files and decompression with the interpreter's lock
    # released), then turned into records one after the other.
    with ThreadPoolExecutor(len(_BUCKET_TABLES)) as pool:
        found = dict(zip(_BUCKET_TABLES, pool.map(scan, _BUCKET_TABLES)))

    def rows(table: str, records: Callable[[pa.Table], list]) -> list:
        return [] if found[table] is None else records(found[table])
    # contributions and versions as rows (columns: the merge reads them so), records only if read one by one
    return BucketState(contributions=rows("contributions", lambda t: ContributionRows(t.combine_chunks())),
                       mentions=rows("mentions", lambda t: MentionRows(t.combine_chunks())),
                       versions=rows("versions", lambda t: VersionRows(t.combine_chunks())),
                       frozen=rows("frozen", REFERENCE_BASE.from_table),
                       decisions=rows("decisions", GATE_DECISION.from_table))


_BUCKET_TABLES = ("contributions", "mentions", "versions", "frozen", "decisions")


def load_all(root: Path | str, table: str) -> list[dict]:
    """Every committed row of a bucketed table, as dicts (bucket by bucket)."""
    found = _scan(root, table, [c.run_id for c in commits(root)])
    return [] if found is None else found.to_pylist()


def load_run(root: Path | str, table: str, run_id: str) -> list[dict]:
    """The rows one committed run added to a bucketed table, as dicts."""
    found = _scan(root, table, [run_id])
    return [] if found is None else found.to_pylist()


def load_all_versions(root: Path | str) -> list[ResourceVersion]:
    """Every committed version (the ``history`` command and as-of queries over all people)."""
    return [RESOURCE_VERSION.from_row(row) for row in load_all(root, "versions")]


REVISITED = ("PENDING", "NOTIFIED")       # gateway.gate.table.Status.revisited (the stages below the gate)


def _latest(decisions: pa.Table | None) -> dict[tuple, tuple[str, str]]:
    """(person, benefit, reference month) -> (as_of, status) of the latest of ``decisions`` on each base."""
    latest: dict[tuple, tuple[str, str]] = {}
    rows = [] if decisions is None else decisions.select(
        ["person_key", "benefit", "reference_month", "as_of", "status"]).to_pylist()
    for row in rows:
        key = (row["person_key"], row["benefit"], row["reference_month"])
        if key not in latest or row["as_of"] >= latest[key][0]:
            latest[key] = (row["as_of"], row["status"])
    return latest


def _revisited(decisions: pa.Table) -> set[str]:
    """The people of ``decisions`` whose latest decision on some base is PENDING or NOTIFIED."""
    return {key[0] for key, (_, status) in _latest(decisions).items() if status in REVISITED}


def _people_where(root: Path | str, bucket: int, committed: list[str], table: str, column: str,
                  values: list[str], since: str | None, tables: Tables | None,
                  also: pc.Expression | None = None) -> set[str]:
    """The people of a bucket with a row of ``table`` (of open months, with ``since``) whose ``column`` is one
    of ``values`` (and that ``also`` keeps)."""
    if not values:
        return set()
    where, bound = _since(table, since)
    chosen = pc.field(column).isin(pa.array(values, type=pa.string()))
    chosen = chosen if also is None else chosen & also
    rows = _scan(root, table, committed, chosen if where is None else where & chosen, partitions=[bucket],
                 bound=bound, tables=tables, columns=["person_key"])
    return set() if rows is None else set(rows.column("person_key").to_pylist())


def concerned_people(root: Path | str, bucket: int, committed: Iterable[str], *, since: str | None,
                     digests: Iterable[str], decision_ids: Iterable[str], declarants: Iterable[str] = (),
                     tables: Tables | None = None) -> set[str]:
    """Of a bucket's people (rows of open months, with ``since``), those a run must re-examine apart from the
    ones it brings rows for: listed by a declaration of ``digests`` (superseded by the run: their amounts
    there go), with a version declared by one of ``declarants`` (their revision rate moved), or with a decision
    of ``decision_ids`` (an officer answered it). Read as columns, no record built."""
    committed = list(committed)
    digests = sorted(set(digests))
    found = (_people_where(root, bucket, committed, "contributions", "digest", digests, since, tables)
             | _people_where(root, bucket, committed, "mentions", "digest", digests, since, tables)
             | _people_where(root, bucket, committed, "versions", "declarant_id", sorted(set(declarants)), since,
                             tables))
    return found | _people_where(root, bucket, committed, "decisions", "decision_id", sorted(set(decision_ids)),
                                 since, tables)


def dated_people(root: Path | str, bucket: int, committed: Iterable[str], *, since: str | None, notified_by: str,
                 contract_months: Iterable[str], tables: Tables | None = None) -> set[str]:
    """Of a bucket's people, those whose flags or decisions may move with the day alone: with a latest decision
    NOTIFIED on or before the day ``notified_by`` (of open months, with ``since``: its contradictory period has
    ended), or with a contract open in one of ``contract_months`` (a mention: its next month may now be
    missing). A PENDING decision waits for something else (an officer, a request closed, the data settling)."""
    committed = list(committed)
    where, bound = _since("decisions", since)
    found = _scan(root, "decisions", committed, where, partitions=[bucket], bound=bound, tables=tables,
                  columns=["person_key", "benefit", "reference_month", "as_of", "status"])
    people = {key[0] for key, (at, status) in _latest(found).items() if status == "NOTIFIED" and at[:10] <= notified_by}
    return people | _people_where(root, bucket, committed, "mentions", "month", sorted(set(contract_months)), since,
                                  tables, also=pc.field("open_contract"))


def pending_buckets(root: Path | str, committed: Iterable[str], since: str | None = None,
                    tables: Tables | None = None) -> tuple[int, ...]:
    """Buckets whose latest gate decision on some base (of open months, with ``since``) is PENDING (held or
    waiting for an officer) or NOTIFIED (final once its contradictory period ends)."""
    where, bound = _since("decisions", since)
    found = _scan(root, "decisions", committed, where, bound=bound,
                  columns=["person_key", "benefit", "reference_month", "as_of", "status"], tables=tables)
    if found is None:
        return ()
    buckets = buckets_of(root)
    return tuple(sorted({bucket_of(person, buckets) for person in _revisited(found)}))


# --- writing a run's files (workers) ------------------------------------------------------------------------

def tagged(rows: pa.Table, table: str, run_id: str) -> pa.Table:
    """A run's rows of a table in its files' schema (with the run, and each row's position)."""
    count = rows.num_rows
    return pa.Table.from_arrays([*rows.select(SCHEMAS[table].names).columns, pa.array([run_id] * count, pa.string()),
                                 pa.array(range(count), pa.int64())], schema=file_schema(table))


def _write(root: Path | str, table: str, run_id: str, rows: pa.Table, partition: int | None) -> None:
    write_parquet(_part(root, table, run_id, partition)[1], tagged(rows, table, run_id))


def plain_table(items: list[Any], table: str) -> pa.Table:
    """Records (or dicts) of a table as its Arrow table, column by column."""
    return items_table(items, SCHEMAS[table])


def write_run_part(root: Path | str, table: str, run_id: str, items: list[Any], shard: int | None = None) -> None:
    """A run-wide file (declarants), or one shard's (declarations); committed by ``commit``."""
    _write(root, table, run_id, plain_table(items, table), shard)


def write_bucket(root: Path | str, bucket: int, run_id: str, contributions: list[Contribution], mentions: list[Mention],
                 versions: list[ResourceVersion], frozen: list | None = None, decisions: list | None = None) -> None:
    """One bucket's files for a run (byte-stable: rows sorted). Empty tables are not written."""
    if contributions:
        rows = contribution_table(contributions)
        _write(root, "contributions", run_id, rows.take(pc.sort_indices(rows, _BY_DIGEST)), bucket)
    if mentions:
        _write(root, "mentions", run_id, listed_order(mention_table(mentions)), bucket)
    for table, schema, items in (("frozen", REFERENCE_BASE, frozen), ("decisions", GATE_DECISION, decisions)):
        if items:
            _write(root, table, run_id, schema.table(items), bucket)
    if versions:
        rows = RESOURCE_VERSION.table(versions if isinstance(versions, VersionRows) else list(versions))
        _write(root, "versions", run_id, rows.take(pc.sort_indices(rows, _BY_MONTH)), bucket)


# the order of a bucket's rows in a run's files (byte-stable): contributions by declaration then key, versions by
# month, key and number
_BY_DIGEST = [(name, "ascending") for name in ("digest", "person_key", "declarant_id", "nature", "month")]
_BY_MONTH = [(name, "ascending") for name in ("month", "person_key", "declarant_id", "nature", "version")]


def dataset(root: Path | str, table: str) -> ds.Dataset:
    """A table's current files as an Arrow dataset (what DuckDB or pyarrow query; filter ``_run`` on the
    committed runs of ``commits``)."""
    if _delta(root, table) is None:
        raise FileNotFoundError(_uri(root, table))
    filesystem, path_of = _filesystem(root)
    uris = sorted(uri for group in _files(root, table, []).values() for uri in group)
    return ds.dataset([path_of(uri) for uri in uris], schema=file_schema(table), format="parquet", filesystem=filesystem)


__all__ = ["ANSWERS", "BUCKET_TABLES", "add_answers", "layout_of", "write_layout", "answers", "BucketState", "COMPACT_EVERY", "Commit", "DEFAULT_BUCKETS", "PEOPLE_PER_BUCKET", "buckets_of", "commit",
           "Tables", "commits", "concerned_people", "dataset", "dated_people", "declarants_between", "ensure_layout", "load_all", "load_all_versions", "load_bucket",
           "load_declarant_rows", "load_declarations", "load_run", "maintain", "open_table", "read_files", "table_files", "write_file", "pending_buckets", "shard_of",
           "slot_declared", "file_schema", "table_schema", "tagged", "write_bucket", "write_run_part"]
