"""A certificate over a declaration's columns is only ever given when the rule, run person by person (the oracle),
finds nothing; and a run that skips the certified rules gives exactly the outcome of one that runs them all, on
the bundled flows (a defect of each kind), the conformance corpus (CRLF, LF, mixed line ends, Latin-1,
apostrophes, envelopes, a declaration read in parts), the fuzz seed corpus (a signalement among them), the real
samples, generated flows with many defects, hand-broken declarations and mutated text with random line ends."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gateway.ingest
from gateway.ingest import process_file
from gateway.parse import rubrics as R
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.certify import _BY_VALUE, DeclarationColumns, _amounts, _amounts_by_value, certifiable, certified
from gateway.validate.registry import DEFAULT_RULES, Target
from tests.conftest import declarations_of
from tests.corpus import BASES, ENDINGS, MUTATIONS, base_dsn, corpus, mutated

CERTIFIED = {rule.id for target in (Target.DECLARATION, Target.PERSON) for rule in DEFAULT_RULES.for_target(target)}


def _audit(path: Path, given: dict[str, int], fired: dict[str, int]) -> None:
    """Every certificate of every declaration of ``path`` against the rule itself: a certified rule finds nothing
    in any person. Counts, by rule, the declarations certified and those where the rule found something."""
    for decl in declarations_of(path):
        rules = [rule for target in (Target.DECLARATION, Target.PERSON)
                 for rule in DEFAULT_RULES.for_target(target, decl.flow, decl.norm_version) if rule.id in CERTIFIED]
        proven = certified(decl, [rule.id for rule in rules])
        people = list(decl.instances(R.INDIVIDUAL))
        for rule in rules:
            findings = list(rule.check(decl)) if rule.target is Target.DECLARATION else \
                [finding for person in people for finding in rule.check(decl, person)]
            if rule.id in proven:
                assert not findings, f"{path.name} line {decl.first_line}: {rule.id} certified but finds {findings[0]}"
                given[rule.id] = given.get(rule.id, 0) + 1
            elif findings:
                fired[rule.id] = fired.get(rule.id, 0) + 1
        decl.release()



@pytest.fixture(autouse=True)
def _every_declaration_columnar(monkeypatch):
    """The corpus's declarations are small: the fast path is taken whatever a declaration's size here."""
    monkeypatch.setattr(gateway.ingest, "COLUMNAR_FROM", 0)

def test_every_declaration_and_person_rule_has_a_certificate():
    assert certifiable() == CERTIFIED


def test_a_certified_rule_finds_nothing_and_every_rule_is_both_certified_and_caught(tmp_path):
    given: dict[str, int] = {}
    fired: dict[str, int] = {}
    for path in corpus(tmp_path):
        _audit(path, given, fired)
    assert set(given) == CERTIFIED, f"never certified: {sorted(CERTIFIED - set(given))}"
    # The corpus breaks every certified rule somewhere: there, the certificate was refused and the rule reported.
    assert set(fired) == CERTIFIED, f"never broken: {sorted(CERTIFIED - set(fired))}"


def test_skipping_certified_rules_gives_the_same_outcome_as_running_every_rule(tmp_path):
    pseudonyms = Pseudonymiser(DEMO_KEY)
    reference = DEFAULT_RULES.uncertified()
    for path in corpus(tmp_path):
        fast = process_file(str(path), DEFAULT_RULES, pseudonyms)
        assert fast == process_file(str(path), reference, pseudonyms), path.name


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(BASES)), MUTATIONS, ENDINGS)
def test_mutated_declarations_give_the_same_outcome_with_certificates(tmp_path_factory, base, mutations, endings):
    """A DSN of one employee with two payments (pay types, net social, a withholding-tax régularisation), a PASRAU
    of two beneficiaries and the real sample, with lines dropped, repeated, swapped or given other values (header
    and people), and random LF / CR LF line ends: certificates never hide a finding, and the outcome is the
    reference's."""
    content = mutated(BASES[base], mutations, endings)
    path = tmp_path_factory.mktemp("certificates") / "f.dsn"
    path.write_bytes(content)
    _audit(path, {}, {})
    pseudonyms = Pseudonymiser(DEMO_KEY)
    assert process_file(str(path), DEFAULT_RULES, pseudonyms) == \
        process_file(str(path), DEFAULT_RULES.uncertified(), pseudonyms)


HEADER = (R.NATURE, R.TYPE, R.FRACTION, R.RANK, R.MAIN_MONTH, R.REPLACED_ID, R.FILE_DATE, R.SIREN, R.NIC, R.NIR)


def test_header_values_read_from_the_arrays_are_those_the_rules_read(tmp_path):
    """The first instance of a block in the tree's walk, found from the parent array, holds what
    ParsedDeclaration.value reads, on the whole corpus and on a declaration whose establishment comes before its
    company (an orphan kept as a root: first in the document, last in the walk)."""
    misplaced = base_dsn().replace(b"S21.G00.06.001,", b"S21.G00.11.001,'99999'\nS21.G00.06.001,", 1)
    (tmp_path / "misplaced.dsn").write_bytes(misplaced)
    compared = 0
    for path in corpus(tmp_path / "corpus") + [tmp_path / "misplaced.dsn"]:
        for decl in declarations_of(path):
            if decl.columns is None or decl.columns.structure is None:
                continue
            view = DeclarationColumns(decl)
            assert [view.first_value(rubric) for rubric in HEADER] == [decl.value(rubric) for rubric in HEADER], \
                f"{path.name} line {decl.first_line}"
            compared += 1
    assert compared > 100


_AMOUNT_TEXT = st.one_of(st.text(st.sampled_from("0123456789.-+ ,٣"), max_size=22),
                         st.from_regex(r"-?[0-9]{1,20}\.[0-9]{2}", fullmatch=True))


@settings(max_examples=200, deadline=None)
@given(st.lists(_AMOUNT_TEXT, min_size=1, max_size=80))
@example(["12.34", "-0012.34", "", "-", ".00", "-.00", "1.0", "01.00", "-0.00", "1.000", "1..00", "٣.00", "1 .00",
          "9" * 16 + ".99", "9" * 17 + ".99", "-1.-0", "1-.00", "--1.00", "1.0-", "+1.00"])
@example(["9" * 20 + ".00"])
def test_amounts_read_over_the_columns_are_those_cents_reads(texts):
    """Many values at once (the scan and one integer parse) and value by value (gateway.values.cents) read the
    same cents, and give up the same way on an amount beyond int64."""
    values = texts * (1 + _BY_VALUE // len(texts))           # enough values for the pass over arrays
    column = (np.arange(len(values)), values)
    fast, reference = _amounts(column, len(values)), _amounts_by_value(column, len(values))
    assert (fast is None) == (reference is None)
    if fast is not None:
        assert fast[0].tolist() == reference[0].tolist() and fast[1].tolist() == reference[1].tolist()
