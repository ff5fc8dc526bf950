"""The gate through real incremental runs over generated flows: decisions, feeds, officer answers."""
import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from fixtures.generator import generate
from gateway.cli import app
from gateway.options import Settings
from gateway.run import run
from tests.conftest import TEST_KEY


def _monthly_runs(flows: Path, out: Path, **settings) -> list[dict]:
    manifests = []
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        manifests.append(run(Settings((str(folder),), str(out), TEST_KEY, **settings)).manifest)
    return manifests


def _decisions(out: Path) -> list[dict]:
    rows = []
    register = out / "history" / "register" / "decisions"
    if register.exists():
        rows = ds.dataset(str(register), format="parquet").to_table().to_pylist()
    return rows


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    flows = root / "flows"
    generate(flows, people=120, employers=6, bodies=2, months=7, seed=4)
    manifests = _monthly_runs(flows, root / "a")
    return root, flows, manifests


def test_generated_revisions_produce_gate_decisions_and_none_above_the_cap_passes_alone(history):
    root, _, manifests = history
    decisions = _decisions(root / "a")
    kinds = {d["kind"] for d in decisions}
    assert {"REGULARISE", "REVIEW_CAP", "HOLD_UNSTABLE", "FREEZE_DE_MINIMIS"} <= kinds
    assert all(d["estimated_impact_cents"] >= -50000 for d in decisions if d["kind"] == "REGULARISE")
    assert sum(sum(m["gate"]["decisions"].values()) for m in manifests) == len(decisions)


def test_two_runs_over_the_same_flows_publish_identical_feeds(history, tmp_path):
    root, flows, _ = history
    _monthly_runs(flows, tmp_path / "b")
    for dataset in ("published", "decisions", "avro/published", "avro/decisions"):
        first = {p.relative_to(root / "a" / dataset): p.read_bytes() for p in (root / "a" / dataset).rglob("*.*")}
        second = {p.relative_to(tmp_path / "b" / dataset): p.read_bytes()
                  for p in (tmp_path / "b" / dataset).rglob("*.*")}
        assert first and first == second


def test_an_officer_answer_is_validated_recorded_once_and_published_by_the_next_run(history, tmp_path):
    root, flows, _ = history
    out = root / "a"
    pending = [d for d in _decisions(out) if d["kind"] == "REVIEW_CAP"]
    latest = {}
    for d in sorted(_decisions(out), key=lambda d: d["as_of"]):
        latest[(d["person_key"], d["benefit"], d["reference_month"])] = d["decision_id"]
    target = next(d for d in pending if latest[(d["person_key"], d["benefit"], d["reference_month"])] == d["decision_id"])
    runner = CliRunner()
    unknown = runner.invoke(app, ["decide", "0" * 24, "--keep-frozen", "--reason", "Erreur manifeste de l'employeur",
                                  "--officer", "agent-1", "--out", str(out)])
    assert unknown.exit_code == 2 and "decision not found" in unknown.output
    terse = runner.invoke(app, ["decide", target["decision_id"], "--keep-frozen", "--reason", "ok", "--officer",
                                "agent-1", "--out", str(out)])
    assert terse.exit_code == 2 and "justification" in terse.output
    args = ["decide", target["decision_id"], "--keep-frozen", "--reason", "Erreur manifeste de l'employeur",
            "--officer", "agent-1", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already answered" in again.output
    last_as_of = json.loads((out / "run.json").read_text())["as_of"]
    next_day = last_as_of[:8] + f"{int(last_as_of[8:10]) + 1:02d}" + last_as_of[10:]
    manifest = run(Settings((str(flows),), str(out), TEST_KEY, as_of=next_day)).manifest   # everyone, nothing new
    assert manifest["gate"]["decisions"].get("OFFICER_KEEP_FROZEN", 0) >= 1
    follow = [d for d in _decisions(out) if d["supersedes"] == target["decision_id"]]
    assert [(d["kind"], d["officer"], d["rule_id"]) for d in follow] == [("OFFICER_KEEP_FROZEN", "agent-1",
                                                                         "DRM-GAT-008")]
    assert json.loads((out / "run.json").read_text())["gate"] == manifest["gate"]
