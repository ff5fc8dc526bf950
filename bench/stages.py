"""One benchmark stage, run in its own process so that its peak memory is its own.

    python -m bench.stages STAGE FOLDER [extra beam args]
prints one JSON line: stage, lines, seconds, peak_rss_mb.
"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

# Imported before the clock starts: a stage's time is its work, not Python start-up.
from gateway.ingest import index_file, process_file
from gateway.options import Settings
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.records import Outcome
from gateway.run import run as run_job
from transforms.parse import _registry


def _files(folder: str) -> list[str]:
    return sorted(str(p) for p in Path(folder).rglob("*.dsn"))


def floor(folder: str) -> int:
    lines = 0
    for path in _files(folder):
        with open(path, "rb") as fh:
            for _ in fh:
                lines += 1
    return lines


def index(folder: str) -> int:
    registry = _registry()
    lines = 0
    for path in _files(folder):
        for item in index_file(path, registry):
            if isinstance(item, Outcome):
                lines += item.counts.read
    return lines


def parse_validate_normalise(folder: str) -> int:
    registry, pseudonyms = _registry(), Pseudonymiser(DEMO_KEY)
    lines = 0
    for path in _files(folder):
        lines += process_file(path, registry, pseudonyms).counts.read
    return lines


def run(folder: str, *beam_args: str) -> int:
    with tempfile.TemporaryDirectory() as out:
        return run_job(Settings((folder,), out, DEMO_KEY, beam_args)).manifest["lines_read"]


STAGES = {"floor": floor, "index": index, "parse_validate_normalise": parse_validate_normalise, "run": run}


def main() -> None:
    stage, folder, *extra = sys.argv[1:]
    from gateway import log
    log.configure(json=True)
    started = time.perf_counter()
    lines = STAGES[stage](folder, *extra)
    seconds = time.perf_counter() - started
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"stage": stage + (" " + " ".join(extra) if extra else ""), "lines": lines,
                      "seconds": round(seconds, 3), "peak_rss_mb": round(peak / 1024, 1)}))


if __name__ == "__main__":
    main()
