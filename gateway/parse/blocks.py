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
    _subtree: "tuple[BlockInstance, ...] | None" = field(default=None, repr=False)

    def get(self, rubric: str) -> str | None:
        return self.values.get(rubric)

    def line_of(self, rubric: str) -> int:
        return self.lines_of.get(rubric, self.first_line)

    def children_of(self, block: str) -> Iterator["BlockInstance"]:
        return (child for child in self.children if child.block == block)

    def walk(self) -> tuple["BlockInstance", ...]:
        """This instance and all below it, in document order (iterative: trees are wide).

        Computed once: rules walk a person block many times, and a tree is not changed once
        :func:`build_blocks` has returned it.
        """
        if self._subtree is None:
            found: list[BlockInstance] = []
            stack = [self]
            while stack:
                instance = stack.pop()
                found.append(instance)
                if instance.children:
                    stack.extend(reversed(instance.children))
            self._subtree = tuple(found)
        return self._subtree

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
    rubrics, blocks, descendants = norm.rubrics, norm.blocks, norm.descendants
    current_block, last_number = "", -1
    for line, rubric, value in tokens:
        block = rubric[:10]
        number = int(rubric[11:])
        if rubric not in rubrics:
            problems.append(StructureProblem("unknown_rubric", line, rubric))
        if block == current_block and number > last_number:
            instance = current
        else:
            instance = BlockInstance(block, line, line)
            spec = blocks.get(block)
            parent_id = spec.parent if spec is not None else None
            parent = open_by_block.get(parent_id) if parent_id else None
            if parent is not None:
                parent.children.append(instance)
                instance.parent = parent
            else:
                if parent_id is not None:
                    problems.append(StructureProblem("orphan_block", line, rubric))
                roots.append(instance)
            below = descendants.get(block)
            if below:
                for other in [b for b in open_by_block if b in below]:
                    del open_by_block[other]
            open_by_block[block] = instance
            current, current_block = instance, block
        instance.values[rubric] = value
        instance.lines_of[rubric] = line
        instance.last_line = line
        instance.last_number = last_number = number
    return roots, problems
