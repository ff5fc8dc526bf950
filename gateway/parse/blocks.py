"""Block instances and their nesting, rebuilt as the norm says (FORMAT.md §1.1):

- all rubrics of one block instance are consecutive; a new instance of a block starts when the
  rubric number stops increasing (or another block came in between);
- a child block belongs to the closest preceding instance of its parent block type.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from gateway.parse.lines import Token
from gateway.parse.norm import NormCatalogue


@dataclass(slots=True, eq=False)
class BlockInstance:
    block: str
    first_line: int
    last_line: int
    values: dict[str, str] = field(default_factory=dict)       # rubric -> value, in line order
    # The line of each value, in the same order; None when they are the lines from first_line on (the
    # usual case, so that an instance needs no second dict: a line is looked up only to report it).
    lines: "Sequence[int] | None" = None
    children: list["BlockInstance"] = field(default_factory=list)
    parent: "BlockInstance | None" = None
    _subtree: "tuple[BlockInstance, ...] | None" = field(default=None, repr=False)

    def get(self, rubric: str) -> str | None:
        return self.values.get(rubric)

    def line_of(self, rubric: str) -> int:
        """The line of ``rubric`` in this instance (its first line when the instance lacks it)."""
        for position, key in enumerate(self.values):
            if key == rubric:
                return self.first_line + position if self.lines is None else self.lines[position]
        return self.first_line

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
        return len(self.values)

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
    This is the line-by-line reference; the run uses :func:`build_blocks_from_columns`.
    """
    tree = _Tree(norm)
    rubrics = norm.rubrics
    current: BlockInstance | None = None
    current_block, last_number = "", -1
    for line, rubric, value in tokens:
        block = rubric[:10]
        number = int(rubric[11:])
        if rubric not in rubrics:
            tree.problems.append(StructureProblem("unknown_rubric", line, rubric))
        if block == current_block and number > last_number:
            instance = current
        else:
            instance = current = tree.attach(BlockInstance(block, line, line, lines=[]), rubric)
            current_block = block
        instance.values[rubric] = value
        instance.lines.append(line)
        instance.last_line = line
        last_number = number
    return tree.roots, tree.problems


@dataclass(slots=True)
class Columns:
    """A declaration's tokens as columns, with its block tree as arrays (``structure``) and, built only when asked
    for (:meth:`tree`), as :class:`BlockInstance` objects.

    Kept with the parsed declaration so that value rules can check a whole column at once and find the instance
    (and person) of the few values that fail, and so that a declaration the certificates prove clean is taken
    through without any object per block instance (``gateway.normalise.columnar``).
    """

    lines: Sequence[int]
    rubrics: list[str]
    values: list[str]
    structure: "BlockStructure | None" = None    # the tree as arrays (None when there are no tokens)
    _instances: "list[BlockInstance] | None" = None
    _roots: "list[BlockInstance] | None" = None
    _by_rubric: "dict[str, np.ndarray] | None" = None

    def by_rubric(self) -> dict[str, np.ndarray]:
        """rubric -> the positions of its tokens, in document order (grouped over the whole column at once)."""
        if self._by_rubric is None:
            found = None if self.structure is None else _positions_by_block(self.rubrics, self.structure)
            self._by_rubric = _positions(self.rubrics) if found is None else found
        return self._by_rubric

    @property
    def instances(self) -> list[BlockInstance]:
        """The instance starting at each head, in document order (the tree is built on first use)."""
        self.tree()
        return self._instances

    def instance_of(self, token: int) -> BlockInstance:
        return self.instances[int(np.searchsorted(self.structure.heads, token, side="right")) - 1]

    def tree(self) -> list[BlockInstance]:
        """The root instances, every instance with its values, children and parent (built once)."""
        if self._roots is None:
            self._roots, self._instances = _tree_of(self) if self.structure is not None else ([], [])
        return self._roots


