"""The register on disk: an append-only Parquet dataset, one part per run in each table.

    REGISTER/versions/run=<run_id>.parquet        the published versions (schema resource_version)
    REGISTER/contributions/run=<run_id>.parquet   what each declaration said about each key
    REGISTER/declarations/run=<run_id>.parquet    each declaration's slot, rank and arrival

Readable by pyarrow and DuckDB (``SELECT * FROM 'REGISTER/versions/*.parquet'``). A rerun of the same
inputs (same run id) rewrites its own parts from the register as it was without them, so nothing is
duplicated; no other part is ever changed. At scale the same layout maps onto a lake table format
(Iceberg or Delta: one append commit per run, partitioned by month and person bucket).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gateway.versioning.register import Contribution, Declaration, ResourceVersion, VersionCause
from schemas.records import RESOURCE_VERSION

_AMOUNT = pa.int64()
SCHEMAS = {
    "declarations": pa.schema([("slot", pa.string()), ("digest", pa.string()), ("rank", pa.int64()),
                               ("declaration_id", pa.string()), ("declaration_type", pa.string()),
                               ("transaction_time", pa.string()), ("file", pa.string()), ("first_line", pa.int64())]),
    "contributions": pa.schema([("person_key", pa.string()), ("nir", pa.string()), ("declarant_id", pa.string()),
                                ("nature", pa.string()), ("month", pa.string()), ("slot", pa.string()),
                                ("digest", pa.string()), ("causes", pa.string()),
                                *((name, _AMOUNT) for name in ("net_social_cents", "net_taxable_cents",
                                                               "net_paid_cents", "gross_cents", "pas_base_cents",
                                                               "pas_amount_cents"))]),
}


def _part(root: Path, table: str, run_id: str) -> Path:
    return root / table / f"run={run_id}.parquet"


def _rows(root: Path, table: str, exclude_run: str) -> list[dict]:
    folder = root / table
    files = sorted(str(p) for p in folder.glob("run=*.parquet") if p.name != f"run={exclude_run}.parquet") \
        if folder.exists() else []
    return ds.dataset(files, format="parquet").to_table().to_pylist() if files else []


def load(root: Path, *, exclude_run: str) -> tuple[list[Declaration], list[Contribution], list[ResourceVersion]]:
    declarations = [Declaration(**row) for row in _rows(root, "declarations", exclude_run)]
    contributions = [Contribution(**row) for row in _rows(root, "contributions", exclude_run)]
    versions = [RESOURCE_VERSION.from_row(row) for row in _rows(root, "versions", exclude_run)]
    return declarations, contributions, versions


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, path)


def _plain_table(items: list[Any], table: str) -> pa.Table:
    schema = SCHEMAS[table]
    return pa.Table.from_pydict({name: [getattr(item, name) for item in items] for name in schema.names},
                                schema=schema)


def append(root: Path, run_id: str, declarations: list[Declaration], contributions: list[Contribution],
           versions: list[ResourceVersion]) -> None:
    """Write this run's parts (versions last: a reader of versions never sees them before their inputs)."""
    _write(_part(root, "declarations", run_id), _plain_table(declarations, "declarations"))
    _write(_part(root, "contributions", run_id), _plain_table(contributions, "contributions"))
    ordered = sorted(versions, key=lambda v: (v.month, v.person_key, v.declarant_id, v.nature, v.version))
    _write(_part(root, "versions", run_id), RESOURCE_VERSION.table(ordered))


__all__ = ["append", "load", "VersionCause"]
