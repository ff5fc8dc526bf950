"""A declaration's columns as the certifiers read them (``DeclarationColumns``), and declarations read together
seen as one (``GroupColumns``): token columns, the block tree as arrays, values by instance, amounts in cents."""
from __future__ import annotations

import bisect
import functools
import re
import weakref
from typing import Callable

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockStructure
from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.norm import NormCatalogue
from gateway.validate.columns import failing_tokens, failing_tokens_together, value_array
from gateway.values import cents, jjmmaaaa
from gateway.validate.certify.registry import GROUPED, _CERTIFIERS, Certifier


def _has_columns(decl: ParsedDeclaration) -> bool:
    """Whether the declaration has columns to view: read, with a known norm and tokens, and not in parts."""
    return decl.columns is not None and decl.columns.structure is not None and not decl.shared.get("in_parts")


class DeclarationColumns:
    """A declaration's tokens by rubric, and its block instances as arrays (one row per instance, in document
    order: the block of each, its parent instance, the person instance above it)."""

    def __init__(self, decl: ParsedDeclaration) -> None:
        columns = decl.columns
        self.decl: ParsedDeclaration | None = decl
        self._view(columns.values, columns.structure, columns.by_rubric, decl.norm)

    def _view(self, values: list[str], structure: BlockStructure, positions: Callable[[], dict[str, np.ndarray]],
              norm: NormCatalogue) -> None:
        self.norm = norm
        self.values = values
        self.names = structure.names
        self.kinds = structure.kinds
        self.parents = structure.parents
        self.heads = structure.heads
        self._positions_of = positions
        self._failed: set[tuple[str, bool]] | None = None
        self._first: dict[str, str | None] = {}
        self._kind = {name: kind for kind, name in enumerate(self.names)}
        self._persons: np.ndarray | None = None
        self._by_instance: dict[str, dict[int, str]] = {}          # several certifiers read the same columns
        self._columns: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._amounts: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._days: dict[str, np.ndarray] = {}
        self._children: dict[tuple[str, str], dict[int, list[int]]] = {}
        self._contracts: tuple[dict[str, int], np.ndarray, np.ndarray] | None = None
        self._named: np.ndarray | None = None

    @classmethod
    def of(cls, decl: ParsedDeclaration) -> "DeclarationColumns | None":
        """The declaration's view, made once (certificates and the columnar path share its memos); None when the
        declaration has no columns: not read, no known norm, no tokens, or read in parts."""
        if not _has_columns(decl):
            return None
        found = decl.cache.get("columns_view")
        if found is None:
            found = decl.cache["columns_view"] = cls(decl)
        return found

    def failing_tokens(self) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
        """(token, what is wrong with its value) of the failing values (``gateway.validate.columns``)."""
        return failing_tokens(self.decl)

    @property
    def _positions(self) -> dict[str, np.ndarray]:
        """rubric -> the positions of its tokens (grouped on first use: a declaration read together may have every
        certificate from its group and its header values, and never need them)."""
        return self._positions_of()

    def has(self, *rubrics: str) -> bool:
        return any(rubric in self._positions for rubric in rubrics)

    def members_of(self, instances: np.ndarray) -> list[int]:
        """The declaration each of ``instances`` belongs to: one declaration here, numbered 0."""
        return [0] * len(instances)

    def header_values(self, rubric: str, instances: np.ndarray) -> list[str | None]:
        """For each of ``instances``, what ``first_value`` gives for ``rubric`` in its declaration."""
        return [self.first_value(rubric)] * len(instances)

    def has_block(self, block: str) -> bool:
        return block in self._kind

    def values_of(self, rubric: str) -> list[str]:
        """Every value of ``rubric`` in the declaration, in document order."""
        positions = self._positions.get(rubric)
        return [] if positions is None else self._gather()[positions].tolist()

    def column(self, rubric: str) -> tuple[np.ndarray, list[str]]:
        """Every value of ``rubric`` in document order, and the instance holding each."""
        found = self._columns.get(rubric)
        if found is None:
            positions = self._positions.get(rubric)
            if positions is None:
                found = self._columns[rubric] = np.empty(0, dtype=np.int64), []
            else:
                found = self._columns[rubric] = (np.searchsorted(self.heads, positions, side="right") - 1,
                                                 self._gather()[positions].tolist())
        return found

    def _gather(self) -> np.ndarray:
        """The values as an array of objects: a column's values taken in one call, not one by one."""
        return value_array(self.decl)

    def amounts(self, rubric: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``rubric``'s amount in cents for every instance (as :func:`gateway.values.cents` reads it: :func:`_amounts`),
        and whether it is there and readable; None when an amount does not fit int64 (the caller then reads value by
        value)."""
        if rubric not in self._amounts:
            self._amounts[rubric] = _amounts(self.column(rubric), len(self.kinds))
        return self._amounts[rubric]

    def days(self, rubric: str) -> np.ndarray:
        """``rubric``'s date (JJMMAAAA) of every instance as a day number (``date.toordinal``); 0: none or not a
        date. Each distinct value is read once."""
        found = self._days.get(rubric)
        if found is None:
            found = self._days[rubric] = np.zeros(len(self.kinds), dtype=np.int64)
            instances, values = self.column(rubric)
            if values:
                table = {value: (day.toordinal() if (day := jjmmaaaa(value)) else 0) for value in set(values)}
                found[instances] = [table[value] for value in values]
        return found

    def by_instance(self, rubric: str) -> dict[int, str]:
        """instance -> its value of ``rubric`` (an instance holds a rubric at most once: rubric numbers increase
        within an instance)."""
        found = self._by_instance.get(rubric)
        if found is None:
            instances, values = self.column(rubric)
            found = self._by_instance[rubric] = dict(zip(instances.tolist(), values))
        return found

    def instances(self, block: str) -> list[int]:
        kind = self._kind.get(block)
        return [] if kind is None else np.flatnonzero(self.kinds == kind).tolist()

    def children(self, block: str, under: str) -> dict[int, list[int]]:
        """Instances of ``block`` whose parent is an instance of ``under``, by that parent (document order)."""
        found = self._children.get((block, under))
        if found is None:
            found = self._children[block, under] = self._children_of(block, under)
        return found

    def under(self, block: str, under: str) -> np.ndarray:
        """The instances of ``block`` whose parent is an instance of ``under``, in document order."""
        kind, above = self._kind.get(block), self._kind.get(under)
        if kind is None or above is None:
            return np.empty(0, dtype=np.int64)
        found = np.flatnonzero(self.kinds == kind)
        found = found[self.parents[found] >= 0]
        return found[self.kinds[self.parents[found]] == above]

    def _children_of(self, block: str, under: str) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        instances = self.under(block, under)
        for instance, parent in zip(instances.tolist(), self.parents[instances].tolist()):
            found.setdefault(parent, []).append(instance)
        return found

    def kind(self, block: str) -> int | None:
        return self._kind.get(block)

    def first_value(self, rubric: str) -> str | None:
        """What ``ParsedDeclaration.value`` reads, from the arrays: ``rubric`` in the first instance of its block in
        the tree's walk (depth first, roots and children in document order). That is the instance with the least
        path from its root; it is the first in the document too unless a block came before its parent's instance
        (an orphan kept as a root, read after the declaration's own tree)."""
        if rubric not in self._first:
            kind = self._kind.get(rubric[:10])
            group = GroupColumns.of(self.decl) if self.decl is not None and self.decl.together is not None else None
            if group is not None:                 # read together: found for every declaration of the group at once
                self._first[rubric] = group.member_values(rubric)[self.decl.together[1]]
            elif kind is None:
                self._first[rubric] = None
            else:
                instances = np.flatnonzero(self.kinds == kind).tolist()
                first = instances[0] if len(instances) == 1 else min(instances, key=self._path)
                self._first[rubric] = self.by_instance(rubric).get(first)
        return self._first[rubric]

    @functools.cached_property
    def nature(self) -> str:
        return self.first_value(R.NATURE) or self.decl.span.nature

    @functools.cached_property
    def main_day(self):
        return jjmmaaaa(self.first_value(R.MAIN_MONTH))

    @functools.cached_property
    def declarant_id(self) -> str | None:
        siren, nic = self.first_value(R.SIREN), self.first_value(R.NIC)
        return f"{siren}{nic}" if siren and nic else None

    @property
    def has_header(self) -> bool:
        """A root instance of the declaration block (``ParsedDeclaration.header``)."""
        kind = self._kind.get(R.DECLARATION)
        return kind is not None and bool(((self.kinds == kind) & (self.parents < 0)).any())

    def _path(self, instance: int) -> tuple[int, ...]:
        path = []
        while instance >= 0:
            path.append(instance)
            instance = int(self.parents[instance])
        return tuple(reversed(path))

    def person_of(self) -> np.ndarray:
        """For each instance, the person instance (S21.G00.30) it is or lies under; -1 outside people."""
        if self._persons is None:
            kind = self._kind.get(R.INDIVIDUAL, -1)
            is_person = self.kinds == kind
            person = np.where(is_person, np.arange(len(self.kinds)), -1)
            above = self.parents.copy()
            while True:
                todo = (person < 0) & (above >= 0)
                if not todo.any():
                    break
                reached = np.flatnonzero(todo)
                ancestors = above[reached]
                hit = is_person[ancestors]
                person[reached[hit]] = ancestors[hit]
                above[reached] = np.where(hit, -1, self.parents[ancestors])
            self._persons = person
        return self._persons


def _positions_of(together: "weakref.ref") -> dict[str, np.ndarray]:
    return together().by_rubric()


class GroupColumns(DeclarationColumns):
    """Declarations read together (``gateway.parse.together``) seen as one: their tokens and block instances end to
    end, no parent across two. A certifier that is a condition on every instance or person alone (``GROUPED``)
    holds for each declaration of the group when it holds for the group: run once for all of them, and
    declaration by declaration only where it fails, so that a group of small declarations pays a certifier's
    fixed cost (its few calls over arrays) once, not once a declaration. A certifier that also reads the
    declaration's nature or main month (``GROUPED``: True) is run so only when every declaration handed out of
    the group has the same ones; one that reads other header values is never run so."""

    def __init__(self, together) -> None:
        self.decl = None
        self._together = weakref.ref(together)    # held by the group (its cache): no cycle to wait for the collector
        # the group's positions through the weak reference: a bound method of the group would hold it from its own
        # cache (a cycle, which keeps each group's tokens alive until the collector's next full pass)
        self._view(together.values, together.structure, functools.partial(_positions_of, self._together),
                   together.norm)
        self._settle(together.members)

    def _settle(self, members: list) -> None:
        """This view's memos, empty, for its declarations ``members`` (by rank), and the header those handed out
        share, if one."""
        self._member_values: dict[str, list[str | None]] = {}
        self._parts: dict[tuple[int, int], _GroupPart] = {}
        self._size = len(members)
        self._held_by: dict[Certifier, dict[int, bool]] = {}
        natures, mains = self.member_values(R.NATURE), self.member_values(R.MAIN_MONTH)
        headers = {(natures[rank] or member.span.nature, jjmmaaaa(mains[rank]))
                   for rank, member in enumerate(members) if member is not None and _has_columns(member)}
        self._header = next(iter(headers)) if len(headers) == 1 else None
        self._held: dict[Certifier, bool] = {}
        self._certified: dict[tuple[str, ...], frozenset[str]] = {}

    @classmethod
    def of(cls, decl: ParsedDeclaration) -> "GroupColumns | None":
        """The view of the group ``decl`` was read in, made once; None when it was read alone (or is the only one
        of its group handed out)."""
        if decl.together is None:
            return None
        together, _ = decl.together
        found = together.cache.get("group_view")
        if found is None:
            if together.structure is None or sum(member is not None for member in together.members) < 2:
                return None
            found = together.cache["group_view"] = cls(together)
        return found

    @property
    def nature(self) -> str:
        return self._shared()[0]

    @property
    def main_day(self):
        return self._shared()[1]

    def _shared(self) -> tuple:
        if self._header is None:
            raise TypeError("declarations of several natures or months: no header is the group's")
        return self._header

    def first_value(self, rubric: str) -> str | None:
        raise TypeError(f"{rubric}: a group of declarations has no header values of its own")

    def _gather(self) -> np.ndarray:
        return self._together().value_array()

    def failing_tokens(self) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
        return failing_tokens_together(self._together())

    def members_of(self, instances: np.ndarray) -> list[int]:
        """The declaration of the group (its rank among those read together) each of ``instances`` belongs to."""
        return (np.searchsorted(self._together().firsts, self.heads[instances], side="right") - 1).tolist()

    def header_values(self, rubric: str, instances: np.ndarray) -> list[str | None]:
        values = self.member_values(rubric)
        return [values[member] for member in self.members_of(instances)]

    def member_values(self, rubric: str) -> list[str | None]:
        """What ``first_value`` gives for ``rubric`` in each declaration read together (by rank; those not handed out
        too): the first instance of the rubric's block in each one's walk, found once for all of them (memoised)."""
        found = self._member_values.get(rubric)
        if found is None:
            found = self._member_values[rubric] = [None] * (len(self._together().firsts) - 1)
            kind = self._kind.get(rubric[:10])
            instances = np.empty(0, dtype=np.int64) if kind is None else np.flatnonzero(self.kinds == kind)
            held: dict[int, list[int]] = {}
            for instance, member in zip(instances.tolist(), self.members_of(instances)):
                held.setdefault(member, []).append(instance)
            values = self.by_instance(rubric) if held else {}
            for member, its in held.items():
                found[member] = values.get(its[0] if len(its) == 1 else min(its, key=self._path))
        return found

    def certified(self, rule_ids: tuple[str, ...], rank: int | None = None) -> frozenset[str]:
        """Those of ``rule_ids`` whose certifier is one of ``GROUPED`` and holds for the whole group: proven for each
        declaration of it (found once per group and list of rules; the others are asked of each declaration). With
        ``rank`` (a declaration of the group), also those whose certifier holds for a part of the group holding it
        (:meth:`holds_for`)."""
        found = self._certified.get(rule_ids)
        if found is None:
            found = self._certified[rule_ids] = frozenset(
                rule_id for rule_id in rule_ids if (check := _CERTIFIERS.get(rule_id)) in GROUPED and self.holds(check))
        if rank is None or len(found) == len(rule_ids):
            return found
        return found | frozenset(rule_id for rule_id in rule_ids if rule_id not in found
                                 and (check := _CERTIFIERS.get(rule_id)) in GROUPED and self.holds_for(check, rank))

    def holds_for(self, check: "Certifier", rank: int) -> bool:
        """Whether ``check`` (one of ``GROUPED``) holds for a part of the group holding the declaration ``rank``: the
        group halved where the check fails, down to parts of fewer than SPLIT_FROM declarations (then each
        declaration is asked alone). One declaration failing a check in a group of n costs about 2 log2(n) checks of
        parts, not n checks of single declarations. Remembered per declaration."""
        known = self._held_by.setdefault(check, {})
        if rank in known:
            return known[rank]
        low, high = 0, self._size
        while high - low >= SPLIT_FROM:
            middle = (low + high) // 2
            low, high = (low, middle) if rank < middle else (middle, high)
            if self._part(low, high).holds(check):
                known.update(dict.fromkeys(range(low, high), True))
                return True
        known[rank] = False
        return False

    def _part(self, low: int, high: int) -> "_GroupPart":
        found = self._parts.get((low, high))
        if found is None:
            found = self._parts[low, high] = _GroupPart(self._together, low, high)
        return found

    def holds(self, check: "Certifier") -> bool:
        """Whether ``check`` (one of ``GROUPED``) holds for the whole group (then for each declaration of it)."""
        found = self._held.get(check)
        if found is None:
            found = self._held[check] = (not GROUPED[check] or self._header is not None) and check(self)
        return found


SPLIT_FROM = 4        # a failing part of fewer declarations has each asked alone: its halves' checks cost more


class _RubricPositions:
    """rubric -> the positions of its tokens within a token range of a group, taken from the group's on demand."""

    def __init__(self, together: "weakref.ref", start: int, end: int) -> None:
        self._together, self._start, self._end, self._found = together, start, end, {}

    def get(self, rubric: str, default=None):
        if rubric not in self._found:
            positions = self._together().by_rubric().get(rubric)
            if positions is not None:
                low, high = np.searchsorted(positions, (self._start, self._end)).tolist()
                positions = positions[low:high] - self._start if high > low else None
            self._found[rubric] = positions
        found = self._found[rubric]
        return default if found is None else found

    def __contains__(self, rubric: str) -> bool:
        return self.get(rubric) is not None


class _GroupPart(GroupColumns):
    """Declarations ``low`` to ``high`` (ranks, end excluded) of a group, seen as a group of their own: the group's
    tokens, instances and failing values of that range, renumbered from its start (block codes too: only those of
    the range), so that a certifier reads them as it reads a group read that way."""

    def __init__(self, together: "weakref.ref", low: int, high: int) -> None:
        self.decl = None
        self._together = together
        group, whole = together(), together().cache["group_view"]
        firsts = group.firsts[low:high + 1]
        start, end = int(firsts[0]), int(firsts[-1])
        self._start, self._end, self._low, self._firsts = start, end, low, firsts - start
        first, last = np.searchsorted(whole.heads, (start, end)).tolist()
        kinds = whole.kinds[first:last]
        used = np.unique(kinds)
        parents = whole.parents[first:last]
        structure = BlockStructure(whole.heads[first:last] - start, np.searchsorted(used, kinds),
                                   [whole.names[kind] for kind in used.tolist()],
                                   np.where(parents >= 0, parents - first, -1), np.empty(0, dtype=np.int64))
        positions = _RubricPositions(together, start, end)
        self._view(group.values[start:end], structure, lambda: positions, whole.norm)
        self._settle(group.members[low:high])

    def _gather(self) -> np.ndarray:
        return self._together().value_array()[self._start:self._end]

    def failing_tokens(self) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
        failing = failing_tokens_together(self._together())
        low = bisect.bisect_left(failing, self._start, key=_token)
        high = bisect.bisect_left(failing, self._end, key=_token)
        return [(token - self._start, reading) for token, reading in failing[low:high]]

    def members_of(self, instances: np.ndarray) -> list[int]:
        return (np.searchsorted(self._firsts, self.heads[instances], side="right") - 1).tolist()

    def member_values(self, rubric: str) -> list[str | None]:
        found = self._member_values.get(rubric)
        if found is None:
            whole = self._together().cache["group_view"]
            found = self._member_values[rubric] = whole.member_values(rubric)[self._low:self._low + self._size]
        return found


def _token(failing: tuple) -> int:
    return failing[0]


_NOT_SHORT = re.compile(r"^(?!-?[0-9]{1,16}\.[0-9]{2}$).*$", re.MULTILINE)   # not an amount of at most 18 digits
_BY_VALUE = 8         # below this many values, reading them one by one costs less than the passes over arrays


def _amounts(column: tuple[np.ndarray, list[str]], size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """What :func:`gateway.values.cents` reads of each value: the values joined by newlines, the lines that are not
    amounts of at most 18 digits found by one scan (and read by ``cents`` itself), the others parsed as integers in
    one call once their points are taken out. None when an amount does not fit int64 (the caller then reads value
    by value)."""
    instances, values = column
    if len(values) < _BY_VALUE:
        return _amounts_by_value(column, size)
    joined = "\n".join(values)
    odd = [joined.count("\n", 0, match.start()) for match in _NOT_SHORT.finditer(joined)]
    if odd:
        texts = list(values)
        for line in odd:
            texts[line] = "0.00"
        joined = "\n".join(texts)
    read = np.fromstring(joined.replace(".", ""), dtype=np.int64, sep="\n")
    present = np.ones(len(values), dtype=bool)
    for line in odd:
        value = cents(values[line])
        if value is None:
            present[line] = False
        elif not -_INT64 <= value <= _INT64:
            return None
        else:
            read[line] = value
    found, where = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool)
    found[instances], where[instances] = np.where(present, read, 0), present
    return found, where


_INT64 = np.iinfo(np.int64).max


def _amounts_by_value(column: tuple[np.ndarray, list[str]], size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The reference of :func:`_amounts`: ``cents`` value by value."""
    instances, values = column
    found, present = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool)
    for instance, value in zip(instances.tolist(), values):
        amount = cents(value)
        if amount is not None:
            if not -_INT64 <= amount <= _INT64:
                return None
            found[instance], present[instance] = amount, True
    return found, present
