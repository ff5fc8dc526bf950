"""Avro files written record by record by fastavro against the bulk encoder (``gateway.publish.avro``), by table size.

    python -m bench.avro [--people 6000] [--repeat 5] [--out bench/results/avro.json]

The rows: the resource records of generated flows (32 fields, the run's biggest dataset) and the bases a register
of those flows publishes (18 fields). For each table size, best of ``--repeat``: fastavro's time and the encoder's
(µs a record), their ratio, and whether their bytes are equal (they must be). The sizes around the break-even
(``gateway.publish.datasets.BULK_AVRO_FROM``) say where the encoder starts to pay.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from bench.launch import bench_flows
from gateway.ingest import process_file
from gateway.publish.avro import encode_table
from gateway.publish.datasets import fastavro_bytes
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.rules import default_registry
from schemas.records import REFERENCE_BASE, RESOURCE_MONTH

SIZES = (16, 64, 128, 256, 1024, 4096, 16384)


def _outcomes(folder: Path) -> list:
    registry, pseudonyms = default_registry(), Pseudonymiser(DEMO_KEY)
    return [process_file(str(path), registry, pseudonyms) for path in sorted(folder.rglob("*.dsn"))]


def _bases(outcomes: list) -> pa.Table:
    """The bases of every person of the outcomes, as a register of them derives them."""
    from bench.stages import _register_rules, merged_buckets
    return REFERENCE_BASE.table([base for result in merged_buckets(outcomes, _register_rules())
                                 for base in result.derived.bases])


def _best(write, repeat: int) -> tuple[float, bytes]:
    best, data = float("inf"), b""
    for _ in range(repeat):
        started = time.perf_counter()
        data = write()
        best = min(best, time.perf_counter() - started)
    return best, data


def _measure(schema, table: pa.Table, repeat: int) -> list[dict]:
    rows = []
    marker = hashlib.sha256(b"bench/part-00").digest()[:16]
    for size in (size for size in SIZES if size <= table.num_rows):
        part = table.slice(0, size)
        slow, expected = _best(lambda: fastavro_bytes(schema, part, marker), repeat)
        fast, found = _best(lambda: encode_table(schema.avro, part, marker), repeat)
        rows.append({"schema": schema.name, "rows": size, "fastavro_us": round(slow / size * 1e6, 2),
                     "bulk_us": round(fast / size * 1e6, 2), "fastavro_over_bulk": round(slow / fast, 2),
                     "same_bytes": found == expected})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default="bench/results/avro.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "flows"
        bench_flows(folder, args.people, max(1, args.people // 50), 2)
        outcomes = _outcomes(folder)
    resources = RESOURCE_MONTH.table([record for outcome in outcomes for record in outcome.resources])
    rows = _measure(RESOURCE_MONTH, resources, args.repeat) + _measure(REFERENCE_BASE, _bases(outcomes), args.repeat)
    print(f"{'schema':16} {'rows':>7} {'fastavro µs':>12} {'bulk µs':>9} {'ratio':>6} same bytes")
    for row in rows:
        print(f"{row['schema']:16} {row['rows']:>7} {row['fastavro_us']:>12} {row['bulk_us']:>9} "
              f"{row['fastavro_over_bulk']:>6} {row['same_bytes']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"people": args.people, "repeat": args.repeat, "rows": rows}, indent=1) + "\n")
    if not all(row["same_bytes"] for row in rows):
        raise SystemExit("the bulk encoder's bytes differ from fastavro's")


if __name__ == "__main__":
    main()