@dataclass(frozen=True, slots=True)
class BlockStructure:
    """A declaration's block tree as arrays, one row per block instance in document order."""

    heads: np.ndarray        # position of each instance's first token
    kinds: np.ndarray        # each instance's block, as an index into ``names``
    names: list[str]         # the distinct blocks, in code order
    parents: np.ndarray      # position of each instance's parent instance (-1: a root)
    orphans: np.ndarray      # positions of the instances whose parent block has no open instance


def block_structure(rubrics: list[str], norm: NormCatalogue) -> BlockStructure:
    """Instance boundaries and parents over whole columns (numpy): no Python work per token or instance."""
    count = len(rubrics)
    codes = np.frombuffer("".join(rubrics).encode("ascii"), dtype=np.uint8).reshape(count, 14)
    digits = codes[:, 11:14].astype(np.int16) - 48
    number = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    starts = np.empty(count, dtype=bool)
    starts[0] = True
    starts[1:] = (codes[1:, :10] != codes[:-1, :10]).any(axis=1) | (number[1:] <= number[:-1])
    heads = np.flatnonzero(starts)
    blocks, kinds = np.unique(codes[heads, :10].copy().view("S10").ravel(), return_inverse=True)
    names = [block.decode("ascii") for block in blocks.tolist()]
    kinds = kinds.ravel()
    return BlockStructure(heads, kinds, names, *_parents(kinds, names, norm))


def build_blocks_from_columns(lines: Sequence[int], rubrics: list[str], values: list[str],
                              norm: NormCatalogue) -> tuple[list[BlockInstance], list[StructureProblem], Columns]:
    """What :func:`build_blocks` gives for the tokens ``zip(lines, rubrics, values)``, with the instance
    boundaries, each instance's parent and the unknown rubrics found over whole columns
    (:func:`block_structure`) and Python work per instance only to build it; plus the columns themselves."""
    problems, columns = columns_of(lines, rubrics, values, norm)
    return columns.tree(), problems, columns


def columns_of(lines: Sequence[int], rubrics: list[str], values: list[str],
               norm: NormCatalogue) -> tuple[list[StructureProblem], Columns]:
    """The structure problems of the tokens ``zip(lines, rubrics, values)`` and their columns, with the block tree
    as arrays only: no object per instance until :meth:`Columns.tree` is asked for."""
    columns = Columns(lines, rubrics, values)
    if not rubrics:
        return [], columns
    tree = columns.structure = block_structure(rubrics, norm)
    heads = tree.heads
    problems = [StructureProblem("orphan_block", lines[heads[i]], rubrics[heads[i]]) for i in tree.orphans.tolist()]
    strangers = set(rubrics).difference(norm.rubrics)          # rubrics the norm does not know (rare)
    if strangers:
        found = [StructureProblem("unknown_rubric", lines[i], rubric)
                 for i, rubric in enumerate(rubrics) if rubric in strangers]
        # Reported in line order, an unknown rubric before the orphan block it starts (as line by line).
        problems = sorted(found + problems, key=lambda p: (p.line, p.kind != "unknown_rubric"))
    return problems, columns


