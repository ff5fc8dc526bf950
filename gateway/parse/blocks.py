"""Block instances and their nesting, rebuilt as the norm says (FORMAT.md §1.1):

- all rubrics of one block instance are consecutive; a new instance of a block starts when the
  rubric number stops increasing (or another block came in between);
- a child block belongs to the closest preceding instance of its parent block type.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from gateway.parse.lines import Token
from gateway.parse.norm import NormCatalogue


@dataclass(slots=True, eq=False)
class BlockInstance:
    block: str
    first_line: int
    last_line: int
    values: dict[str, str] = field(default_factory=dict)
    lines_of: dict[str, int] = field(default_factory=dict)   # rubric -> line number
    children: list["BlockInstance"] = field(default_factory=list)
    parent: "BlockInstance | None" = None
    last_number: int = -1

    def get(self, rubric: str) -> str | None:
        return self.values.get(rubric)

    def line_of(self, rubric: str) -> int:
        return self.lines_of.get(rubric, self.first_line)

    def children_of(self, block: str) -> Iterator["BlockInstance"]:
        return (child for child in self.children if child.block == block)

    def walk(self) -> Iterator["BlockInstance"]:
        """This instance and all below it, in document order (iterative: trees are wide)."""
        stack = [self]
        while stack:
            instance = stack.pop()
            yield instance
            if instance.children:
                stack.extend(reversed(instance.children))

    @property
    def line_count(self) -> int:
        return len(self.lines_of)

    @property
    def subtree_last_line(self) -> int:
        return max(instance.last_line for instance in self.walk())


@dataclass(frozen=True, slots=True)
class StructureProblem:
    kind: str            # "unknown_rubric" | "orphan_block"
    line: int
    rubric: str


def build_blocks(tokens: list[Token], norm: NormCatalogue) -> tuple[list[BlockInstance], list[StructureProblem]]:
    """Top-level instances (normally one S20.G00.05) with their children, plus problems found.

    Rubrics unknown to the norm, and blocks whose parent instance is missing, are reported and
    kept as top-level instances so that every line still belongs to exactly one instance.
    """
    roots: list[BlockInstance] = []
    problems: list[StructureProblem] = []
    open_by_block: dict[str, BlockInstance] = {}
    current: BlockInstance | None = None
    for token in tokens:
        rubric = token.rubric
        block = rubric[:10]
        number = int(rubric[11:])
        if rubric not in norm.rubrics:
            problems.append(StructureProblem("unknown_rubric", token.number, rubric))
        if current is not None and current.block == block and number > current.last_number:
            instance = current
        else:
            instance = BlockInstance(block, token.number, token.number)
            parent_id = norm.parent_of(block)
            parent = open_by_block.get(parent_id) if parent_id else None
            if parent is not None:
                parent.children.append(instance)
                instance.parent = parent
            else:
                if parent_id is not None and block in norm.blocks:
                    problems.append(StructureProblem("orphan_block", token.number, rubric))
                roots.append(instance)
            _close_descendants(open_by_block, block, norm)
            open_by_block[block] = instance
            current = instance
        instance.values[rubric] = token.value
        instance.lines_of[rubric] = token.number
        instance.last_line = token.number
        instance.last_number = number
    return roots, problems


def _close_descendants(open_by_block: dict[str, BlockInstance], block: str, norm: NormCatalogue) -> None:
    """A new instance of ``block`` ends the open instances of every block below it."""
    below = norm.descendants.get(block)
    if below:
        for other in [b for b in open_by_block if b in below]:
            del open_by_block[other]
