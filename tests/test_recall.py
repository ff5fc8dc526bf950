"""Ground truth of injected defects against the quarantine: recall per rule, and no false rejection."""
import json
from collections import defaultdict

import pyarrow.dataset as ds
import pytest

from fixtures.generator import CROSS_DEFECT_KINDS, DEFECT_KINDS, Rates, generate
from gateway.options import Settings
from gateway.run import run
from tests.conftest import BUNDLED, TEST_KEY


def _findings(out) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for dataset in ("quarantine", "warnings"):
        if (out / dataset).exists():
            for row in ds.dataset(out / dataset, format="parquet").to_table(columns=["file", "rule_id"]).to_pylist():
                found[row["file"]].add(row["rule_id"])
    return found


def _recall(truth: dict, found: dict[str, set[str]]) -> dict[str, float]:
    hits: dict[str, list[bool]] = defaultdict(list)
    for defect in truth["defects"]:
        hits[defect["rule_id"]].append(defect["rule_id"] in found.get(defect["file"], set()))
    return {rule: sum(values) / len(values) for rule, values in sorted(hits.items())}


@pytest.mark.parametrize("source", ["generated", "bundled"])
def test_every_injected_defect_is_caught_by_its_rule_and_clean_files_pass(source, tmp_path, capsys):
    if source == "generated":
        flows = tmp_path / "flows"
        generate(flows, people=120, employers=6, bodies=2, months=3, seed=21, rates=Rates(defects=0.5))
    else:
        flows = BUNDLED / "generated"
    # Archived flows are dated by their arrival folder (a clone's files all carry the time of the clone).
    run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY, arrival="folder" if source == "bundled" else "mtime"))
    truth = json.loads((flows / "ground_truth.json").read_text())
    found = _findings(tmp_path / "out")
    recall = _recall(truth, found)
    with capsys.disabled():
        print(f"\n{source}: recall per rule over {len(truth['defects'])} injected defects: "
              + ", ".join(f"{rule} {value:.0%}" for rule, value in recall.items()))
    assert set(recall) == set(DEFECT_KINDS.values()) | set(CROSS_DEFECT_KINDS.values())
    assert all(value == 1.0 for value in recall.values())
    defective = {d["file"] for d in truth["defects"]}
    rejected_clean = {file: rules for file, rules in found.items() if file not in defective}
    assert rejected_clean == {}
