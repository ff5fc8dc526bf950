"""Records parked on disk between two stages of a run, so that no shuffle holds a run's records in memory.

Each unit of work (a task of declarations, a file's index) writes its records into the staging folder,
one small file per output partition, and hands on only the file's path. The stage that writes a
partition reads just that partition's files. Memory then follows the size of one task and of one
partition, not the size of the input file: a 1 GB file costs what a 100 MB one does per task.

File names are the digest of their content: a rerun writes the same names, and two units never
collide (every record carries its file and line).
"""
from __future__ import annotations

import hashlib
import io
import pickle
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
from gateway.storage import read_bytes, write_bytes
from schemas.records import RecordSchema

SPILL = "_spill"


def _store(root: str, folder: str, data: bytes, suffix: str) -> str:
    path = f"{root}/{SPILL}/{folder}/{hashlib.sha256(data).hexdigest()[:24]}.{suffix}"
    write_bytes(path, data)
    return path


def _spill_table(root: str, folder: str, table: pa.Table) -> str:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema, options=ipc.IpcWriteOptions(compression=None)) as writer:
        writer.write_table(table)
    return _store(root, folder, sink.getvalue(), "arrow")


def spill_partitions(root: str, dataset: str, schema: RecordSchema, records: Sequence[Any],
                     partitions: Sequence[str]) -> list[tuple[str, str]]:
    """Write ``records`` as one Arrow IPC file per partition (``partitions``: each record's); return (partition,
    path) in partition order. The records become one table, taken apart by partition: one conversion, not one
    per partition."""
    rows: dict[str, list[int]] = {}
    for row, partition in enumerate(partitions):
        rows.setdefault(partition, []).append(row)
    if not rows:
        return []
    table = schema.table(list(records))
    if len(rows) == 1:
        return [(partition, _spill_table(root, f"{dataset}/{partition}", table)) for partition in rows]
    return [(partition, _spill_table(root, f"{dataset}/{partition}", table.take(pa.array(rows[partition]))))
            for partition in sorted(rows)]


def read_records(paths: Sequence[str], schema: RecordSchema, order: Sequence[str]) -> pa.Table:
    """The records of a partition's files in one table, sorted by ``order`` (unique per record)."""
    tables = [ipc.open_stream(read_bytes(path)).read_all() for path in sorted(paths)]
    table = pa.concat_tables(tables) if tables else schema.arrow.empty_table()
    if table.num_rows:
        table = table.take(pc.sort_indices(table, [(name, "ascending") for name in order]))
    return table.combine_chunks()


def spill_objects(root: str, folder: str, objects: Any) -> str:
    """Our own records (Python objects) between two stages of one run: pickled, read back by the same code."""
    return _store(root, folder, pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL), "pickle")


def read_objects(path: str) -> Any:
    return pickle.loads(read_bytes(path))


__all__ = ["SPILL", "spill_partitions", "read_records", "spill_objects", "read_objects"]
