"""A declaration whose every rule is certified silent is accepted from its columns, without its block tree
(gateway.normalise.columnar). The object path with every rule run is the oracle: the same outcome (resources,
summaries, allowances, counts) and the same accepted people, declaration by declaration, on the whole corpus
(tests.corpus); the mutated declarations of tests/gateway/validate/test_certificates.py compare whole files."""
from collections import Counter

import pytest

import gateway.ingest
from fixtures.generator import Rates, generate
from gateway.ingest import _process_declaration, process_file
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.records import Flow
from gateway.validate.registry import DEFAULT_RULES
from tests.conftest import declarations_of
from tests.corpus import corpus

PSEUDONYMS = Pseudonymiser(DEMO_KEY)
REFERENCE = DEFAULT_RULES.uncertified()



@pytest.fixture(autouse=True)
def _every_declaration_columnar(monkeypatch):
    """The corpus's declarations are small: the fast path is taken whatever a declaration's size here."""
    monkeypatch.setattr(gateway.ingest, "COLUMNAR_FROM", 0)

def test_declarations_taken_from_their_columns_give_the_object_paths_outcome(tmp_path):
    columnar: Counter = Counter()
    for path in corpus(tmp_path):
        for fast, reference in zip(declarations_of(path), declarations_of(path)):
            outcome, accepted = _process_declaration(fast, DEFAULT_RULES, PSEUDONYMS)
            assert (outcome, accepted) == _process_declaration(reference, REFERENCE, PSEUDONYMS), \
                f"{path.name} line {fast.first_line}"
            if not fast.tree_built:
                columnar[fast.flow, b"\r\n" in path.read_bytes()] += 1
            # the hand-built clean declarations of every attribution case (tests.corpus.shapes) go the columnar way
            assert path.parent.name != "shapes" or not fast.tree_built, path.name
    # both flows, LF and CR LF text, went the columnar way somewhere
    assert {key for key, count in columnar.items() if count} == {(flow, crlf) for flow in Flow for crlf in (False, True)}


def test_a_clean_flow_is_accepted_whole_without_any_block_tree(tmp_path):
    generate(tmp_path, people=40, employers=2, bodies=2, months=2, seed=11, rates=Rates(defects=0.0))
    files = sorted(tmp_path.rglob("*.dsn"))
    for path in files:
        declarations = list(declarations_of(path))
        for decl in declarations:
            outcome, _ = _process_declaration(decl, DEFAULT_RULES, PSEUDONYMS)
            assert not decl.tree_built and not outcome.quarantine and not outcome.warnings
        outcome = process_file(str(path), DEFAULT_RULES, PSEUDONYMS)
        assert outcome.resources and outcome == process_file(str(path), REFERENCE, PSEUDONYMS), path.name


def test_the_people_accepted_beside_quarantined_ones_are_normalised_over_the_arrays_as_the_objects_do(
        tmp_path, monkeypatch):
    """Generated flows with defects: in a declaration where the rules take some people out and accept the others,
    the accepted people's records and mentions are read over the declaration's arrays (none normalised person by
    person), and every outcome is the object path's with every rule run."""
    generate(tmp_path, people=60, employers=3, bodies=2, months=2, seed=17, rates=Rates(defects=0.08))
    by_person = Counter()
    normalise_person = gateway.ingest.normalise_person

    def counted(*args, **kwargs):
        by_person["calls"] += 1
        return normalise_person(*args, **kwargs)
    monkeypatch.setattr(gateway.ingest, "normalise_person", counted)
    mixed = 0
    for path in sorted(tmp_path.rglob("*.dsn")):
        for fast, reference in zip(declarations_of(path), declarations_of(path)):
            by_person.clear()
            outcome, accepted = _process_declaration(fast, DEFAULT_RULES, PSEUDONYMS)
            calls = by_person["calls"]
            assert (outcome, accepted) == _process_declaration(reference, REFERENCE, PSEUDONYMS), path.name
            if accepted and any(r.scope == "PERSON" for r in outcome.quarantine):
                mixed += 1
                assert outcome.resources and calls == 0, path.name
    assert mixed >= 2
