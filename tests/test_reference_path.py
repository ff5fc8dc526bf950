"""The fast path's oracle at the scale of whole runs: a run whose declarations go through the certificates and the
columnar path (gateway.validate.certify, gateway.normalise.columnar) writes exactly what a run through the
reference path writes (``--reference-path``: every rule run on every declaration and person, each declaration
through its block tree): the same bytes for every dataset (Parquet and Avro), quarantine and warnings, declarants'
reports, flags, bases, published bases, decisions and notices, and the same rows in every register table. On the
whole corpus (bundled flows, conformance files, CR LF and LF, Latin-1, apostrophes, envelopes, parts, hand-broken,
fuzz seeds, real samples) with the columnar path taken at any size, and on generated monthly runs with defects,
replacements and late declarations into a growing register."""
import shutil
from collections import Counter
from pathlib import Path

import gateway.ingest
from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.run import run
from tests.conftest import TEST_KEY
from tests.corpus import corpus
from tools.output_digest import digests

SIDES = ("fast", "reference")


def _run_both(tmp_path: Path, inputs: tuple[str, ...], as_of: str, columnar: Counter) -> dict[str, int]:
    """One run on each side into its own folder; checks both wrote the same; returns the declarations each side
    took from their columns."""
    taken = {}
    manifests = {}
    for side in SIDES:
        columnar.clear()
        manifests[side] = run(Settings(inputs, str(tmp_path / side), TEST_KEY, as_of=as_of,
                                       reference_path=side == "reference")).manifest
        taken[side] = columnar["columnar"]
    fast, reference = (digests(tmp_path / side) for side in SIDES)
    assert [path for _, path in fast] == [path for _, path in reference], as_of
    assert fast == reference, [path for (a, path), (b, _) in zip(fast, reference) if a != b]
    counts = ("lines_read", "lines_used", "lines_ignored", "lines_quarantined", "resources", "quarantine_records",
              "warnings", "declarations")
    assert {k: manifests["fast"][k] for k in counts} == {k: manifests["reference"][k] for k in counts}
    assert manifests["fast"]["conservation_holds"] and manifests["fast"]["resources"] > 0
    return taken


def test_a_run_over_the_whole_corpus_writes_the_same_bytes_through_the_fast_path_and_the_reference_path(
        tmp_path, monkeypatch, columnar):
    monkeypatch.setattr(gateway.ingest, "COLUMNAR_FROM", 0)      # corpus declarations are small: columnar at any size
    flows = tmp_path / "flows"
    flows.mkdir()
    for number, path in enumerate(corpus(tmp_path / "corpus")):   # one folder, names made unique
        shutil.copyfile(path, flows / f"{number:03d}_{path.name}")
    taken = _run_both(tmp_path / "out", (str(flows),), "2026-04-03T09:00:00Z", columnar)
    assert taken["fast"] > 20 and taken["reference"] == 0


def test_monthly_runs_with_defects_into_a_growing_register_write_the_same_through_both_paths(tmp_path, columnar):
    """Declarations of at least COLUMNAR_FROM lines (as a run takes them), defects, replacements, late declarations
    and regularisations: run after run, the register, its decisions and notices are the same on both sides."""
    flows = tmp_path / "flows"
    generate(flows, people=120, employers=3, bodies=2, months=3, seed=23,
             rates=Rates(late=0.10, replacement=0.15, regularisation=0.10, back_pay=0.05, defects=0.05))
    folders = sorted(p for p in flows.iterdir() if p.is_dir())       # the months, and the late arrivals after them
    for folder in folders:
        taken = _run_both(tmp_path / "out", (str(folder),), f"{folder.name}-03T09:00:00Z", columnar)
        assert taken["fast"] > 0 and taken["reference"] == 0, folder.name
    assert len(folders) == 4
