"""A certificate over a declaration's columns is only ever given when the rule, run person by person (the oracle),
finds nothing; and a run that skips the certified rules gives exactly the outcome of one that runs them all, on
the bundled flows (a defect of each kind), the conformance corpus (CRLF, LF, mixed line ends, Latin-1,
apostrophes, envelopes, a declaration read in parts), the fuzz seed corpus (a signalement among them), the real
samples, generated flows with many defects, hand-broken declarations and mutated text with random line ends."""
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gateway.ingest
from gateway.ingest import process_file
from gateway.parse import rubrics as R
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.certify import (DeclarationColumns, GroupColumns, amounts, certifiable, certified, identity,
                                      structure)
from gateway.validate.certify.views import _BY_VALUE, _amounts, _amounts_by_value
from gateway.validate.registry import DEFAULT_RULES, Target
from fixtures import builders as B
from fixtures.generator import Rates, generate
from tests.conftest import declarations_of
from tests.corpus import BASES, ENDINGS, MUTATIONS, base_dsn, corpus, mutated, read_all_together

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


def test_header_values_of_declarations_read_together_are_those_the_rules_read(tmp_path):
    """Found for every declaration of a group at once (``GroupColumns.member_values``): the corpus and generated
    flows of several months read together, each declaration's against its own tree."""
    generate(tmp_path / "generated", people=40, employers=10, bodies=1, months=3, seed=2, rates=Rates(defects=0.2))
    members = read_all_together([*corpus(tmp_path / "corpus"), *sorted((tmp_path / "generated").rglob("*.dsn"))])
    grouped = [decl for decl in members if GroupColumns.of(decl) is not None]
    assert len(grouped) > 50
    for decl in grouped:
        view = DeclarationColumns.of(decl)
        assert [view.first_value(rubric) for rubric in HEADER] == [decl.value(rubric) for rubric in HEADER], \
            f"{decl.file} line {decl.first_line}"


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


EXACT = ["DRM-AMT-003", "DRM-CTR-001", "DRM-AMT-004"]   # certifiers that count what their rule looks for: exactly
# where it is silent
# Certifiers over arrays (keys joined by person and payment) and their references over sets, value by value.
BY_VALUE = {"DRM-AMT-003": (amounts._required_pay_types, amounts._required_pay_types_by_value),
            "DRM-CTR-001": (amounts._remuneration_names_a_contract, amounts._remuneration_names_a_contract_by_value),
            "DRM-AMT-004": (amounts._net_social_declared, amounts._net_social_declared_by_value),
            "DRM-STR-010": (structure._mandatory_blocks_present, structure._mandatory_blocks_present_by_value),
            "DRM-CTR-002": (amounts._payments_numbered, amounts._payments_numbered_by_value)}


def _exact(path: Path, rule_id: str) -> list[bool]:
    """For each declaration of ``path`` the rule applies to: whether the rule, person by person, finds nothing; and
    that the certificate is given exactly then."""
    silent = []
    for decl in declarations_of(path):
        rule = next((rule for rule in DEFAULT_RULES.for_target(Target.PERSON, decl.flow, decl.norm_version)
                     if rule.id == rule_id), None)
        if rule is None or DeclarationColumns.of(decl) is None:
            continue
        silent.append(not any(True for person in decl.instances(R.INDIVIDUAL) for _ in rule.check(decl, person)))
        assert (rule_id in certified(decl, [rule_id])) == silent[-1], f"{path.name} line {decl.first_line}"
        if rule_id in BY_VALUE:
            fast, reference = BY_VALUE[rule_id]
            assert fast(DeclarationColumns(decl)) == reference(DeclarationColumns(decl)) == silent[-1]
    return silent


def _same_as_references(declarations) -> dict[str, set[bool]]:
    """Each certifier over arrays of BY_VALUE against its reference on each declaration's view and, for those read
    together, its group's: the same answer. Returns the answers seen per rule."""
    seen: dict[str, set[bool]] = {rule_id: set() for rule_id in BY_VALUE}
    for decl in declarations:
        views = [view for view in (DeclarationColumns.of(decl), GroupColumns.of(decl)) if view is not None]
        for view in views:
            if isinstance(view, GroupColumns) and view._header is None:
                continue                            # members of several natures or months: no group answer
            for rule_id, (fast, reference) in BY_VALUE.items():
                answer = fast(view)
                assert answer == reference(view), f"{rule_id}: {decl.file} line {decl.first_line}"
                seen[rule_id].add(answer)
    return seen


def test_certifiers_over_arrays_answer_as_their_references(tmp_path):
    """On the corpus (each declaration alone, and read together: their groups too) and generated flows with
    defects read together."""
    generate(tmp_path / "generated", people=60, employers=8, bodies=1, months=2, seed=9, rates=Rates(defects=0.3))
    paths = [*corpus(tmp_path / "corpus"), *sorted((tmp_path / "generated").rglob("*.dsn"))]
    seen = _same_as_references([decl for path in paths for decl in declarations_of(path)])
    together = _same_as_references(read_all_together(paths))
    for rule_id in BY_VALUE:
        assert seen[rule_id] == {True, False} and together[rule_id], rule_id


