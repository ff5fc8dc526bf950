"""Delta Lake vs Apache Iceberg on the register's workload (issue 24: the figures that chose the format).

    python -m bench.table_format [--runs 24] [--buckets 16] [--rows 2000] [--out bench/results/table_format.json]

The workload is the register's, on rows shaped like its versions table (person, declarant, month, amounts,
the run that wrote them), partitioned by person bucket:
- **append per run**: every run writes one file per bucket, committed in one transaction (Delta: the files
  written beforehand, then one commit of their add actions, as the pipeline's workers and driver do;
  Iceberg: the same files added by ``add_files`` in one commit, with a SQL catalog on SQLite);
- **open months of one bucket**: the rows of one bucket from a month on (a run's read of its people);
- **as of a run**: the rows visible after run k (Delta: ``load_as_version``; Iceberg: the scan of snapshot k);
- **compaction and retention**: Delta ``optimize.compact`` + ``vacuum``; Iceberg ``expire_snapshots`` (pyiceberg
  has no data-file compaction).
Each step is timed (best of ``--repeat``) and the register's files counted.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([("person_key", pa.string()), ("declarant_id", pa.string()), ("month", pa.string()),
                    ("nature", pa.string()), ("version", pa.int64()), ("net_social_cents", pa.int64()),
                    ("transaction_time", pa.string()), ("run_id", pa.string()), ("bucket", pa.int32())])


def _month(index: int) -> str:
    return f"{2023 + index // 12}-{index % 12 + 1:02d}"


def _rows(run: int, bucket: int, rows: int, seed: int) -> pa.Table:
    rng = random.Random(seed * 1_000_003 + run * 101 + bucket)
    months = [_month(max(0, run - rng.randrange(0, 4))) for _ in range(rows)]
    return pa.table({"person_key": [f"p{bucket:02d}-{rng.randrange(rows * 4):06d}" for _ in range(rows)],
                     "declarant_id": [f"D{rng.randrange(500):05d}" for _ in range(rows)], "month": months,
                     "nature": ["01"] * rows, "version": [1] * rows,
                     "net_social_cents": [rng.randrange(0, 400_000) for _ in range(rows)],
                     "transaction_time": [f"{_month(run)}-20T00:00:00"] * rows, "run_id": [f"r{run:04d}"] * rows,
                     "bucket": pa.array([bucket] * rows, pa.int32())}, schema=SCHEMA)


def _files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


class Delta:
    name = "delta"

    def __init__(self, root: Path) -> None:
        from deltalake import DeltaTable
        self.uri = str(root / "versions")
        DeltaTable.create(self.uri, schema=SCHEMA, partition_by=["bucket"])

    def append(self, run: int, tables: dict[int, pa.Table]) -> None:
        from deltalake import DeltaTable
        from deltalake.transaction import AddAction
        actions = []
        for bucket, table in tables.items():
            relative = f"bucket={bucket}/run=r{run:04d}.parquet"
            path = Path(self.uri) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.drop(["bucket"]), path, compression="zstd")
            actions.append(AddAction(relative, path.stat().st_size, {"bucket": str(bucket)},
                                     int(time.time() * 1000), True, json.dumps({"numRecords": table.num_rows})))
        DeltaTable(self.uri).create_write_transaction(actions, mode="append", schema=SCHEMA, partition_by=["bucket"])

    def open_months(self, bucket: int, first: str) -> int:
        from deltalake import DeltaTable
        import pyarrow.dataset as ds
        dataset = DeltaTable(self.uri).to_pyarrow_dataset()
        return dataset.to_table(filter=(ds.field("bucket") == bucket) & (ds.field("month") >= first)).num_rows

    def as_of(self, run: int) -> int:
        from deltalake import DeltaTable
        table = DeltaTable(self.uri)
        table.load_as_version(run + 1)                      # version 0 is the table's creation
        return table.to_pyarrow_dataset().count_rows()

    def compact(self) -> None:
        from deltalake import DeltaTable
        table = DeltaTable(self.uri)
        table.optimize.compact()
        table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)


class Iceberg:
    name = "iceberg"

    def __init__(self, root: Path) -> None:
        from pyiceberg.catalog.sql import SqlCatalog
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.transforms import IdentityTransform
        self.root = root
        self.catalog = SqlCatalog("register", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}")
        self.catalog.create_namespace("register")
        table = self.catalog.create_table("register.versions", schema=SCHEMA)
        field = table.schema().find_field("bucket").field_id
        with table.update_spec() as spec:
            spec.add_field("bucket", IdentityTransform(), "bucket")
        del field, PartitionField, PartitionSpec
        self.snapshots: list[int] = []

    def _table(self):
        return self.catalog.load_table("register.versions")

    def append(self, run: int, tables: dict[int, pa.Table]) -> None:
        paths = []
        for bucket, table in tables.items():
            path = self.root / "data" / f"bucket={bucket}" / f"run=r{run:04d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd")
            paths.append(str(path))
        table = self._table()
        table.add_files(paths)
        self.snapshots.append(table.current_snapshot().snapshot_id)

    def open_months(self, bucket: int, first: str) -> int:
        from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual
        scan = self._table().scan(row_filter=And(EqualTo("bucket", bucket), GreaterThanOrEqual("month", first)))
        return scan.to_arrow().num_rows

    def as_of(self, run: int) -> int:
        return self._table().scan(snapshot_id=self.snapshots[run]).to_arrow().num_rows

    def compact(self) -> None:
        table = self._table()
        table.maintenance.expire_snapshots().older_than(
            __import__("datetime").datetime.now(__import__("datetime").timezone.utc)).commit()


def _timed(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def measure(kind, runs: int, buckets: int, rows: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        register = kind(root)
        appends = []
        for run in range(runs):
            tables = {bucket: _rows(run, bucket, rows, 7) for bucket in range(buckets)}
            appends.append(_timed(lambda: register.append(run, tables)))
        first_open = _month(max(0, runs - 6))
        expected_rows = runs * buckets * rows
        assert register.as_of(runs - 1) == expected_rows, "every appended row is visible"
        read = min(_timed(lambda: register.open_months(3, first_open)) for _ in range(repeat))
        as_of = min(_timed(lambda: register.as_of(runs // 2)) for _ in range(repeat))
        files_before = _files(root)
        compact = _timed(register.compact)
        read_after = min(_timed(lambda: register.open_months(3, first_open)) for _ in range(repeat))
        assert register.open_months(3, "0000") == runs * rows, "compaction keeps every row"
        return {"format": kind.name, "append_first_s": round(appends[0], 4), "append_last_s": round(appends[-1], 4),
                "append_mean_s": round(sum(appends) / len(appends), 4), "read_open_months_s": round(read, 4),
                "as_of_s": round(as_of, 4), "compact_s": round(compact, 4),
                "read_open_months_after_compaction_s": round(read_after, 4),
                "files_before_compaction": files_before, "files_after_compaction": _files(root)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--buckets", type=int, default=16)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="bench/results/table_format.json")
    args = parser.parse_args()
    results = [measure(kind, args.runs, args.buckets, args.rows, args.repeat) for kind in (Delta, Iceberg)]
    for row in results:
        print(" ".join(f"{key}={value}" for key, value in row.items()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"runs": args.runs, "buckets": args.buckets, "rows_per_bucket": args.rows,
                                          "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
