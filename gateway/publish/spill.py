"""Records parked on disk between two stages of a run, so that no shuffle holds a run's records in memory.

Each unit of work (a task of declarations, a file's index) writes its records into the staging folder and
hands on only where they are. The stage that writes a partition reads just that partition's records. Memory
then follows the size of one task and of one partition, not the size of the input file: a 1 GB file costs what
a 100 MB one does per task. A unit's records for many partitions (the datasets' partitions, the register's
buckets) go in one file, each partition's a :class:`Segment` of it read alone (a ranged read): one file a task,
not one a task and partition (a run of 5 M lines made ~7,000 small files, ~6 % of its time).

File names are the digest of their content: a rerun writes the same names, and two units never
collide (every record carries its file and line).
"""
from __future__ import annotations

import hashlib
import io
import pickle
from typing import Any, NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
from gateway.storage import read_bytes, read_range, write_bytes
from schemas.records import RecordSchema

SPILL = "_spill"


def _store(root: str, folder: str, data: bytes, suffix: str) -> str:
    path = f"{root}/{SPILL}/{folder}/{hashlib.sha256(data).hexdigest()[:24]}.{suffix}"
    write_bytes(path, data)
    return path


class Segment(NamedTuple):
    """One of the parts of a spill file holding several (:func:`spill_partitions` with ``together``,
    :func:`spill_together`)."""

    path: str
    offset: int
    length: int


def _store_together(root: str, folder: str, parts: Sequence[bytes], suffix: str) -> list[Segment]:
    path = _store(root, folder, b"".join(parts), suffix)
    segments, offset = [], 0
    for part in parts:
        segments.append(Segment(path, offset, len(part)))
        offset += len(part)
    return segments


def _read(where: str | Segment) -> bytes:
    return read_bytes(where) if isinstance(where, str) else read_range(*where)


def _stream(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema, options=ipc.IpcWriteOptions(compression=None)) as writer:
        writer.write_table(table)
    return sink.getvalue()


def spill_partitions(root: str, dataset: str, schema: RecordSchema, records: Sequence[Any],
                     partitions: Sequence[str], *, together: bool = False) -> list[tuple[str, str | Segment]]:
    """Write ``records`` as an Arrow IPC stream per partition (``partitions``: each record's); return (partition,
    where) in partition order: one file per partition in the partition's folder (a folder that is listed), or
    with ``together`` all of them in one file (its segments). The records become one table, put in partition
    order at once (a stable sort: each partition's records in their order) and cut into a slice a partition: one
    conversion and one take, not a take a partition (a task's resources fall in ~100 partitions)."""
    codes: dict[str, int] = {}
    code_of = np.fromiter((codes.setdefault(partition, len(codes)) for partition in partitions), dtype=np.int64,
                          count=len(partitions))
    if not codes:
        return []
    names = sorted(codes)
    rank = np.empty(len(names), dtype=np.int64)
    rank[[codes[name] for name in names]] = np.arange(len(names))
    ranks = rank[code_of]                                 # each record's partition's place among ``names``
    sizes = np.bincount(ranks, minlength=len(names))
    table = schema.table(records)
    if len(names) > 1:
        table = table.take(pa.array(np.argsort(ranks, kind="stable")))
    streams = [_stream(table.slice(int(end - size), int(size)))
               for end, size in zip(np.cumsum(sizes).tolist(), sizes.tolist())]
    if together:
        return list(zip(names, _store_together(root, dataset, streams, "arrow")))
    return [(partition, _store(root, f"{dataset}/{partition}", stream, "arrow"))
            for partition, stream in zip(names, streams)]


def read_records(paths: Sequence[str | Segment], schema: RecordSchema, order: Sequence[str]) -> pa.Table:
    """The records of a partition's files (or segments) in one table, sorted by ``order`` (unique per record)."""
    tables = [ipc.open_stream(_read(path)).read_all() for path in sorted(paths)]
    table = pa.concat_tables(tables) if tables else schema.arrow.empty_table()
    if table.num_rows:
        table = table.take(pc.sort_indices(table, [(name, "ascending") for name in order]))
    return table.combine_chunks()


def spill_objects(root: str, folder: str, objects: Any) -> str:
    """Our own records (Python objects) between two stages of one run: pickled, read back by the same code."""
    return _store(root, folder, pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL), "pickle")


def spill_together(root: str, folder: str, groups: Sequence[Any]) -> list[Segment]:
    """Several groups of our own records in one file: each group pickled, read back alone (:func:`read_objects`)."""
    return _store_together(root, folder, [pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL) for group in groups],
                           "pickle")


def read_objects(path: str | Segment) -> Any:
    return pickle.loads(_read(path))


__all__ = ["SPILL", "Segment", "spill_partitions", "read_records", "spill_objects", "spill_together", "read_objects"]
