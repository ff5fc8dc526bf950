"""Certificates of declarations read together: a certifier that is a condition on each block instance or person
alone runs once over the whole group (``GroupColumns``); where it fails, over halves of the group holding each
declaration (``GroupColumns.holds_for``), and declaration by declaration only in the smallest parts that fail. Each
declaration gets exactly the certificates it gets when every certifier runs on it alone (the reference), on the
conformance corpus read as one batch, generated small declarations with defects (LF and CR LF), and a mutated
declaration with random line ends between two clean ones."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.validate.certify import views
from fixtures.generator import Rates, generate
from gateway.validate.certify import GroupColumns, certified
from gateway.validate.columns import failing_tokens_by_value, failing_tokens_together
from gateway.validate.registry import DEFAULT_RULES, Target
from tests.corpus import BASES, ENDINGS, MUTATIONS, between_clean_ones, corpus, mutated, read_all_together


def _rule_ids(decl) -> list[str]:
    return [rule.id for target in (Target.DECLARATION, Target.PERSON)
            for rule in DEFAULT_RULES.for_target(target, decl.flow, decl.norm_version)]


def _compare(paths, monkeypatch) -> tuple[int, int, int]:
    """Every declaration of ``paths`` read together, certified with groups and alone (each read afresh, no certifier
    run over a group or a part of one): equal. Returns how many group checks held and failed, and how many checks
    of a part of a failing group held."""
    declarations = read_all_together(paths)
    grouped = [certified(decl, _rule_ids(decl)) for decl in declarations]
    groups = {id(view): view for decl in declarations if (view := GroupColumns.of(decl)) is not None}
    held = [found for view in groups.values() for found in view._held.values()]
    parts = [found for view in groups.values() for part in view._parts.values() for found in part._held.values()]
    with monkeypatch.context() as patch:
        patch.setattr(views, "GROUPED", {})           # the dict the group views read
        alone = [certified(decl, _rule_ids(decl)) for decl in read_all_together(paths)]
    for decl, with_group, without in zip(declarations, grouped, alone):
        assert with_group == without, f"{decl.file} line {decl.first_line}: {sorted(with_group ^ without)}"
    assert len(grouped) == len(alone)
    return held.count(True), held.count(False), parts.count(True)


def test_the_corpus_read_together_gets_the_certificates_each_declaration_gets_alone(tmp_path, monkeypatch):
    held, failed, _ = _compare(corpus(tmp_path), monkeypatch)
    assert held and failed                       # groups proven clean at once, and groups sent back one by one


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_small_declarations_with_defects_get_the_certificates_each_gets_alone(tmp_path, monkeypatch, ending):
    """Forty employers of a few employees each, a third of the files with a defect."""
    generate(tmp_path, people=120, employers=40, bodies=2, months=2, seed=7, rates=Rates(defects=0.3))
    paths = sorted(tmp_path.rglob("*.dsn"))
    if ending != b"\n":
        for path in paths:
            path.write_bytes(path.read_bytes().replace(b"\n", ending))
    held, failed, parts_held = _compare(paths, monkeypatch)
    assert held and failed and parts_held           # halves of failing groups proven clean too


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(BASES)), MUTATIONS, ENDINGS)
def test_a_mutated_declaration_between_clean_ones_gets_the_certificates_it_gets_alone(tmp_path_factory, base,
                                                                                      mutations, endings):
    paths = between_clean_ones(tmp_path_factory.mktemp("group"), mutated(BASES[base], mutations, endings))
    with pytest.MonkeyPatch.context() as monkeypatch:
        _compare(paths, monkeypatch)


def test_the_failing_values_of_a_group_are_those_of_its_declarations_in_place(tmp_path):
    """The value pass of declarations read together, counted from the group's first token (what a group's value
    certificates read), holds each declaration's failing values, each read one by one, at its place in the group."""
    compared = 0
    for decl in read_all_together(corpus(tmp_path)):
        together, index = decl.together
        first, end = int(together.firsts[index]), int(together.firsts[index + 1])
        found = [(token - first, reading) for token, reading in failing_tokens_together(together) if first <= token < end]
        assert found == failing_tokens_by_value(decl), f"{decl.file} line {decl.first_line}"
        compared += bool(found) and index > 0
    assert compared                         # declarations after the first of their group, with failing values
