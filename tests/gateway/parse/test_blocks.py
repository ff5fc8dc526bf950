import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.generator import Rates, generate
from gateway.parse import blocks
from gateway.parse.blocks import WALK_BELOW, Columns, build_blocks, build_blocks_from_columns, columns_of
from gateway.parse.lines import Token, iter_raw_lines, tokenize
from gateway.parse.norm import catalogue


def _tokens(rubrics):
    return [Token(number, rubric, "x") for number, rubric in enumerate(rubrics, start=1)]


def test_children_belong_to_the_closest_preceding_parent():
    """30/40/40/30/40: contracts 1-2 belong to individual 1, contract 3 to individual 2 (CT p.77)."""
    roots, problems = build_blocks(_tokens([
        "S20.G00.05.001", "S21.G00.06.001", "S21.G00.11.001",
        "S21.G00.30.001", "S21.G00.40.001", "S21.G00.40.001", "S21.G00.30.001", "S21.G00.40.001",
    ]), catalogue("P25V01"))
    [declaration] = roots
    people = list(i for i in declaration.walk() if i.block == "S21.G00.30")
    assert [len(list(person.children_of("S21.G00.40"))) for person in people] == [2, 1]
    assert problems == []


def test_a_new_instance_starts_when_the_rubric_number_stops_increasing():
    """Two consecutive 51 blocks are told apart by their rubric numbers going back down."""
    roots, _ = build_blocks(_tokens([
        "S20.G00.05.001", "S21.G00.06.001", "S21.G00.11.001", "S21.G00.30.001", "S21.G00.50.001",
        "S21.G00.51.001", "S21.G00.51.011", "S21.G00.51.001", "S21.G00.51.011",
    ]), catalogue("P25V01"))
    payment = next(i for i in roots[0].walk() if i.block == "S21.G00.50")
    assert len(list(payment.children_of("S21.G00.51"))) == 2


def test_a_child_without_its_parent_and_an_unknown_rubric_are_reported():
    """A payment before any individual, and a rubric the norm does not know, are structure problems."""
    _, problems = build_blocks(_tokens([
        "S20.G00.05.001", "S21.G00.06.001", "S21.G00.11.001", "S21.G00.50.001", "S21.G00.40.999",
    ]), catalogue("P25V01"))
    assert {p.kind for p in problems} == {"orphan_block", "unknown_rubric"}


def _shape(roots, problems):
    """A tree as plain values: blocks, lines, values, line numbers and children, in document order."""
    def node(instance):
        return (instance.block, instance.first_line, instance.last_line, tuple(instance.values.items()),
                tuple((rubric, instance.line_of(rubric)) for rubric in instance.values), instance.line_count,
                tuple(node(child) for child in instance.children))
    return [node(root) for root in roots], problems


def _both(tokens, version="P25V01"):
    norm = catalogue(version)
    columns = build_blocks_from_columns([t[0] for t in tokens], [t[1] for t in tokens], [t[2] for t in tokens], norm)
    return _shape(*build_blocks(tokens, norm)), _shape(*columns[:2])


def test_generated_declarations_give_the_same_tree_line_by_line_and_by_columns(tmp_path):
    """Every declaration of generated DSN and PASRAU flows is rebuilt alike by both builders."""
    generate(tmp_path, people=40, employers=2, bodies=2, months=2, seed=3, rates=Rates(defects=0.05))
    compared = 0
    for path in sorted(tmp_path.rglob("*.dsn")):
        tokens = [t for raw in iter_raw_lines(io.BytesIO(path.read_bytes())) for t in [tokenize(raw)[0]] if t]
        for version in ("P25V01", "PASRAU"):
            slow, fast = _both(tokens, version)
            assert fast == slow, path.name
            compared += 1
    assert compared > 10


_RUBRICS = ["S20.G00.05.001", "S20.G00.05.002", "S21.G00.06.001", "S21.G00.11.001", "S21.G00.30.001",
            "S21.G00.30.002", "S21.G00.40.001", "S21.G00.50.001", "S21.G00.50.002", "S21.G00.51.001",
            "S21.G00.51.011", "S21.G00.51.013", "S21.G00.78.001", "S21.G00.79.001", "S21.G00.81.001",
            "S21.G00.40.999", "S99.G00.99.001", "S21.G00.30.001"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_RUBRICS), st.sampled_from(["x", "", "D'ALMEIDA", "12.00"])),
                max_size=60), st.integers(1, 5))
