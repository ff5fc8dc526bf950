"""The one atomic writer (and reader) of every file the gateway writes: datasets, staging, the register, the
run's JSON and reports, correction notices.

A file is written under a temporary name beside its final path, then renamed over it: a reader never sees
a half-written file, and a crash leaves the previous version in place. A local path goes through ``os``
(rename is atomic on one file system); a URI (``s3://``, ``gs://``, ``hdfs://``…) through pyarrow's file
systems, whose rename of an object is a copy then a delete. Paths stay strings for URIs: ``pathlib`` would
turn ``s3://b/k`` into ``s3:/b/k``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

Target = str | os.PathLike


def is_uri(path: Target) -> bool:
    return "://" in os.fspath(path)


def _remote(path: str):
    from pyarrow import fs
    return fs.FileSystem.from_uri(path)


def _temporary(path: str) -> str:
    return path + ".tmp"


def write_bytes(path: Target, data: bytes) -> None:
    """``data`` as the whole content of ``path``, atomically; parent folders are made as needed."""
    write_chunks(path, (data,))


def write_chunks(path: Target, chunks: Iterable[bytes | str], end: str = "") -> None:
    """Content produced piece by piece (a streamed template, a JSON encoder), written atomically. Text
    chunks are encoded as UTF-8."""
    text = os.fspath(path)
    temporary = _temporary(text)
    if is_uri(text):
        filesystem, where = _remote(text)
        filesystem.create_dir(where.rsplit("/", 1)[0], recursive=True)
        with filesystem.open_output_stream(_temporary(where)) as fh:
            _copy(chunks, end, fh)
        filesystem.move(_temporary(where), where)
        return
    Path(text).parent.mkdir(parents=True, exist_ok=True)
    with open(temporary, "wb") as fh:
        _copy(chunks, end, fh)
    os.replace(temporary, text)


def _copy(chunks: Iterable[bytes | str], end: str, fh) -> None:
    for chunk in chunks:
        fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    if end:
        fh.write(end.encode("utf-8"))


def write_text(path: Target, text: str) -> None:
    write_chunks(path, (text,))


def write_json(path: Target, data: Any) -> None:
    """``data`` as indented, key-sorted JSON, encoded piece by piece (a big manifest is not one string)."""
    write_chunks(path, json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False).iterencode(data), "\n")


def write_parquet(path: Target, table: pa.Table, **options: Any) -> None:
    """An Arrow table as a zstd Parquet file, atomically (``options``: pyarrow's, e.g. ``row_group_size``)."""
    text = os.fspath(path)
    if is_uri(text):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd", **options)
        write_bytes(text, sink.getvalue().to_pybytes())
        return
    Path(text).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, _temporary(text), compression="zstd", **options)
    os.replace(_temporary(text), text)


def list_files(folder: Target) -> list[str]:
    """Every file below ``folder`` (recursively), sorted; none when it does not exist."""
    text = os.fspath(folder)
    if is_uri(text):
        from pyarrow import fs
        filesystem, where = _remote(text)
        scheme = text.split("://", 1)[0]
        try:
            infos = filesystem.get_file_info(fs.FileSelector(where, recursive=True))
        except FileNotFoundError:
            return []
        return sorted(f"{scheme}://{info.path}" for info in infos if info.type == fs.FileType.File)
    root = Path(text)
    return sorted(str(path) for path in root.rglob("*") if path.is_file()) if root.is_dir() else []


def file_size(path: Target) -> int | None:
    """The size of a file in bytes, or None when there is no such file."""
    text = os.fspath(path)
    if is_uri(text):
        from pyarrow import fs
        filesystem, where = _remote(text)
        info = filesystem.get_file_info(where)
        return info.size if info.type == fs.FileType.File else None
    try:
        return os.stat(text).st_size
    except FileNotFoundError:
        return None


def exists(path: Target) -> bool:
    return file_size(path) is not None


def parquet_metadata(path: Target) -> pq.FileMetaData:
    """A Parquet file's footer (row count, row groups and their column statistics)."""
    text = os.fspath(path)
    if is_uri(text):
        filesystem, where = _remote(text)
        with filesystem.open_input_file(where) as fh:
            return pq.ParquetFile(fh).metadata
    return pq.read_metadata(text)


def read_bytes(path: Target) -> bytes:
    text = os.fspath(path)
    if is_uri(text):
        filesystem, where = _remote(text)
        with filesystem.open_input_stream(where) as fh:
            return fh.read()
    with open(text, "rb") as fh:
        return fh.read()


__all__ = ["exists", "file_size", "is_uri", "list_files", "parquet_metadata", "read_bytes", "write_bytes", "write_chunks", "write_json", "write_parquet", "write_text"]
