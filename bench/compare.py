"""Compare two commits on the same generated flows, their runs interleaved.

    python -m bench.compare --base REV [--people 4000 --employers 80 --months 5] [--repeat 5]
        [--stages run,run2,parse_validate_normalise,register]

This machine kind is shared: the same code runs up to 30 % slower from one hour to the next, so
figures measured on different days (or one commit after the other) cannot tell a 10 % change.
Here the base commit (checked out in a temporary git worktree) and the working tree take turns,
stage by stage, each run in a fresh process with the same Python: both see the same machine. Prints
the best and the median seconds of each, and the ratio base / current (above 1: the current code is
faster). Nothing is written to the repository.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.launch import bench_flows, run_stage

STAGE_ARGS = {"run2": ("run", "--direct_num_workers=2")}


def _once(tree: Path, stage: str, folder: Path) -> float:
    return run_stage(STAGE_ARGS.get(stage, (stage,)), folder, tree)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="The commit to compare the working tree with.")
    parser.add_argument("--people", type=int, default=4000)
    parser.add_argument("--employers", type=int, default=80)
    parser.add_argument("--months", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stages", default="run,run2,parse_validate_normalise,register")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(base), args.base],
                       check=True, capture_output=True)
        try:
            folder = Path(tmp) / "flows"
            bench_flows(folder, args.people, args.employers, args.months)
            print(f"{args.base} (base) vs the working tree, {args.people} people, best and median of "
                  f"{args.repeat} interleaved runs")
            print(f"{'stage':<28} {'base best':>10} {'now best':>10} {'base med':>10} {'now med':>10} {'ratio':>7}")
            for stage in args.stages.split(","):
                times: dict[str, list[float]] = {"base": [], "now": []}
                for _ in range(args.repeat):
                    times["base"].append(_once(base, stage, folder))
                    times["now"].append(_once(here, stage, folder))
                best = {k: min(v) for k, v in times.items()}
                median = {k: statistics.median(v) for k, v in times.items()}
                print(f"{stage:<28} {best['base']:>10.2f} {best['now']:>10.2f} {median['base']:>10.2f} "
                      f"{median['now']:>10.2f} {median['base'] / median['now']:>7.2f}")
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(base)],
                           check=False, capture_output=True)


if __name__ == "__main__":
    main()