def _with_remunerations(*blocks: tuple[str, str], last_type: str = "010") -> bytes:
    """Two employees (contracts C00001 and C00002, all their pay types declared), the second one's payment with a
    remuneration of each (contract, pay type) of ``blocks`` added and its last remuneration (pay type 010) of type
    ``last_type``."""
    people = [(B.a_person(nir=B.nir_for(1, date(1980, 1, 1), 75, 111, i), birth=date(1980, 1, 1), contract=f"C0000{i}"),
               [B.a_payment()]) for i in (1, 2)]
    lines = B.a_dsn_file(*people).split(b"\n")
    last = len(lines) - 1 - lines[::-1].index(b"S21.G00.51.011,'010'")
    lines[last] = f"S21.G00.51.011,'{last_type}'".encode()
    added = [f"S21.G00.51.{rubric}".encode() for contract, kind in blocks
             for rubric in ("001,'01032025'", "002,'31032025'", f"010,'{contract}'", f"011,'{kind}'", "013,'10.00'")]
    return b"\n".join(lines[:last + 2] + added + lines[last + 2:])


# name: (remunerations added to the second employee's payment, type of its last one, silent: each rule of EXACT)
PAY_TYPE_CASES = {"all declared": ((), "010", (True, True, True)),
                  "another type as well": ((("C00002", "017"),), "010", (True, True, True)),
                  "the other employee's contract": ((("C00001", "001"),), "010", (True, False, True)),
                  "a contract no one holds": ((("C00009", "002"),), "010", (True, False, True)),
                  "a type declared twice": ((("C00002", "001"),), "010", (True, True, True)),
                  "a type missing": ((), "017", (False, True, True)),
                  "a type missing, declared for the other contract": ((("C00001", "010"),), "017", (False, False, True))}


@pytest.mark.parametrize("rule_id", EXACT)
def test_an_exact_certificate_is_given_exactly_where_the_rule_finds_nothing(tmp_path, rule_id):
    """On the corpus, generated flows with defects and remunerations beyond those required."""
    generate(tmp_path / "generated", people=60, employers=4, bodies=1, months=2, seed=5, rates=Rates(defects=0.2))
    silent = [found for path in [*corpus(tmp_path / "corpus"), *sorted((tmp_path / "generated").rglob("*.dsn"))]
              for found in _exact(path, rule_id)]
    assert True in silent and False in silent
    for name, (blocks, last_type, expected) in PAY_TYPE_CASES.items():
        path = tmp_path / f"{name}.dsn"
        path.write_bytes(_with_remunerations(*blocks, last_type=last_type))
        assert _exact(path, rule_id) == [expected[EXACT.index(rule_id)]], name


_PAY_LINES = st.lists(st.tuples(st.sampled_from([R.REMUNERATION_TYPE, R.REMUNERATION_CONTRACT, R.CONTRACT_NUMBER,
                                                 R.NET_ELEMENT_TYPE]),
                                st.integers(0, 40), st.sampled_from(["001", "002", "003", "010", "017", "", "C00003",
                                                                     "C00009", "03", "10"])), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(BASES)), MUTATIONS, _PAY_LINES, ENDINGS)
def test_an_exact_certificate_holds_on_mutated_declarations(tmp_path_factory, base, mutations, pay_lines, endings):
    """The corpus's bases with lines dropped, repeated, swapped or given other values, and some of their contract
    numbers, remunerations' contracts, pay types and net element types changed (the n-th such line of the
    declaration)."""
    lines = BASES[base].split(b"\n")
    for rubric, nth, value in pay_lines:
        found = [i for i, line in enumerate(lines) if line.startswith(rubric.encode())]
        if found:
            lines[found[nth % len(found)]] = f"{rubric},'{value}'".encode()
    path = tmp_path_factory.mktemp("exact") / "f.dsn"
    path.write_bytes(mutated(b"\n".join(lines), mutations, endings))
    for rule_id in EXACT:
        _exact(path, rule_id)
    _same_as_references(declarations_of(path))


def test_declarations_read_together_are_grouped_by_their_nature_and_main_month(tmp_path):
    """A late declaration of an earlier month, read in a batch of this month's, is read with those of its own month:
    every group has one nature and main month, so that its certificates that read them hold for all its members."""
    for number, month in enumerate((date(2025, 3, 1), date(2025, 3, 1), date(2025, 2, 1), date(2025, 3, 1),
                                    date(2025, 2, 1))):
        (tmp_path / f"{number}.dsn").write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(number + 1)),
                                                              main_month=month))
    members = read_all_together(sorted(tmp_path.glob("*.dsn")))
    assert len(members) == 5
    groups = {id(GroupColumns.of(decl)): GroupColumns.of(decl) for decl in members}
    assert len(groups) == 2
    assert sorted(str(group.main_day) for group in groups.values()) == ["2025-02-01", "2025-03-01"]


def test_a_person_declared_by_two_employers_read_together_keeps_the_uniqueness_certificate(tmp_path):
    """NIRs are unique within each declaration of a group, not across them (DRM-ID-006 is per declaration); a NIR
    given twice in one of them is still found."""
    person = B.a_person()
    twice = B.a_dsn_file((person, [B.a_payment()]), (person, [B.a_payment()]), siret=B.siret_from(B.siren_from(3)))
    for number in (1, 2):
        (tmp_path / f"{number}.dsn").write_bytes(B.a_dsn_file((person, [B.a_payment()]),
                                                              siret=B.siret_from(B.siren_from(number))))
    members = read_all_together(sorted(tmp_path.glob("*.dsn")))
    assert identity._nirs_are_unique(GroupColumns.of(members[0]))          # once for the whole group
    assert all("DRM-ID-006" in certified(decl, ["DRM-ID-006"]) for decl in members)
    (tmp_path / "3.dsn").write_bytes(twice)
    members = read_all_together(sorted(tmp_path.glob("*.dsn")))
    assert not identity._nirs_are_unique(GroupColumns.of(members[0]))
    assert ["DRM-ID-006" in certified(decl, ["DRM-ID-006"]) for decl in members] == [True, True, False]
