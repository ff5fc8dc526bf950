"""The fixed cost of a run: what a run of one small file costs, most of which does not depend on the file.

    python -m bench.fixed [--repeat 5] [--out bench/results/fixed.json]

Each measure is a fresh process (CPU seconds of the child: user + system; and wall seconds), best of
``--repeat``: the interpreter alone, the imports of the run driver (``gateway.run``: Beam, pyarrow, the
stages), and ``drm-gateway run`` on one generated file of one employer and ten people into an empty output
folder (three Beam pipelines built and run, the register created, the reports written). What the run costs
beyond the imports is Beam's graph construction and runner start-up, the register's tables and the reports:
per run, not per line.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures.generator import generate


def _child(command: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``command`` run to completion in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def _best(command: list[str], repeat: int, before=None) -> dict:
    runs = []
    for _ in range(repeat):
        if before is not None:
            before()
        runs.append(_child(command))
    cpu, wall = min(runs)
    return {"cpu_seconds": round(cpu, 3), "wall_seconds": round(wall, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default="bench/results/fixed.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flows = Path(tmp) / "flows"
        generate(flows, people=10, employers=1, bodies=0, months=1, seed=5)
        file = sorted(flows.rglob("*.dsn"))[0]
        lines = file.read_bytes().count(b"\n")
        out = Path(tmp) / "out"
        rows = {
            "interpreter": _best([sys.executable, "-c", "pass"], args.repeat),
            "imports": _best([sys.executable, "-c", "import gateway.run"], args.repeat),
            "run_one_file": _best([sys.executable, "-m", "gateway", "run", str(file), "--out", str(out),
                                   "--insecure-demo-key"], args.repeat,
                                  before=lambda: shutil.rmtree(out, ignore_errors=True)),
        }
    beyond = round(rows["run_one_file"]["cpu_seconds"] - rows["imports"]["cpu_seconds"], 3)
    print(f"one file of {lines} lines, best of {args.repeat}, fresh processes")
    print(f"{'what':<16} {'CPU s':>8} {'wall s':>8}")
    for name, row in rows.items():
        print(f"{name:<16} {row['cpu_seconds']:>8.2f} {row['wall_seconds']:>8.2f}")
    print(f"{'run - imports':<16} {beyond:>8.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"lines": lines, "repeat": args.repeat, **rows,
                                          "run_beyond_imports_cpu_seconds": beyond}, indent=1) + "\n")


if __name__ == "__main__":
    main()
