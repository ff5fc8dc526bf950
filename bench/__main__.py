"""Benchmark the gateway on generated flows and print lines/s, MB/s, peak memory and the ratio to
the floor (``for line in f`` over the same files, measured in the same run).

    python -m bench [--people 4000] [--months 5] [--out bench/results/latest.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from fixtures.generator import Rates, generate

STAGES = [("floor",), ("index",), ("parse",), ("validate",), ("parse_validate_normalise",), ("run",),
          ("run", "--direct_num_workers=2")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=4000)
    parser.add_argument("--employers", type=int, default=40)
    parser.add_argument("--months", type=int, default=5)
    parser.add_argument("--out", default="bench/results/latest.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "flows"
        generate(folder, people=args.people, employers=args.employers, bodies=3, months=args.months, seed=1,
                 rates=Rates(defects=0.01))
        size = sum(p.stat().st_size for p in folder.rglob("*.dsn"))
        results = []
        for stage in STAGES:
            done = subprocess.run([sys.executable, "-m", "bench.stages", stage[0], str(folder), *stage[1:]],
                                  capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    floor = results[0]["lines"] / results[0]["seconds"]
    print(f"{'stage':<40} {'lines':>10} {'s':>8} {'lines/s':>12} {'MB/s':>8} {'x floor':>8} {'peak MB':>8}")
    for row in results:
        rate = row["lines"] / row["seconds"]
        row.update(lines_per_s=round(rate), mb_per_s=round(size / 1e6 / row["seconds"], 2),
                   slower_than_floor=round(floor / rate, 1))
        print(f"{row['stage']:<40} {row['lines']:>10,} {row['seconds']:>8.2f} {rate:>12,.0f} "
              f"{row['mb_per_s']:>8.1f} {row['slower_than_floor']:>8.1f} {row['peak_rss_mb']:>8.0f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"input_bytes": size, "people": args.people, "months": args.months,
                                          "stages": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
