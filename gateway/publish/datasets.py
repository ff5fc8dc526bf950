"""One partition of a dataset -> a Parquet file (and an Avro file), written under a temporary
name and renamed (``gateway.storage``: local paths or a cluster's object storage), with deterministic
content (sorted rows, fixed Avro sync marker).
"""
from __future__ import annotations

import functools
import hashlib
import io
from typing import Any, Sequence

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
from gateway.publish.avro import encode_table
from gateway.storage import PARQUET_OPTIONS, write_bytes
from schemas.records import RecordSchema

BUCKETS = 8
# People whose records a file of a dataset holds, about: a run's resources (each month's), quarantine and warnings
# are written in ``parts_for(people)`` files, at most BUCKETS. Each file costs a few milliseconds whatever its rows
# (a Parquet writer, an Avro header, a file created): at 250 people, 8 files a month of ~100 rows each were a tenth
# of the run (bench: 1.36 -> 1.22 s); from 16,000 people on, 8 parts as before.
PEOPLE_PER_PART = 2000


@functools.lru_cache(maxsize=1 << 16)
def bucket_of(text: str, buckets: int = BUCKETS) -> int:
    """A stable bucket of ``text`` (a person key, a slot): remembered, as a run asks it for every record of a
    person."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % buckets


def bucket_count(people: int, per_bucket: int, most: int) -> int:
    """The smallest power of two (at most ``most``) of buckets holding at most ``per_bucket`` of ``people`` each:
    powers of two, so that a person's bucket (``bucket_of``) among half as many is its bucket modulo that."""
    count = 1
    while count * per_bucket < people and count < most:
        count *= 2
    return count


def parts_for(people: int) -> int:
    """How many files a run writes each month of its resources in (and its quarantine, its warnings): one per
    PEOPLE_PER_PART of ``people``, a power of two, at most BUCKETS. A record's file is ``bucket_of`` its person (its
    file, for quarantine) among them: with fewer parts, the same records, fewer files."""
    return bucket_count(people, PEOPLE_PER_PART, BUCKETS)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue()


# Rows from which the bulk encoder is the faster (measured here: it costs ~3 ms a 32-field table before any row,
# fastavro ~35 µs a row; the same at ~110 rows for resources and for bases)
BULK_AVRO_FROM = 128


def avro_bytes(schema: RecordSchema, table: pa.Table, partition: str) -> bytes:
    """The Avro file of ``table``: encoded in bulk from its columns (``gateway.publish.avro``) from BULK_AVRO_FROM
    rows, else (or when the encoder does not take it) by fastavro record by record; the same bytes either way."""
    marker = hashlib.sha256(partition.encode()).digest()[:16]   # fixed marker: identical reruns
    encoded = encode_table(schema.avro, table, marker) if table.num_rows >= BULK_AVRO_FROM else None
    return encoded if encoded is not None else fastavro_bytes(schema, table, marker)


def fastavro_bytes(schema: RecordSchema, table: pa.Table, marker: bytes) -> bytes:
    """The Avro file of ``table`` written record by record by fastavro: the reference of the bulk encoder."""
    sink = io.BytesIO()
    # Avro's date is the number of days since 1970-01-01: dates handed over as those numbers (a cast of the
    # whole column) spare fastavro a date object per value and its conversion; the bytes are the same.
    table = pa.Table.from_arrays([column.cast(pa.int32()) if pa.types.is_date32(column.type) else column
                                  for column in table.columns], names=table.column_names)
    rows = (row for batch in table.to_batches(max_chunksize=10_000) for row in batch.to_pylist())
    # The raw schema (not a parsed one, whose key order varies by process) keeps headers identical.
    fastavro.writer(sink, schema.avro, rows, codec="deflate", sync_marker=marker)
    return sink.getvalue()


def write_table(root: str, dataset: str, partition: str, schema: RecordSchema, table: pa.Table,
                *, avro: bool) -> list[str]:
    """Write ``table`` (already sorted) as ``root/dataset/partition.parquet`` (+ Avro copy)."""
    written = []
    path = f"{root}/{dataset}/{partition}.parquet"
    write_bytes(path, parquet_bytes(table))
    written.append(path)
    if avro:
        avro_path = f"{root}/avro/{dataset}/{partition}.avro"
        write_bytes(avro_path, avro_bytes(schema, table, f"{dataset}/{partition}"))
        written.append(avro_path)
    return written


def write_partition(root: str, dataset: str, partition: str, schema: RecordSchema, records: Sequence[Any],
                    *, avro: bool) -> list[str]:
    """Write ``records`` (already sorted) as ``root/dataset/partition.parquet`` (+ Avro copy)."""
    return write_table(root, dataset, partition, schema, schema.table(records), avro=avro)
