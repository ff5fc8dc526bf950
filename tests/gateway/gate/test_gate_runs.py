"""The gate through real incremental runs over generated flows: decisions, feeds, officer answers."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures import scenario
from fixtures.generator import generate
from gateway.cli import app
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY


def _monthly_runs(flows: Path, out: Path, **settings) -> list[dict]:
    manifests = []
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        manifests.append(run(Settings((str(folder),), str(out), TEST_KEY, **settings)).manifest)
    return manifests


def _decisions(out: Path) -> list[dict]:
    register = out / "history" / "register"
    return store.load_all(register, "decisions") if store.commits(register) else []


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    flows = root / "flows"
    generate(flows, people=200, employers=12, bodies=2, months=7, seed=7)
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
    scenario.a_console_user(out, "agent-1", "supervisor")
    runner = CliRunner(env={"DRM_GATEWAY_PASSWORD": scenario.DEMO_PASSWORD})
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


def test_a_hold_is_released_on_the_next_run_even_when_the_person_sends_nothing_new(tmp_path):
    """HOLD_CORRECTION while a request is open; the request closes; the next run (other people's files
    only) re-examines the held base and regularises it."""
    from fixtures import builders as B
    from fixtures import scenario
    from gateway.pseudonym import Pseudonymiser
    from gateway.publish.datasets import bucket_of
    flows, out = tmp_path / "flows", tmp_path / "out"
    scenario.write_flows(flows)
    for arrival in ("2025-02", "2025-03", "2025-04", "2025-05"):
        run(Settings((str(flows / arrival),), str(out), TEST_KEY))
    alice = Pseudonymiser(TEST_KEY).person_key(scenario.ALICE.nir, None, None)
    requests = tmp_path / "open.jsonl"
    requests.write_text(json.dumps({"person_key": alice, "month": "2025-02"}) + "\n")
    run(Settings((str(flows / "2025-06"),), str(out), TEST_KEY, open_requests=str(requests)))
    held = [d for d in _decisions(out) if d["person_key"] == alice and d["benefit"] == "RSA"]
    assert [d["kind"] for d in held] == ["HOLD_CORRECTION"]
    other = next(p for p in (B.a_person(nir=B.nir_for(1, B.date(1970, 1, 1), 75, 100 + i, 1)) for i in range(50))
                 if bucket_of(Pseudonymiser(TEST_KEY).person_key(p.nir, None, None)) != bucket_of(alice))
    unrelated = tmp_path / "unrelated" / "2025-06-20"
    unrelated.mkdir(parents=True)
    (unrelated / "other.dsn").write_bytes(B.a_dsn_file((other, [B.a_payment()]), siret=B.siret_from(B.siren_from(77))))
    run(Settings((str(unrelated),), str(out), TEST_KEY, as_of="2025-06-20T08:00:00Z"))
    after = sorted((d for d in _decisions(out) if d["person_key"] == alice and d["benefit"] == "RSA"),
                   key=lambda d: d["as_of"])
    assert [d["kind"] for d in after] == ["HOLD_CORRECTION", "REGULARISE"]
    assert after[1]["supersedes"] == after[0]["decision_id"]


def test_each_run_writes_a_notice_for_every_decision_the_claimant_is_told_about(history):
    """The last monthly run's notices: one JSON, HTML and text per decision applied or explicitly not applied
    (not for held or capped ones), listed in run.json, with no NIR."""
    import pyarrow.dataset as ds
    from gateway.gate.notices import NOTICE_KINDS
    root, flows, manifests = history
    out = root / "a"
    decisions = ds.dataset(out / "decisions", format="parquet").to_table().to_pylist()
    told = {d["decision_id"] for d in decisions if d["kind"] in NOTICE_KINDS and d["status"] != "PENDING"}
    written = {p.name for p in (out / "notices").iterdir()}
    assert told and written == {f"{i}.{suffix}" for i in told for suffix in ("json", "html", "txt")}
    assert sorted(f"notices/{name}" for name in written) == json.loads((out / "run.json").read_text())["outputs"][
        "notices"]
    nirs = {line.split(b",'")[1][:-1] for path in flows.rglob("*.dsn") for line in path.read_bytes().splitlines()
            if line.startswith(b"S21.G00.30.001,'")}
    assert nirs and not any(nir in (out / "notices" / name).read_bytes() for name in written for nir in nirs)
