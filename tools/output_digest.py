"""Digests of everything a run writes that must not change when code moves (issue 22's byte-identity check).

    python -m tools.output_digest OUT_FOLDER            # digest of every output file of the bundled flows' run
    python -m tools.output_digest OUT_FOLDER --history  # a generated 7-month history, run month by month

Runs the bundled flows (as ``make run`` does) or a generated history into a fresh folder, then prints one
line per written file (its SHA-256 and path) and a digest of the whole. Files that carry the time a run took
or the machine's wall clock (run.json, the HTML pages, the metrics history, the commit log) are left out (the
reports' JSON and the notices' JSON and text are in);
everything the consumers and the register read is in. Run it before and after a refactor and compare.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

SKIPPED_NAMES = {"run.json", "index.html"}
SKIPPED_PARTS = {"metrics"}                  # the metrics history (the HTML pages are skipped by their suffix)


def digests(out: Path) -> list[tuple[str, str]]:
    """One digest per output file, and per register table one of its committed rows (a Delta table's log
    carries commit times: its files are not compared, what readers get from it is)."""
    register = out / "history" / "register"
    rows = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        relative = path.relative_to(out)
        if (path.name in SKIPPED_NAMES or SKIPPED_PARTS & set(relative.parts) or path.suffix in (".html", ".png")
                or path.is_relative_to(register)):
            continue
        rows.append((hashlib.sha256(path.read_bytes()).hexdigest()[:16], str(relative)))
    return rows + [(digest, f"{register.relative_to(out)}/{table}")
                   for table, digest in register_digests(register).items()]


def register_digests(register: Path) -> dict[str, str]:
    """Per table of a register, a digest of its committed rows (and of the runs), as readers see them."""
    from gateway.versioning import store
    if not (register / "runs").exists():
        return {}
    committed = [c.run_id for c in store.commits(register)]
    digests = {"runs": _digest([(c.run_id, c.declarations_added, c.versions_added, c.last_month)
                                for c in store.commits(register)])}
    for table in store.SCHEMAS:
        found = store.dataset(register, table).to_table()
        found = found.filter(pc.field(store.RUN).isin(pa.array(committed, pa.string())))
        digests[table] = _digest(found.sort_by([(name, "ascending") for name in found.column_names]).to_pylist())
    return digests


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


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
