"""What a finding carries for its declarant: the value declared (never an identity rubric), shown bounded and
printable, the norm's format in French, the payroll number of the person holding the line, the file date. The
columns and the block tree give the same answers (the oracle of the columns path)."""

import pytest

from fixtures import builders as B
from gateway.parse.norm import catalogue
from gateway.validate.declared import Declared, expected, personal, shown
from tests.conftest import BUNDLED, declarations_of


@pytest.mark.parametrize("rubric, hidden", [("S21.G00.30.001", True), ("S21.G00.30.002", True),
                                            ("S21.G00.30.006", True), ("S21.G00.31.008", True),
                                            ("S21.G00.30.019", False), ("S21.G00.40.007", False),
                                            ("S21.G00.50.002", False)])
def test_identity_rubrics_are_never_shown_but_the_payroll_number_is(rubric, hidden):
    assert personal(rubric) is hidden


def test_a_shown_value_is_bounded_and_printable():
    assert shown("a\x07b\tc") == "a\\x07b\\x09c"
    assert shown("x" * 100) == "x" * 80 + "…"
    assert shown(None) is None


def test_the_expected_format_reads_as_the_cahier_technique_says_it():
    rubrics = catalogue("P26V01").rubrics
    assert expected(rubrics["S21.G00.40.007"].datatype).startswith("une valeur de la liste DSN_NatureContrat : 01, 02")
    assert "deux décimales" in expected(rubrics["S21.G00.50.002"].datatype)
    assert expected(rubrics["S21.G00.30.019"].datatype) == "de 1 à 30 caractères"
    assert "JJMMAAAA" in expected(rubrics["S21.G00.50.001"].datatype)


def test_columns_and_block_tree_give_the_same_values_payroll_numbers_and_dates():
    """Every line of every bundled declaration, asked through the columns and through the tree."""
    asked = 0
    for path in sorted((BUNDLED / "generated").rglob("*.dsn")) + sorted((BUNDLED / "edge").rglob("*.dsn")):
        for decl in declarations_of(path):
            if decl.columns is None:
                continue
            by_columns = Declared.of(decl)
            pairs = list(zip(decl.columns.lines, decl.columns.rubrics))
            decl.columns, decl.cache = None, {}
            by_tree = Declared.of(decl)
            for line, rubric in pairs:
                assert by_tree.about(line, rubric) == by_columns.about(line, rubric), (path.name, line, rubric)
                asked += 1
    assert asked > 20_000


def test_a_finding_names_the_payroll_number_of_the_person_holding_its_line(tmp_path):
    people = [(B.a_person(payroll_number="A-1"), [B.a_payment()]),
              (B.a_person(nir=B.nir_for(2, B.date(1990, 7, 2), 69, 123, 7), contract="C00002"), [B.a_payment()])]
    path = tmp_path / "f.dsn"
    path.write_bytes(B.a_dsn_file(*people))
    [decl] = list(declarations_of(path))
    declared = Declared.of(decl)
    first, second = list(decl.instances("S21.G00.30"))
    assert declared.payroll_number(first.first_line + 3) == "A-1"
    assert declared.payroll_number(second.first_line) is None          # declared without one
    assert declared.payroll_number(decl.first_line) is None            # the declaration's header
    assert declared.date == "2025-04-05"             # S20.G00.05.007 of a March declaration: 5 April
