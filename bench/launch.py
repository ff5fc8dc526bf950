"""What the bench commands share: the generated flows they measure, and one stage run in a fresh process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fixtures.generator import Rates, generate


def bench_flows(folder: Path, people: int, employers: int, months: int) -> None:
    """The flows every bench measures: generated, 3 paying bodies, 1 % defects, a fixed seed."""
    generate(folder, people=people, employers=employers, bodies=3, months=months, seed=1, rates=Rates(defects=0.01))


def run_stage(stage: tuple[str, ...], folder: Path, tree: Path | None = None) -> dict:
    """``python -m bench.stages STAGE FOLDER [args]`` in a fresh process (its JSON line as a dict), with the code
    of ``tree`` (another checkout) or of this one."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-m", "bench.stages", stage[0], str(folder), *stage[1:]], cwd=tree,
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
