"""Benchmark the gateway on generated flows and print lines/s, MB/s, peak memory and the ratio to
the floor (``for line in f`` over the same files, measured in the same run).

    python -m bench [--people 4000] [--months 5] [--sizes 1,4,16] [--repeat 3] [--out bench/results/latest.json]

``--sizes`` multiplies the people (and so the lines) to check that time grows linearly.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.launch import bench_flows, run_stage

STAGES = [("floor",), ("index",), ("blocks",), ("parse",), ("validate",), ("normalise",), ("parse_validate_normalise",),
          ("parse_validate_normalise_reference",), ("register",), ("gate",), ("register_monthly",),
          ("register_monthly_reference",), ("run",), ("run", "--direct_num_workers=2")]
# stage -> its reference path (the path its fast path is proven equal to), measured in the same bench run
REFERENCES = {"parse_validate_normalise": "parse_validate_normalise_reference",
              "register_monthly": "register_monthly_reference"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=4000)
    parser.add_argument("--employers", type=int, default=40)
    parser.add_argument("--months", type=int, default=5)
    parser.add_argument("--out", default="bench/results/latest.json")
    parser.add_argument("--sizes", default="1", help="Comma-separated multipliers of --people, e.g. 1,4,16.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per stage; the shortest time is kept.")
    args = parser.parse_args()
    report = {"months": args.months, "repeat": args.repeat, "sizes": []}
    for factor in (int(x) for x in args.sizes.split(",")):
        people = args.people * factor
        report["sizes"].append({"people": people, **_measure(people, args.employers * factor, args.months, args.repeat)})
    if len(report["sizes"]) > 1:
        base = report["sizes"][0]
        print("\nscaling (time per line relative to the smallest size; 1.0 = linear):")
        for size in report["sizes"]:
            ratios = [round((row["seconds"] / row["lines"]) / (first["seconds"] / first["lines"]), 2)
                      for row, first in zip(size["stages"], base["stages"])]
            print(f"  {size['people']:>7} people: " + ", ".join(f"{row['stage']} {r}" for row, r in
                                                             zip(size["stages"], ratios)))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


def _best(stage: tuple[str, ...], folder: Path, repeat: int) -> dict:
    """The stage run ``repeat`` times, each in a fresh process: the shortest time (the least disturbed by
    other load on the machine, as timeit does) and the highest peak memory seen."""
    runs = []
    for _ in range(repeat):
        runs.append(run_stage(stage, folder))
    best = min(runs, key=lambda row: row["seconds"])
    return {**best, "peak_rss_mb": max(row["peak_rss_mb"] for row in runs), "repeats": repeat}


def _measure(people: int, employers: int, months: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "flows"
        bench_flows(folder, people, employers, months)
        size = sum(p.stat().st_size for p in folder.rglob("*.dsn"))
        results = []
        for stage in STAGES:
            results.append(_best(stage, folder, repeat))
    floor = results[0]["lines"] / results[0]["seconds"]
    seconds = {row["stage"]: row["seconds"] for row in results}
    print(f"\n{people} people, {size / 1e6:.1f} MB")
    print(f"{'stage':<40} {'lines':>10} {'s':>8} {'lines/s':>12} {'MB/s':>8} {'x floor':>8} {'x ref':>6} {'peak MB':>8}")
    for row in results:
        rate = row["lines"] / row["seconds"]
        row.update(lines_per_s=round(rate), mb_per_s=round(size / 1e6 / row["seconds"], 2),
                   slower_than_floor=round(floor / rate, 1))
        reference = REFERENCES.get(row["stage"])
        if reference in seconds:
            row["faster_than_reference"] = round(seconds[reference] / row["seconds"], 2)
        print(f"{row['stage']:<40} {row['lines']:>10,} {row['seconds']:>8.2f} {rate:>12,.0f} "
              f"{row['mb_per_s']:>8.1f} {row['slower_than_floor']:>8.1f} "
              f"{row.get('faster_than_reference', ''):>6} {row['peak_rss_mb']:>8.0f}")
    return {"input_bytes": size, "stages": results}


if __name__ == "__main__":
    main()