def test_any_sequence_of_rubrics_gives_the_same_tree_line_by_line_and_by_columns(pairs, step):
    """Orphans, unknown rubrics, repeated and shuffled blocks, gaps in line numbers: both builders agree."""
    tokens = [Token(1 + i * step, rubric, value) for i, (rubric, value) in enumerate(pairs)]
    slow, fast = _both(tokens)
    assert fast == slow


def test_a_new_ancestor_instance_closes_the_blocks_opened_below_the_previous_one():
    """A contract after a new declaration header is an orphan, not a child of the previous declaration's person."""
    roots, problems = build_blocks(_tokens(["S21.G00.30.001", "S20.G00.05.001", "S21.G00.40.001"]), catalogue("P25V01"))
    assert [root.block for root in roots] == ["S21.G00.30", "S20.G00.05", "S21.G00.40"]
    assert [(p.kind, p.line) for p in problems] == [("orphan_block", 1), ("orphan_block", 3)]


_CODES = st.builds(lambda block, number: f"S21.G00.{block:02d}.{number:03d}", st.integers(0, 99), st.integers(0, 999))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_CODES, st.sampled_from(["S10.G00.00.001", "S90.G00.90.002", "S21.G00.30.001"]),
                          st.text(st.sampled_from("S21.G0é"), max_size=15)), min_size=1, max_size=300))
def test_tokens_grouped_by_rubric_over_the_column_are_those_grouped_one_by_one(rubrics):
    """The positions of each rubric's tokens, found by numbering the codes' bytes (plain codes) or one by one."""
    grouped: dict[str, list[int]] = {}
    for position, rubric in enumerate(rubrics):
        grouped.setdefault(rubric, []).append(position)
    found = Columns(range(1, len(rubrics) + 1), rubrics, [""] * len(rubrics)).by_rubric()
    assert {rubric: positions.tolist() for rubric, positions in found.items()} == grouped


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_CODES, st.sampled_from(["S10.G00.00.001", "S20.G00.05.001", "S21.G00.30.001",
                                                   "S21.G00.30.0A1", "S21.G00.30X001", "S21.G00.3:.001"])),
                min_size=1, max_size=300))
def test_tokens_grouped_by_block_and_number_are_those_grouped_one_by_one(rubrics):
    """With the block tree's arrays (a parsed declaration's columns), the positions of each rubric's tokens found by
    numbering each code's block and number, in the order of the codes' text; codes not of that form grouped as
    text."""
    grouped: dict[str, list[int]] = {}
    for position, rubric in enumerate(rubrics):
        grouped.setdefault(rubric, []).append(position)
    _, columns = columns_of(range(1, len(rubrics) + 1), rubrics, [""] * len(rubrics), catalogue("P25V01"))
    found = columns.by_rubric()
    assert [(rubric, positions.tolist()) for rubric, positions in found.items()] == sorted(grouped.items())


@pytest.fixture(params=["walk", "arrays"])
def parents_found(request, monkeypatch):
    """Both ways of finding the instances' parents: one walk (small declarations) and passes over arrays."""
    monkeypatch.setattr(blocks, "WALK_BELOW", 10 ** 9 if request.param == "walk" else 0)
    return request.param


def test_both_ways_of_finding_parents_build_the_line_by_line_tree(tmp_path, parents_found):
    generate(tmp_path, people=30, employers=2, bodies=1, months=1, seed=8, rates=Rates(defects=0.08))
    for path in sorted(tmp_path.rglob("*.dsn")):
        tokens = [t for raw in iter_raw_lines(io.BytesIO(path.read_bytes())) for t in [tokenize(raw)[0]] if t]
        for version in ("P25V01", "PASRAU"):
            slow, fast = _both(tokens, version)
            assert fast == slow, (path.name, parents_found)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_RUBRICS), max_size=80))
def test_any_sequence_of_blocks_gets_the_same_parents_walked_or_over_arrays(rubrics):
    """Orphans, closed parents, unknown and repeated blocks: the walk and the arrays find the same parents."""
    if not rubrics:
        return
    norm = catalogue("P25V01")
    found = []
    for walk_below in (10 ** 9, 0):
        blocks.WALK_BELOW = walk_below
        try:
            structure = blocks.block_structure(rubrics, norm)
        finally:
            blocks.WALK_BELOW = WALK_BELOW
        found.append((structure.parents.tolist(), structure.orphans.tolist()))
    assert found[0] == found[1]
