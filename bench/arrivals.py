"""A small arrival into a register with history: what 25 arriving people cost once the register holds months of
monthly runs, against the same arrival into an empty register.

    python -m bench.arrivals [--people 1000] [--employers 40] [--months 24] [--arrivals 25] [--repeat 3]
                             [--out bench/results/arrivals.json]

The history: ``--months`` of generated flows, run month by month (as monthly operation does). The arrival: one
employer's and one paying body's declarations for the last month, ``--arrivals`` people, arriving four hours
after the last monthly run (the same day), or two days after it (the same month, no due date in between: the
people whose decisions are PENDING or NOTIFIED are re-examined too). Each measure runs in a fresh copy of the
register (best and median of ``--repeat``, each run in a fresh process, the four cases in turn): into an empty
register, into the history (the people the run concerns re-examined), and into the history with ``rederive_all``
(every person of the buckets the run touches re-examined: the reference, what a run cost before the incremental
register).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures.generator import generate
from gateway.months import add_months
from gateway.options import Settings
from gateway.run import run

KEY = b"bench-arrivals-key-0123456789abcdef"


def _history(root: Path, people: int, employers: int, months: int) -> tuple[Path, float]:
    """The register after ``months`` monthly runs; the arrival time of the last run's files."""
    flows = root / "flows"
    generate(flows, people=people, employers=employers, bodies=3, months=months, seed=3)
    out = root / "history"
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        run(Settings((str(folder),), str(out), KEY))
    last = max(p.stat().st_mtime for p in flows.rglob("*.dsn"))
    return out, last


def _arrival(root: Path, people: int, months: int, at: float, name: str) -> Path:
    """``people`` new people of one employer and one paying body, declared for the history's last month."""
    flows = root / "arrival-flows"
    start = add_months("2025-01", months - 1)           # the generator's first month is 2025-01
    if not flows.exists():
        generate(flows, people=people, employers=1, bodies=1, months=1, seed=11, start=start)
    folder = root / name
    folder.mkdir()
    for path in flows.rglob("*.dsn"):
        target = folder / path.name
        shutil.copy(path, target)
        os.utime(target, (at, at))
    return folder


def _once_in(folder: Path, out: Path, template: Path | None, rederive_all: bool = False) -> dict:
    """One run of ``folder`` into a fresh copy of ``template`` (None: an empty register), in a fresh process (as a
    monthly run is: a process that built the history before runs every later run ~0.4 s slower, which made the
    arrivals look cheaper against the empty register), timed from the call of the run to its end (imports apart)."""
    shutil.rmtree(out, ignore_errors=True)
    if template is not None:
        shutil.copytree(template, out)
    done = subprocess.run([sys.executable, "-m", "bench.arrivals", "--once", str(folder), str(out),
                           *(["--rederive-all"] if rederive_all else [])],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _timed(cases: dict[str, tuple], repeat: int) -> dict[str, dict]:
    """Best of ``repeat`` runs of each case ((folder, out, template, rederive_all)), the cases taken in turn within
    each repetition: the machine's load drifts over minutes (±0.15 on the ratio when each case ran its repetitions
    in a block), and in turns every case meets the same stretches."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    found: dict[str, dict] = {}
    for _ in range(repeat):
        for name, case in cases.items():
            found[name] = _once_in(*case)
            seconds[name].append(found[name]["seconds"])
    return {name: {"seconds": round(min(seconds[name]), 2), "median_seconds": round(statistics.median(seconds[name]), 2),
                   "lines": found[name]["lines"], "resources": found[name]["resources"]} for name in cases}


def _once(folder: str, out: str, rederive_all: bool) -> None:
    """One run of ``folder`` into ``out``, timed inside this process; its figures as a JSON line."""
    from gateway import log
    log.configure(json=True)
    started = time.perf_counter()
    manifest = run(Settings((folder,), out, KEY, rederive_all=rederive_all)).manifest
    print(json.dumps({"seconds": time.perf_counter() - started, "lines": manifest["lines_read"],
                      "resources": manifest["resources"]}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--employers", type=int, default=40)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--arrivals", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="bench/results/arrivals.json")
    parser.add_argument("--once", nargs=2, metavar=("FOLDER", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--rederive-all", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        _once(*args.once, args.rederive_all)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        history, last = _history(root, args.people, args.employers, args.months)
        same_day = _arrival(root, args.arrivals, args.months, last + 4 * 3600, "arrival-same-day")
        later = _arrival(root, args.arrivals, args.months, last + 2 * 24 * 3600, "arrival-two-days-later")
        rows = _timed({"empty_register": (same_day, root / "empty", None),
                       "history": (same_day, root / "into-history", history),
                       "history_two_days_later": (later, root / "into-history-later", history),
                       "history_rederive_all": (same_day, root / "into-history-all", history, True)}, args.repeat)
    empty = rows["empty_register"]["seconds"]
    print(f"{args.arrivals} arriving people ({rows['empty_register']['lines']} lines) after {args.months} monthly runs "
          f"of {args.people} people; best of {args.repeat}")
    print(f"{'into':<22} {'s':>6} {'x empty':>8} {'median':>7} {'x empty':>8}")
    for name, row in rows.items():
        print(f"{name:<22} {row['seconds']:>6.2f} {row['seconds'] / empty:>8.2f} {row['median_seconds']:>7.2f} "
              f"{row['median_seconds'] / rows['empty_register']['median_seconds']:>8.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    medians = {name: row["median_seconds"] / rows["empty_register"]["median_seconds"] for name, row in rows.items()}
    Path(args.out).write_text(json.dumps({"people": args.people, "employers": args.employers, "months": args.months,
                                          "arrivals": args.arrivals, "repeat": args.repeat, **rows,
                                          "ratio_to_empty": round(rows["history"]["seconds"] / empty, 2),
                                          "ratio_to_empty_two_days_later": round(
                                              rows["history_two_days_later"]["seconds"] / empty, 2),
                                          "ratio_to_empty_rederive_all": round(
                                              rows["history_rederive_all"]["seconds"] / empty, 2),
                                          "median_ratio_to_empty": round(medians["history"], 2),
                                          "median_ratio_to_empty_two_days_later": round(
                                              medians["history_two_days_later"], 2)},
                                         indent=1) + "\n")


if __name__ == "__main__":
    main()