def _positions(rubrics: list[str]) -> dict[str, np.ndarray]:
    """rubric -> positions of its tokens: rubric codes as fixed-width bytes, grouped by a stable sort."""
    joined = "".join(rubrics)
    if not rubrics or len(joined) != 14 * len(rubrics) or not joined.isascii():
        found: dict[str, list[int]] = {}                      # not all plain rubric codes: one by one
        for position, rubric in enumerate(rubrics):
            found.setdefault(rubric, []).append(position)
        return {rubric: np.asarray(positions, dtype=np.int64) for rubric, positions in found.items()}
    # each code as two 64-bit words (its 14 bytes, padded to 16), each word's distinct values numbered: a distinct
    # rubric is a distinct pair of numbers (integers sort several times faster than 14-byte strings)
    padded = np.zeros((len(rubrics), 16), dtype=np.uint8)
    padded[:, :14] = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 14)
    words = padded.view(">u8")
    _, high = np.unique(words[:, 0], return_inverse=True)
    seconds, low = np.unique(words[:, 1], return_inverse=True)
    distinct, inverse = np.unique(high.ravel() * len(seconds) + low.ravel(), return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    bounds = np.searchsorted(inverse.ravel()[order], np.arange(len(distinct) + 1)).tolist()
    return {rubrics[int(order[start])]: order[start:end] for start, end in zip(bounds[:-1], bounds[1:])}


def _positions_by_block(rubrics: list[str], structure: BlockStructure) -> dict[str, np.ndarray] | None:
    """What :func:`_positions` gives, from the block tree's arrays: a plain rubric code is its block (the instance
    holding it: ``structure.kinds``, numbered in code order) and a 3-digit number, so ``kind * 1000 + number`` is a
    small integer that orders the codes as their text does, grouped by one integer sort. None when a code is not of
    that form (the caller groups the text)."""
    count = len(rubrics)
    joined = "".join(rubrics)
    if not count or len(joined) != 14 * count or not joined.isascii():
        return None
    tails = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(count, 14)[:, 10:]
    digits = tails[:, 1:].astype(np.int32) - 48
    if (tails[:, 0] != ord(".")).any() or (digits < 0).any() or (digits > 9).any():
        return None
    kinds = np.repeat(structure.kinds.astype(np.int32), np.diff(structure.heads, append=count))
    keys = kinds * 1000 + digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    if len(structure.names) <= 65:
        keys = keys.astype(np.uint16)              # below 65,536: numpy sorts it by radix
    order = np.argsort(keys, kind="stable")
    sizes = np.bincount(keys)
    bounds = np.concatenate(([0], np.cumsum(sizes[sizes > 0]))).tolist()
    return {rubrics[int(order[start])]: order[start:end] for start, end in zip(bounds[:-1], bounds[1:])}


def _tree_of(columns: Columns) -> tuple[list[BlockInstance], list[BlockInstance]]:
    """The block instances of ``columns`` (Python work per instance only to build each), and the roots."""
    lines, rubrics, values, tree = columns.lines, columns.rubrics, columns.values, columns.structure
    heads = tree.heads.tolist()
    names, consecutive = tree.names, isinstance(lines, range)
    instances: list[BlockInstance] = []
    append = instances.append
    for kind, head, end in zip(tree.kinds.tolist(), heads, heads[1:] + [len(rubrics)]):
        first, last = lines[head], lines[end - 1]
        append(BlockInstance(names[kind], first, last, dict(zip(rubrics[head:end], values[head:end])),
                             None if consecutive or last - first == end - head - 1 else tuple(lines[head:end]),
                             []))
    roots = []
    for instance, parent in zip(instances, tree.parents.tolist()):
        if parent < 0:
            roots.append(instance)
        else:
            above = instances[parent]
            above.children.append(instance)
            instance.parent = above
    return roots, instances


WALK_BELOW = 200          # instances below which their parents are found in one Python walk, not ~100 array calls


def _parents(kinds: np.ndarray, names: list[str], norm: NormCatalogue) -> tuple[np.ndarray, np.ndarray]:
    """For instances of blocks ``names[kinds[i]]`` in document order: the position of each one's parent
    instance (-1 for a root), and the positions of the orphans (a parent block, but no open instance of it).

    As :class:`_Tree` attaches them: an instance's parent is the latest earlier instance of its parent block,
    unless an instance of one of that block's ancestors came after it (which closed it). Over arrays, a few
    passes per parent block; a small declaration's few instances in one walk (:func:`_parents_by_walk`: the
    arrays' fixed cost is most of a small declaration's)."""
    if len(kinds) < WALK_BELOW:
        return _parents_by_walk(kinds, names, norm)
    return parents_of(kinds, names, norm)


def parents_of(kinds: np.ndarray, names: list[str], norm: NormCatalogue, first: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_parents` over arrays. ``first``: for instances of several declarations put end to end
    (``gateway.parse.together``), the position of the first instance of each one's declaration: no parent is found
    before it (an instance whose parent block has no open instance in its own declaration is an orphan)."""
    count = len(kinds)
    parents = np.full(count, -1, dtype=np.int64)
    orphan = np.zeros(count, dtype=bool)
    position = np.arange(count, dtype=np.int64)
    kind_of = {name: kind for kind, name in enumerate(names)}
    by_parent: dict[str, list[int]] = {}
    for kind, name in enumerate(names):
        spec = norm.blocks.get(name)
        if spec is not None and spec.parent is not None:
            by_parent.setdefault(spec.parent, []).append(kind)
    for parent_block, children in by_parent.items():
        child = _among(kinds, children, len(names))
        if parent_block not in kind_of:
            orphan |= child
            continue
        latest = _latest_before(kinds == kind_of[parent_block], position)
        closers = [kind_of[a] for a in norm.ancestors(parent_block) if a in kind_of]
        closed = _latest_before(_among(kinds, closers, len(names)), position) if closers else None
        found = latest[child] if closed is None else np.where(latest > closed, latest, -1)[child]
        if first is not None:
            found[found < first[child]] = -1
        parents[child] = found
        orphan[np.flatnonzero(child)[found < 0]] = True
    return parents, np.flatnonzero(orphan)


def _parents_by_walk(kinds: np.ndarray, names: list[str], norm: NormCatalogue) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_parents` instance by instance: the latest position of each block seen so far decides."""
    kind_of = {name: kind for kind, name in enumerate(names)}
    plan: list[tuple | None] = []          # per block: None (a root), () (never a parent: an orphan), or its parent
    for name in names:                     # block and the blocks whose instances close that parent's
        spec = norm.blocks.get(name)
        if spec is None or spec.parent is None:
            plan.append(None)
        elif spec.parent not in kind_of:
            plan.append(())
        else:
            plan.append((kind_of[spec.parent], [kind_of[a] for a in norm.ancestors(spec.parent) if a in kind_of]))
    latest = [-1] * len(names)
    parents = [-1] * len(kinds)
    orphans = []
    for position, kind in enumerate(kinds.tolist()):
        found = plan[kind]
        if found is not None:
            parent = latest[found[0]] if found else -1
            if parent < 0 or any(latest[closer] > parent for closer in found[1]):
                orphans.append(position)
            else:
                parents[position] = parent
        latest[kind] = position
    return np.asarray(parents, dtype=np.int64), np.asarray(orphans, dtype=np.int64)


def _among(kinds: np.ndarray, chosen: list[int], size: int) -> np.ndarray:
    table = np.zeros(size, dtype=bool)
    table[chosen] = True
    return table[kinds]


def _latest_before(mask: np.ndarray, position: np.ndarray) -> np.ndarray:
    """For each position, the latest strictly earlier position where ``mask`` holds (-1 if none)."""
    latest = np.empty(len(mask), dtype=np.int64)
    latest[0] = -1
    if len(mask) > 1:
        latest[1:] = np.maximum.accumulate(np.where(mask[:-1], position[:-1], -1))
    return latest


class _Tree:
    """Roots and open instances while blocks are attached in document order."""

    def __init__(self, norm: NormCatalogue) -> None:
        self.roots: list[BlockInstance] = []
        self.problems: list[StructureProblem] = []
        self._open: dict[str, BlockInstance] = {}
        self._blocks, self._descendants = norm.blocks, norm.descendants
        self._plan: dict[str, tuple[str | None, frozenset[str]]] = {}    # block -> parent block, blocks below

    def attach(self, instance: BlockInstance, rubric: str) -> BlockInstance:
        """A new instance goes under the closest open instance of its parent block (else it is a root)."""
        block = instance.block
        try:
            parent_id, below = self._plan[block]
        except KeyError:
            spec = self._blocks.get(block)
            parent_id, below = self._plan[block] = (spec.parent if spec is not None else None,
                                                    self._descendants.get(block) or frozenset())
        opened = self._open
        parent = opened.get(parent_id) if parent_id else None
        if parent is not None:
            parent.children.append(instance)
            instance.parent = parent
        else:
            if parent_id is not None:
                self.problems.append(StructureProblem("orphan_block", instance.first_line, rubric))
            self.roots.append(instance)
        if below and opened:
            for other in [other for other in opened if other in below]:
                del opened[other]
        opened[block] = instance
        return instance
