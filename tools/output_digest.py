"""Digests of everything a run writes that must not change when code moves (issue 22's byte-identity check).

    python -m tools.output_digest OUT_FOLDER            # digest of every output file of the bundled flows' run
    python -m tools.output_digest OUT_FOLDER --history  # a generated 7-month history, run month by month

Runs the bundled flows (as ``make run`` does) or a generated history into a fresh folder, then prints one
line per written file (its SHA-256 and path) and a digest of the whole. Files that carry the time a run took
or the machine's wall clock (run.json, the HTML reports, the metrics history, the commit log) are left out;
everything the consumers and the register read is in. Run it before and after a refactor and compare.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

SKIPPED_NAMES = {"run.json", "_commits.jsonl", "index.html"}
SKIPPED_PARTS = {"report", "metrics"}


def digests(out: Path) -> list[tuple[str, str]]:
    rows = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        relative = path.relative_to(out)
        if path.name in SKIPPED_NAMES or SKIPPED_PARTS & set(relative.parts) or path.suffix in (".html", ".png"):
            continue
        rows.append((hashlib.sha256(path.read_bytes()).hexdigest()[:16], str(relative)))
    return rows


def _bundled(out: Path) -> None:
    from gateway.options import Settings
    from gateway.pseudonym import DEMO_KEY
    from gateway.run import run
    bundled = Path(__file__).parents[1] / "fixtures" / "bundled"
    run(Settings((str(bundled),), str(out), DEMO_KEY, arrival="folder"))


def _history(out: Path) -> None:
    from fixtures.generator import generate
    from gateway.options import Settings
    from gateway.pseudonym import DEMO_KEY
    from gateway.run import run
    flows = Path(tempfile.mkdtemp(prefix="drm-digest-flows-"))
    try:
        generate(flows, people=60, employers=4, bodies=2, months=7, seed=22)
        for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
            run(Settings((str(folder),), str(out), DEMO_KEY, arrival="folder"))
    finally:
        shutil.rmtree(flows, ignore_errors=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = Path(argv[0])
    if out.exists():
        shutil.rmtree(out)
    (_history if "--history" in argv else _bundled)(out)
    rows = digests(out)
    for digest, name in rows:
        print(digest, name)
    whole = hashlib.sha256("\n".join(f"{d} {n}" for d, n in rows).encode()).hexdigest()[:16]
    print(f"{whole} ALL ({len(rows)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
