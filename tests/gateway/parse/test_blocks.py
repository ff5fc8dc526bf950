from gateway.parse.blocks import build_blocks
from gateway.parse.lines import Token
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
