"""Every bundled and conformance flow file gives the outcome its ``.expected.json`` states, with LF or CR LF
line ends alike. The conformance expectations are written by hand from what each file declares."""
import json
import shutil
from pathlib import Path

import pytest

from fixtures.expected import SUFFIX, comparable, expected_path, outcome_of, run_in_process
from gateway.ingest import DeclarationTask, index_file, merge_all, process_tasks
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.registry import DEFAULT_RULES

from tests.conftest import BUNDLED

CONFORMANCE = Path(__file__).resolve().parents[1] / "fixtures" / "conformance"
CONFORMANCE_FILES = sorted(p for p in CONFORMANCE.glob("*") if not p.name.endswith(SUFFIX))


def _expected(flow: Path) -> dict:
    return json.loads(expected_path(flow).read_text(encoding="utf-8"))


def _flip_line_ends(data: bytes) -> bytes:
    """CR LF for a file written with LF, LF for a file written with CR LF (a lone CR is left as it is)."""
    if b"\r\n" in data:
        return data.replace(b"\r\n", b"\n")
    return data.replace(b"\n", b"\r\n")


def test_every_flow_file_states_its_expected_outcome():
    """No bundled or conformance flow without its expectation, and no expectation without its flow."""
    flows = [p for root in (BUNDLED, CONFORMANCE) for p in root.rglob("*") if p.is_file()
             and not p.name.endswith(".json")]
    assert len(CONFORMANCE_FILES) >= 9 and len(flows) > 80
    assert [p for p in flows if not expected_path(p).exists()] == []
    orphans = [p for root in (BUNDLED, CONFORMANCE) for p in root.rglob("*" + SUFFIX)
               if not p.with_name(p.name.removesuffix(SUFFIX)).exists()]
    assert orphans == []


def test_a_clean_file_is_expected_to_give_its_resources():
    """An expectation with no rule at all has resources and quarantines nothing: a clean file that gave nothing
    (the CR LF loss of issue 20) could not be recorded as expected."""
    for path in [*BUNDLED.rglob("*" + SUFFIX), *CONFORMANCE.glob("*" + SUFFIX)]:
        expected = json.loads(path.read_text(encoding="utf-8"))
        assert expected["proves"], path.name
        if not expected["rules"]:
            assert expected["resources"] and expected["quarantined_lines"] == 0, path.name


@pytest.mark.parametrize("flow", CONFORMANCE_FILES, ids=lambda p: p.name)
def test_a_conformance_file_gives_its_expected_outcome(flow):
    outcome, _ = run_in_process(flow)
    expected = _expected(flow)
    assert outcome_of(outcome, flow.name) == comparable(expected)
    assert outcome.counts.balanced
    if "read_in_parts_of" in expected:
        tasks = [t for t in index_file(str(flow), DEFAULT_RULES) if isinstance(t, DeclarationTask)]
        in_parts = merge_all([process_tasks([t], DEFAULT_RULES, Pseudonymiser(DEMO_KEY),
                                            window_lines=expected["read_in_parts_of"]) for t in tasks])
        assert outcome_of(in_parts, flow.name) == comparable(expected)


@pytest.mark.parametrize("flow", CONFORMANCE_FILES, ids=lambda p: p.name)
def test_a_conformance_file_gives_the_same_outcome_with_the_other_line_ends(flow, tmp_path):
    copy = tmp_path / flow.name
    copy.write_bytes(_flip_line_ends(flow.read_bytes()))
    outcome, _ = run_in_process(copy)
    assert outcome_of(outcome, flow.name) == comparable(_expected(flow))


@pytest.mark.parametrize("line_ends", ["as written", "flipped"])
def test_every_bundled_file_gives_its_expected_outcome(line_ends, tmp_path):
    """The bundled set run together, as ``make run`` runs it; then a copy with every file's line ends flipped
    (LF <-> CR LF) gives the same outcomes."""
    root = BUNDLED
    if line_ends == "flipped":
        root = tmp_path / "bundled"
        shutil.copytree(BUNDLED, root)
        for path in root.rglob("*.dsn"):
            path.write_bytes(_flip_line_ends(path.read_bytes()))
    outcome, flows = run_in_process(root)
    assert outcome.counts.balanced
    mismatched = [label for flow, label in flows
                  if outcome_of(outcome, label) != comparable(_expected(BUNDLED / flow.relative_to(root)))]
    assert mismatched == []
