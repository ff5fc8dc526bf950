"""Value rules checked over a declaration's columns give the same violations, in the same order, as
checking value by value (the path a declaration without columns takes)."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.generator import Rates, generate
from gateway.parse import rubrics as R
from gateway.parse.norm import DSN_VERSIONS, PASRAU_CATALOGUE, catalogue
import gateway.validate.columns
from gateway.validate.columns import failing_tokens, failing_tokens_by_value, misfits
from gateway.validate.registry import DEFAULT_RULES, Target
from tests.conftest import declarations_of
from tests.corpus import (ENDINGS, MUTATIONS, VALUE_CHANGES, between_clean_ones, corpus, mutated,
                          read_all_together, with_values)

VALUE_RULES = {"DRM-FMT-001", "DRM-FMT-002", "DRM-AMT-006", "DRM-PER-005"}


def _violations(decl):
    found = [DEFAULT_RULES.check(Target.DECLARATION, decl, flow=decl.flow, version=decl.norm_version)]
    found += [DEFAULT_RULES.check(Target.PERSON, decl, person, flow=decl.flow, version=decl.norm_version)
              for person in decl.instances(R.INDIVIDUAL)]
    return found


def _compare(path: Path) -> int:
    """Both paths over every declaration of a file; the number of value violations seen."""
    seen = 0
    for decl in declarations_of(path):
        by_columns = _violations(decl)
        decl.columns, decl.cache = None, {}
        assert _violations(decl) == by_columns, path.name
        seen += sum(v.rule_id in VALUE_RULES for group in by_columns for v in group)
    return seen


def test_generated_flows_with_many_defects_give_the_same_value_violations_by_columns(tmp_path):
    """DSN and PASRAU files where a third of the people carry a defect: same violations both ways."""
    generate(tmp_path, people=80, employers=3, bodies=2, months=2, seed=11, rates=Rates(defects=0.3))
    seen = sum(_compare(path) for path in sorted(tmp_path.rglob("*.dsn")))
    assert seen > 0            # the comparison did meet value violations


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(VALUE_CHANGES)
def test_any_values_give_the_same_violations_by_columns(tmp_path_factory, changes):
    """Values replaced at random in a two-person declaration (dates, amounts, codes): same violations both ways."""
    path = tmp_path_factory.mktemp("values") / "f.dsn"
    path.write_bytes(with_values(changes))
    _compare(path)


@pytest.mark.parametrize("scan_from", [0, 10 ** 9], ids=["scanned", "through-the-memo"])
def test_declarations_read_together_find_the_values_each_finds_read_alone(tmp_path, monkeypatch, scan_from):
    """The value pass made once over the tokens of declarations read together (the whole corpus, tests.corpus),
    each declaration's share against each of its distinct values read one by one (the reference)."""
    monkeypatch.setattr(gateway.validate.columns, "SCAN_FROM", scan_from)
    declarations = read_all_together(corpus(tmp_path))
    assert len({id(decl.together[0]) for decl in declarations}) < len(declarations)     # several share a pass
    failing = 0
    for decl in declarations:
        assert failing_tokens(decl) == failing_tokens_by_value(decl), f"{decl.file} line {decl.first_line}"
        failing += len(failing_tokens(decl))
    assert failing > 20


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(VALUE_CHANGES, MUTATIONS, ENDINGS)
def test_values_read_together_give_the_violations_read_alone_give(tmp_path_factory, changes, mutations, endings):
    """A declaration with values replaced at random, its lines mutated and given random LF / CR LF ends, read
    together between two clean ones: every declaration's violations are those of its values checked one by one."""
    paths = between_clean_ones(tmp_path_factory.mktemp("together"), mutated(with_values(changes), mutations, endings))
    for decl in read_all_together(paths):
        assert decl.together is not None
        assert failing_tokens(decl) == failing_tokens_by_value(decl)
        by_columns = _violations(decl)
        decl.columns, decl.cache, decl.together = None, {}, None
        assert _violations(decl) == by_columns, decl.file


_DATATYPES = sorted({spec.datatype for version in (*DSN_VERSIONS, PASRAU_CATALOGUE)
                     for spec in catalogue(version).rubrics.values()}, key=lambda datatype: datatype.id)
_TEXT = st.text(st.sampled_from("0123456789.-+ ,AZaz2BÉé٣\r'"), max_size=22)


def _value(datatype):
    """Values near what the datatype accepts: its own codes and format, and arbitrary text."""
    choices = [_TEXT]
    if datatype.values:
        choices.append(st.sampled_from(sorted(datatype.values)))
    if datatype.pattern is not None:
        choices.append(st.from_regex(datatype.pattern, fullmatch=True).filter(lambda text: "\n" not in text))
    return st.one_of(choices)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_DATATYPES).flatmap(lambda datatype: st.tuples(st.just(datatype), st.lists(_value(datatype),
                                                                                                 min_size=1, max_size=6))))
def test_a_datatypes_misfit_pattern_finds_exactly_the_values_it_refuses(case):
    """Joined by newlines, as the value pass scans a rubric's values: the lines found are those the datatype
    refuses (gateway.parse.norm.Datatype.problem), for every datatype of every catalogue."""
    datatype, values = case
    misfit = misfits(datatype)
    joined = "\n".join(values)
    found = [joined.count("\n", 0, match.start()) for match in misfit.finditer(joined)] if misfit else []
    assert found == [i for i, value in enumerate(values) if datatype.problem(value) is not None]


@pytest.mark.parametrize(("scan_from", "few_distinct", "scanned_before"),
                         [(0, 4, False), (0, 10 ** 9, False), (0, 0, False), (10 ** 9, 4, False), (0, 4, True)],
                         ids=["scan", "scan-patterns-only", "scan-distinct-values-only", "memo", "scanned-before"])
def test_the_value_pass_finds_what_reading_every_value_finds(tmp_path, monkeypatch, scan_from, few_distinct,
                                                             scanned_before):
    """The failing tokens of the scan per rubric (each rubric's values by pattern, or its distinct values through
    the memo when they are few), and of the memo of pairs, against each distinct value read one by one (the
    reference), on the whole corpus (tests.corpus). ``scanned_before``: every rubric was scanned at its last pass
    (all of them taken as mostly distinct), so it is scanned again without its distinct values counted."""
    monkeypatch.setattr(gateway.validate.columns, "SCAN_FROM", scan_from)
    monkeypatch.setattr(gateway.validate.columns, "_scanned", {})
    paths = corpus(tmp_path)
    if scanned_before:
        monkeypatch.setattr(gateway.validate.columns, "FEW_DISTINCT", 10 ** 9)
        for path in paths:
            for decl in declarations_of(path):
                failing_tokens(decl)
        assert any(gateway.validate.columns._scanned.values())
    monkeypatch.setattr(gateway.validate.columns, "FEW_DISTINCT", few_distinct)
    failing = 0
    for path in paths:
        for decl in declarations_of(path):
            assert failing_tokens(decl) == failing_tokens_by_value(decl), f"{path.name} line {decl.first_line}"
            failing += len(failing_tokens(decl))
    assert failing > 20              # the corpus does carry values that do not fit
