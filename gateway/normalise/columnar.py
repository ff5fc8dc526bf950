"""A declaration the certificates prove clean, taken through without its block tree (issue 23, item 1).

When every declaration and person rule is certified silent for a declaration (``gateway.validate.certify``), the
object path would accept it whole and every person in it: what remains is line accounting and normalisation.
Here both read the declaration's columns and its tree as arrays (``DeclarationColumns``): the lines of every
person and of the blocks outside people are counted over whole arrays, and the normaliser
(``gateway.normalise.resources``, ``.mentions``) runs unchanged over :class:`Instance` handles, which read a block
instance's values, children and lines from the columns. No object is built for the blocks the normaliser does
not visit (contracts' details, contributions, …: most of a declaration).

``tests/gateway/normalise/test_columnar.py`` proves the outcome equal to the object path's (the oracle) on the
bundled flows, the conformance corpus, generated flows with defects and mutated real-format text.
"""
from __future__ import annotations

import numpy as np

from gateway.parse import rubrics as R
from gateway.validate.certify import DeclarationColumns

# What the object path reads of the declaration's header (``ParsedDeclaration.value``) when it accepts one.
HEADER_RUBRICS = (R.NATURE, R.MAIN_MONTH, R.SIREN, R.NIC, R.TYPE, R.RANK, R.FRACTION)


class Instance:
    """A block instance read from the columns: what the normaliser asks of a ``BlockInstance``."""

    __slots__ = ("_lines", "index", "block")

    def __init__(self, lines: "DeclarationLines", index: int, block: str) -> None:
        self._lines = lines
        self.index = index
        self.block = block

    def get(self, rubric: str) -> str | None:
        return self._lines.view.by_instance(rubric).get(self.index)

    def children_of(self, block: str) -> list["Instance"]:
        lines = self._lines
        return [Instance(lines, child, block) for child in lines.view.children(block, self.block).get(self.index, ())]

    @property
    def first_line(self) -> int:
        return self._lines.first[self.index]

    @property
    def subtree_last_line(self) -> int:
        return self._lines.subtree_last[self.index]


class DeclarationLines:
    """The lines of a declaration's block instances, counted over whole arrays."""

    def __init__(self, view: DeclarationColumns, carries_resources: bool) -> None:
        self.view = view
        columns = view.decl.columns
        heads = view.heads
        count = len(columns.rubrics)
        lines = columns.lines
        numbers = np.arange(lines.start, lines.stop) if isinstance(lines, range) else np.asarray(lines, dtype=np.int64)
        ends = np.append(heads[1:], count)
        tokens = ends - heads                                  # an instance's lines: its tokens
        last = numbers[ends - 1]
        subtree = last.copy()                                  # the last line of each instance and all below it
        parents = view.parents
        below = np.flatnonzero(parents >= 0)
        while below.size:                                      # a level of the tree per round (a few rounds)
            before = subtree.copy()
            np.maximum.at(subtree, parents[below], subtree[below])
            if np.array_equal(before, subtree):
                break
        self.first: list[int] = numbers[heads].tolist()
        self.subtree_last: list[int] = subtree.tolist()
        person = view.person_of()
        consumed = np.zeros(len(view.names), dtype=bool)
        if carries_resources:
            consumed[[kind for kind, name in enumerate(view.names) if name in R.CONSUMED_BLOCKS]] = True
        used = np.where(consumed[view.kinds], tokens, 0)
        inside = person >= 0
        self.outside_used = int(used[~inside].sum())
        self.outside_ignored = int(tokens[~inside].sum()) - self.outside_used
        size = len(heads)
        self._person_lines = np.bincount(person[inside], weights=tokens[inside], minlength=size).astype(np.int64)
        self._person_used = np.bincount(person[inside], weights=used[inside], minlength=size).astype(np.int64)

    def people(self) -> list[Instance]:
        """The person blocks, in document order."""
        return [Instance(self, person, R.INDIVIDUAL) for person in self.view.instances(R.INDIVIDUAL)]

    def person_lines(self, person: Instance) -> tuple[int, int]:
        """The lines of the person's blocks, and how many of them the normaliser uses."""
        return int(self._person_lines[person.index]), int(self._person_used[person.index])


def read_header(view: DeclarationColumns) -> None:
    """Gives the declaration the header values its properties read (``value``, ``declarant_id``, ``main_day``…), as
    the arrays find them (``DeclarationColumns.first_value``): the tree is not built to find them."""
    for rubric in HEADER_RUBRICS:
        view.decl.know(rubric, view.first_value(rubric))
