"""A 15-month generated history with injected revisions of every cause, through real runs."""
import json
from collections import Counter

import pyarrow.dataset as ds
import pytest

from fixtures.generator import generate
from gateway.options import Settings
from gateway.run import run
from gateway.replay import replay
from tests.conftest import TEST_KEY

EXPECTED_RULE = {"late": "DRM-FLT-008", "replacement": "DRM-FLT-002", "regularisation": "DRM-FLT-003",
                 "back_pay": "DRM-FLT-003", "net_social_correction": "DRM-FLT-003",
                 "late_replacement": "DRM-FLT-009"}
EXPECTED_CAUSE = {"late": "LATE", "replacement": "REPLACEMENT", "regularisation": "PAS_REGULARISATION",
                  "back_pay": "BACK_PAY", "net_social_correction": "NET_SOCIAL_CORRECTION"}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    flows = root / "flows"
    truth = generate(flows, people=80, employers=5, bodies=2, months=15, seed=29)
    result = run(Settings((str(flows),), str(root / "out"), TEST_KEY))
    return root, json.loads((flows / "ground_truth.json").read_text()), result.manifest, truth


def _rows(path, columns=None):
    return ds.dataset(str(path), format="parquet").to_table(columns=columns).to_pylist()


def test_the_register_holds_a_version_with_the_right_cause_for_every_injected_revision(history):
    root, truth, _, _ = history
    versions = _rows(root / "out" / "history" / "register" / "versions", ["declarant_id", "month", "cause"])
    causes = {(v["declarant_id"], v["month"], v["cause"]) for v in versions}
    kinds = Counter(r["kind"] for r in truth["revisions"])
    assert set(kinds) == set(EXPECTED_RULE)
    # A replacement received too late makes no version: the month keeps what was declared in time.
    applied = [r for r in truth["revisions"] if r["kind"] in EXPECTED_CAUSE]
    missed = [r for r in applied if (r["declarant_id"], r["month"], EXPECTED_CAUSE[r["kind"]]) not in causes]
    assert missed == []


def test_flags_find_every_injected_revision_and_the_floating_rate_is_reported(history, capsys):
    root, truth, manifest, _ = history
    flags = {(f["declarant_id"], f["month"], f["rule_id"])
             for f in _rows(root / "out" / "flags", ["declarant_id", "month", "rule_id"])}
    found = [(r["declarant_id"], r["month"], EXPECTED_RULE[r["kind"]]) in flags for r in truth["revisions"]]
    floating = manifest["floating"]
    with capsys.disabled():
        print(f"\n15 months: {len(found)} injected revisions, flag recall {sum(found) / len(found):.0%}; "
              f"floating rate {floating['rate']:.1%} of {floating['months']} resource months")
    assert all(found)
    assert 0.05 <= floating["rate"] <= 0.15
    assert set(floating["by_nature"]) >= {"SALARY"} and len(floating["by_declarant"]) == 7
    report = (root / "out" / "report" / "index.html").read_text()
    assert "Taux de ressources flottantes" in report


def test_as_of_replay_reproduces_the_published_flags_and_bases_byte_for_byte(history, tmp_path):
    root, _, manifest, _ = history
    replay(root / "out" / "history" / "register", manifest["as_of"], tmp_path / "replay")
    for dataset in ("flags", "bases"):
        published = sorted(p.name for p in (root / "out" / dataset).glob("*.parquet"))
        assert published and published == sorted(p.name for p in (tmp_path / "replay" / dataset).glob("*.parquet"))
        for name in published:
            assert (root / "out" / dataset / name).read_bytes() == (tmp_path / "replay" / dataset / name).read_bytes()


def test_bases_cover_every_benefit_of_the_policy_with_their_floating_share(history):
    root, _, _, _ = history
    bases = _rows(root / "out" / "bases")
    assert {b["benefit"] for b in bases} == {"AL", "RSA", "PA", "RSA_M3_M1"}
    assert any(b["floating_share"] > 0 for b in bases) and all(0 <= b["floating_share"] <= 1 for b in bases)
    assert all(len(b["monthly_cents"].split()) == (12 if b["benefit"] == "AL" else 3) for b in bases)
