"""Register growth: run time and register size for a generated history, and when the history doubles.

    python -m bench.register [--people 1000] [--employers 40] [--months 42] [--out bench/results/register.json]

For each history length (N and 2N months): one batch run over everything (time, register bytes, files,
versions, flags, bases, floating rate), then the same history run month by month, each monthly run timed:
the cost of a monthly run once the register holds N (or 2N) months. Months settle after 42 months with
the default policy (gateway.versioning.horizon): past that, a monthly run should cost the same however
long the register's history.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from fixtures.generator import generate
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store

KEY = b"bench-register-key-0123456789abcdef"


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def _measure(root: Path, people: int, employers: int, months: int) -> dict:
    flows = root / f"flows-{months}"
    generate(flows, people=people, employers=employers, bodies=3, months=months, seed=3)
    lines = sum(p.read_bytes().count(b"\n") for p in flows.rglob("*.dsn"))
    started = time.perf_counter()
    batch = run(Settings((str(flows),), str(root / f"batch-{months}"), KEY))
    batch_seconds = time.perf_counter() - started
    register = root / f"batch-{months}" / "history" / "register"
    size, files = _size(register)
    arrivals = sorted(p for p in flows.iterdir() if p.is_dir())
    incremental = root / f"incremental-{months}"
    monthly = []
    for folder in arrivals:
        started = time.perf_counter()
        last = run(Settings((str(folder),), str(incremental), KEY))
        monthly.append(round(time.perf_counter() - started, 2))
    last_seconds = monthly[-1]
    return {"months": months, "files": len(list(flows.rglob("*.dsn"))), "lines": lines,
            "batch_seconds": round(batch_seconds, 2), "register_bytes": size, "register_files": files,
            "versions": len(store.load_all_versions(register)), "resource_months": batch.manifest["floating"]["months"],
            "floating_rate": batch.manifest["floating"]["rate"],
            "last_month_lines": last.manifest["lines_read"], "last_month_seconds": last_seconds,
            "monthly_seconds": monthly}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--employers", type=int, default=40)
    parser.add_argument("--months", type=int, default=42)
    parser.add_argument("--out", default="bench/results/register.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [_measure(Path(tmp), args.people, args.employers, months) for months in (args.months, 2 * args.months)]
    print(f"{'months':>6} {'lines':>10} {'batch s':>8} {'register MB':>12} {'files':>6} {'versions':>9} "
          f"{'floating':>9} {'last month s':>13}")
    for row in rows:
        print(f"{row['months']:>6} {row['lines']:>10,} {row['batch_seconds']:>8.2f} {row['register_bytes'] / 1e6:>12.2f} "
              f"{row['register_files']:>6} {row['versions']:>9,} {row['floating_rate']:>9.1%} "
              f"{row['last_month_seconds']:>13.2f}")
    for row in rows:
        curve = row["monthly_seconds"]
        marks = sorted({m for m in (6, 12, 24, 36, 42, 48, 60, 72, 84) if m <= len(curve)} | {len(curve)})
        print(f"monthly run s ({row['months']} months history): "
              + ", ".join(f"month {m}: {sum(curve[max(0, m - 3):m]) / len(curve[max(0, m - 3):m]):.2f}" for m in marks)
              + "  (mean of 3 runs ending there)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"people": args.people, "employers": args.employers, "rows": rows},
                                         indent=1) + "\n")


if __name__ == "__main__":
    main()
