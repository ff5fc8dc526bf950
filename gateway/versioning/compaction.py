"""Compacted register parts: many runs' parts of one folder read as one file.

Every run appends one part per folder it writes (``contributions/bucket=03/run=<id>.parquet``…): after
a few years of monthly runs a bucket is read from hundreds of small files. Every ``COMPACT_EVERY`` runs
the step that writes a folder also writes a compacted copy of the folder's committed parts:

    REGISTER/_compacted/<folder>/runs=<digest>.parquet    the rows of the runs it covers, each with its run
                                                          (``_run``) and position in that run's part (``_row``)

The runs it covers are in the file's metadata. A reader uses the compaction covering the most runs among
those *all* of whose runs it may see (a compaction made by a run that never committed, or one covering the
run a rerun leaves out, is not usable), and the parts of the runs it does not cover; the rows are put back
in the order the parts give them (by run, then position), so that a read gives exactly the rows, in the
order, of reading the parts. Parts are never deleted: they stay the register's history (and what a rerun of
an old run reads). Rows are stored by ``order`` (the month column of the open-months filter), so that a
read of open months skips the row groups of settled ones.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.storage import write_parquet

COMPACT_EVERY = 8          # runs not yet compacted before a folder is compacted again
COMPACTED = "_compacted"
RUN, ROW = "_run", "_row"
_ROW_GROUP = 8192
_RUNS_KEY = b"drm_gateway_runs"


@dataclass(frozen=True)
class Compaction:
    path: Path
    runs: frozenset[str]


def compaction_folder(root: Path, folder: Path) -> Path:
    return root / COMPACTED / folder.relative_to(root)


def compactions(root: Path, folder: Path) -> list[Compaction]:
    found = compaction_folder(root, folder)
    if not found.exists():
        return []
    out = []
    for path in sorted(found.glob("runs=*.parquet")):
        metadata = pq.read_schema(path).metadata or {}
        if _RUNS_KEY in metadata:
            out.append(Compaction(path, frozenset(json.loads(metadata[_RUNS_KEY]))))
    return out


def usable(root: Path, folder: Path, visible: Iterable[str]) -> Compaction | None:
    """The compaction covering the most runs, all of which are ``visible``."""
    visible = set(visible)
    candidates = [c for c in compactions(root, folder) if c.runs <= visible]
    return max(candidates, key=lambda c: (len(c.runs), c.path.name), default=None)


def part_path(folder: Path, run: str) -> Path:
    return folder / f"run={run}.parquet"


def read_part(path: Path | str) -> pa.Table:
    """One part, whole (a ParquetFile: a dataset per small part costs several times more)."""
    with pq.ParquetFile(path) as part:
        return part.read()


def tagged(table: pa.Table, run: str) -> pa.Table:
    """A run's part with its run and each row's position in it."""
    rows = table.num_rows
    return (table.append_column(RUN, pa.array([run] * rows, type=pa.string()))
            .append_column(ROW, pa.array(range(rows), type=pa.int64())))


def in_part_order(table: pa.Table) -> pa.Table:
    """Rows back in the order of reading the parts one after the other (parts sorted by run), untagged."""
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, [(RUN, "ascending"), (ROW, "ascending")]))
    return table.drop_columns([RUN, ROW])


def read(root: Path, folder: Path, compaction: Compaction, wanted: list[str], where: pc.Expression | None,
         bound: tuple[str, str] | None = None) -> pa.Table:
    """The rows of the ``wanted`` runs of ``folder`` matching ``where``: from the compaction, and from the parts
    of the wanted runs it does not cover; in part order. With ``bound`` (column, first value ``where`` keeps),
    the compaction's row groups whose values all fall below it are not read."""
    keep = pc.field(RUN).isin(pa.array(sorted(set(wanted) & compaction.runs), type=pa.string()))
    with pq.ParquetFile(compaction.path) as compacted:
        groups = list(range(compacted.num_row_groups))
        if bound is not None and bound[0] in compacted.schema_arrow.names:
            column = compacted.schema_arrow.get_field_index(bound[0])
            groups = [group for group in groups if not _below(compacted.metadata.row_group(group).column(column),
                                                               bound[1])]
        table = compacted.read_row_groups(groups) if groups else compacted.schema_arrow.empty_table()
    tables = [table.filter(keep if where is None else keep & where)]
    for run in sorted(set(wanted) - compaction.runs):
        path = part_path(folder, run)
        if path.exists():
            part = tagged(read_part(path), run)
            tables.append(part if where is None else part.filter(where))
    return in_part_order(pa.concat_tables(tables, promote_options="default"))


def _below(chunk: pq.ColumnChunkMetaData, first: str) -> bool:
    """Whether every value of a row group's column is known to be below ``first`` (nulls are not kept either)."""
    stats = chunk.statistics
    if stats is None:
        return False
    if stats.null_count == chunk.num_values:
        return True
    return stats.has_min_max and stats.max < first


def compact(root: Path, folder: Path, runs: Iterable[str], *, every: int = COMPACT_EVERY,
            order: str | None = None) -> Path | None:
    """Compact ``folder``'s parts of ``runs`` (committed runs and the current one) when ``every`` of them are
    not covered yet; older compactions other than the one built on are removed. Returns the new file, if any."""
    runs = frozenset(runs)
    current = usable(root, folder, runs)
    covered = current.runs if current is not None else frozenset()
    uncovered = sorted(runs - covered)
    if len(uncovered) < every:
        return None
    tables = [read_part(current.path)] if current is not None else []
    tables += [tagged(read_part(path), run) for run in uncovered if (path := part_path(folder, run)).exists()]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    keys = ([(order, "ascending")] if order is not None and order in table.column_names else []) + [
        (RUN, "ascending"), (ROW, "ascending")]
    table = table.take(pc.sort_indices(table, keys))
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           _RUNS_KEY: json.dumps(sorted(runs)).encode()})
    target = compaction_folder(root, folder) / f"runs={hashlib.sha256(' '.join(sorted(runs)).encode()).hexdigest()[:16]}.parquet"
    write_parquet(target, table, row_group_size=_ROW_GROUP)
    for other in compactions(root, folder):
        if other.path != target and (current is None or other.path != current.path):
            other.path.unlink(missing_ok=True)
    return target
