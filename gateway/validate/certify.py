"""Certificates over a declaration's columns: rules proven, for a whole declaration at once, to find nothing in it
(the declaration rules) or in any of its people (the person rules), so that the object path skips them.

A person rule is called once per person and walks that person's block instances. Most declarations break
none of them, and proving that over the declaration's token columns (each rubric's values with the block
instance that holds them, the tree as arrays from :func:`gateway.parse.blocks.block_structure`) costs a pass
over a few columns instead of a call per person and per rule. A certificate is a sufficient condition: when it
holds, the rule's check yields nothing for every person of the declaration; when it does not (or when the
certifier cannot tell), the rule runs as before and reports exactly what it finds. So the findings are the same
with and without certificates, which ``tests/gateway/validate/test_certificates.py`` proves rule by rule (the
rule is the oracle) on the bundled flows, the conformance corpus, generated flows with defects and mutated text.

Certifiers read the columns, the arrays, the tokenizer's defects, the failing tokens of the value pass
(``gateway.validate.columns.failing_tokens``) and the header values (found in the arrays as the rules read them:
``DeclarationColumns.first_value``), never the tree: the columnar engine (issue 23) can take a declaration off the
object path once every rule of its targets certifies it.
"""
from __future__ import annotations

import functools
import re
import weakref
from collections import Counter
from typing import Callable

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockStructure
from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.norm import NormCatalogue
from gateway.validate.columns import failing_tokens, failing_tokens_together, value_array
from gateway.validate.rules.amounts import DSN_RESOURCES
from gateway.validate.rules.identity import siren_valid, siret_valid
from gateway.validate.rules.regularisations import FORBIDDEN, MONTHLY, REQUIRED
from gateway.validate.rules.structure import PLATFORM, READ_OR_CORE
from gateway.values import cents, jjmmaaaa, mmaaaa_month, month_end, month_of, next_month_end

ALL_NINES = ("1999999999999", "2999999999999")


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
        self._member_values: dict[str, list[str | None]] = {}
        natures, mains = self.member_values(R.NATURE), self.member_values(R.MAIN_MONTH)
        headers = {(natures[rank] or member.span.nature, jjmmaaaa(mains[rank]))
                   for rank, member in enumerate(together.members) if member is not None and _has_columns(member)}
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

    def certified(self, rule_ids: tuple[str, ...]) -> frozenset[str]:
        """Those of ``rule_ids`` whose certifier is one of ``GROUPED`` and holds for the whole group: proven for each
        declaration of it (found once per group and list of rules; the others are asked of each declaration)."""
        found = self._certified.get(rule_ids)
        if found is None:
            found = self._certified[rule_ids] = frozenset(
                rule_id for rule_id in rule_ids if (check := _CERTIFIERS.get(rule_id)) in GROUPED and self.holds(check))
        return found

    def holds(self, check: "Certifier") -> bool:
        """Whether ``check`` (one of ``GROUPED``) holds for the whole group (then for each declaration of it)."""
        found = self._held.get(check)
        if found is None:
            found = self._held[check] = (not GROUPED[check] or self._header is not None) and check(self)
        return found


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


Certifier = Callable[[DeclarationColumns], bool]
_CERTIFIERS: dict[str, Certifier] = {}


def certifies(rule_id: str) -> Callable[[Certifier], Certifier]:
    def register(check: Certifier) -> Certifier:
        _CERTIFIERS[rule_id] = check
        return check
    return register


def certifiable() -> frozenset[str]:
    """The rules a certificate can be given for."""
    return frozenset(_CERTIFIERS)


def certified(decl: ParsedDeclaration, rule_ids) -> frozenset[str]:
    """Those of ``rule_ids`` proven to find nothing in ``decl`` or any of its people (empty when the declaration has
    no columns: not read, no known norm, or read in parts)."""
    view = DeclarationColumns.of(decl)
    if view is None:
        return frozenset()
    group = GroupColumns.of(decl)
    proven = frozenset() if group is None else group.certified(tuple(rule_ids))
    held: dict[Certifier, bool] = {}          # a certifier of several rules (DRM-DEC-001 to 005...) is run once

    def holds(check: Certifier) -> bool:
        found = held.get(check)
        if found is None:
            found = held[check] = check(view)
        return found
    return proven | frozenset(rule_id for rule_id in rule_ids if rule_id not in proven
                              and (check := _CERTIFIERS.get(rule_id)) is not None and holds(check))


# --- identity (gateway.validate.rules.identity, .formats) -------------------------------------------------------

@certifies("DRM-ID-001")
def _identified(view: DeclarationColumns) -> bool:
    named = {i for rubric in (R.NIR, R.NTT) for i, value in view.by_instance(rubric).items() if value}
    return all(person in named for person in view.instances(R.INDIVIDUAL))


@certifies("DRM-ID-002")
def _no_all_nines(view: DeclarationColumns) -> bool:
    return not any(nir in ALL_NINES for nir in view.values_of(R.NIR))


@certifies("DRM-ID-003")
def _no_trailing_nines(view: DeclarationColumns) -> bool:
    return not any(len(nir) == 13 and nir.endswith("999999") for nir in view.values_of(R.NIR))


def _birth_year(birth: str) -> int | None:
    return int(birth[4:]) if len(birth) == 8 and birth[4:].isdigit() else None


@certifies("DRM-ID-004")
def _department_fits_the_year(view: DeclarationColumns) -> bool:
    nirs = {i: nir for i, nir in view.by_instance(R.NIR).items() if len(nir) == 13 and nir[5:7] in ("2A", "2B", "20", "96")}
    if not nirs:
        return True
    births = view.by_instance(R.BIRTH_DATE)
    for instance, nir in nirs.items():
        year = _birth_year(births.get(instance) or "")
        if year is None:
            continue
        department = nir[5:7]
        if (department in ("2A", "2B") and year < 1976) or (department == "20" and year >= 1976) \
                or (department == "96" and year >= 1968):
            return False
    return True


@certifies("DRM-ID-005")
def _birth_year_fits_the_nir(view: DeclarationColumns) -> bool:
    births = view.by_instance(R.BIRTH_DATE)
    for instance, nir in view.by_instance(R.NIR).items():
        if len(nir) != 13:
            continue
        year = _birth_year(births.get(instance) or "")
        if year is not None and nir[1:3].isdigit() and int(nir[1:3]) != year % 100:
            return False
    return True


def _distinct(view: DeclarationColumns, rubric: str) -> bool:
    """No value of ``rubric`` given twice in one declaration (of a group: within each of its declarations; the same
    person is often declared by two employers of one group)."""
    instances, values = view.column(rubric)
    given = [(member, value) for member, value in zip(view.members_of(instances), values) if value]
    return len(set(given)) == len(given)


@certifies("DRM-ID-006")
def _nirs_are_unique(view: DeclarationColumns) -> bool:
    return _distinct(view, R.NIR)


@certifies("DRM-ID-008")
def _ntts_are_unique(view: DeclarationColumns) -> bool:
    return _distinct(view, R.NTT)


@certifies("DRM-ID-007")
def _ntt_carries_the_siren(view: DeclarationColumns) -> bool:
    instances, ntts = view.column(R.NTT)
    return all(not siren or ntt[1:10] == siren
               for ntt, siren in zip(ntts, view.header_values(R.SIREN, instances)) if ntt)


@certifies("DRM-ID-011")
def _no_keyed_nir(view: DeclarationColumns) -> bool:
    return not any(len(nir) == 15 for nir in view.values_of(R.NIR))     # keyed NIRs are checked by the rule


# --- values checked column by column (gateway.validate.columns) -------------------------------------------------

def _failures(view: DeclarationColumns) -> set[tuple[str, bool]]:
    """(kind of failure, inside a person) of the declaration's failing values (gateway.validate.columns), the person
    found in the arrays."""
    found = view._failed
    if found is None:
        failing = view.failing_tokens()
        found = view._failed = set()
        if failing:
            tokens = [token for token, _ in failing]
            instances = np.searchsorted(view.heads, tokens, side="right") - 1
            in_person = (view.person_of()[instances] >= 0).tolist()
            found.update((kind, inside) for (_, reading), inside in zip(failing, in_person) for kind, _, _ in reading)
    return found


def _no_person_failure(kind: str) -> Certifier:
    def check(view: DeclarationColumns) -> bool:
        return (kind, True) not in _failures(view)
    return check


certifies("DRM-FMT-002")(_no_person_failure("formats"))
certifies("DRM-AMT-006")(_no_person_failure("amounts"))
certifies("DRM-PER-005")(_no_person_failure("dates"))


# --- payments (gateway.validate.rules.amounts) ------------------------------------------------------------------

_SAFE = 10 ** 14               # amounts (cents) whose products and sums below stay far inside int64


def _small(*arrays: np.ndarray) -> bool:
    return all(not array.size or int(np.abs(array).max()) < _SAFE for array in arrays)


@certifies("DRM-AMT-001")
def _pas_fits_base_and_rate(view: DeclarationColumns) -> bool:
    read = [view.amounts(rubric) for rubric in (R.PAS_AMOUNT, R.PAS_BASE, R.PAS_RATE)]
    if None in read:
        return _pas_fits_by_value(view)
    (paid, has_paid), (base, has_base), (rate, has_rate) = read
    both = has_paid & has_base & has_rate
    paid, base, rate = paid[both], base[both], rate[both]
    if paid.size and (not _small(paid) or int(np.abs(base).max()) * int(np.abs(rate).max()) >= 2 ** 62):
        return _pas_fits_by_value(view)
    return not (np.abs(paid * 10000 - base * rate) > 100 * 10000).any()


def _pas_fits_by_value(view: DeclarationColumns) -> bool:
    bases, rates = view.by_instance(R.PAS_BASE), view.by_instance(R.PAS_RATE)
    for payment, amount in view.by_instance(R.PAS_AMOUNT).items():
        base, rate, paid = cents(bases.get(payment)), cents(rates.get(payment)), cents(amount)
        if None not in (base, rate, paid) and abs(paid * 10000 - base * rate) > 100 * 10000:
            return False
    return True


@certifies("DRM-AMT-002")
def _rate_type_99_without_rate(view: DeclarationColumns) -> bool:
    rates, amounts = view.by_instance(R.PAS_RATE), view.by_instance(R.PAS_AMOUNT)
    return not any(kind == "99" and (cents(rates.get(payment)) or cents(amounts.get(payment)))
                   for payment, kind in view.by_instance(R.PAS_RATE_TYPE).items())


def _contract_numbers(view: DeclarationColumns) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """The numbers of the contracts under a person (S21.G00.40.009, empty ones too), each distinct number given a
    code: (number -> code, the person of each numbered contract, its number's code), in document order (memoised)."""
    found = view._contracts
    if found is None:
        under = np.zeros(len(view.kinds), dtype=bool)
        under[view.under(R.CONTRACT, R.INDIVIDUAL)] = True
        instances, numbers = view.column(R.CONTRACT_NUMBER)
        keep = under[instances]
        codes: dict[str, int] = {}
        code = np.array([codes.setdefault(number, len(codes))
                         for number, kept in zip(numbers, keep.tolist()) if kept], dtype=np.int64)
        found = view._contracts = codes, view.parents[instances[keep]], code
    return found


def _named_contracts(view: DeclarationColumns) -> np.ndarray:
    """For each instance, the code (:func:`_contract_numbers`) of the contract number it names (S21.G00.51.010);
    -1: it names none, or a number no contract under a person has (memoised)."""
    found = view._named
    if found is None:
        codes = _contract_numbers(view)[0]
        found = view._named = np.full(len(view.kinds), -1, dtype=np.int64)
        instances, references = view.column(R.REMUNERATION_CONTRACT)
        found[instances] = [codes.get(reference, -1) for reference in references]
    return found


_PAY_KINDS = {kind: index for index, kind in enumerate(R.REQUIRED_PAY_TYPES)}


@certifies("DRM-AMT-003")
def _required_pay_types(view: DeclarationColumns) -> bool:
    """Every payment of a person declares every required pay type for each of the person's numbered contracts, as
    keys over arrays: the (payment, contract number, pay type) a person's contracts require, joined from the payments
    and contracts by their person, all among the (payment, contract named, pay type) of the payment's remunerations.
    Contract numbers are numbered once each (a remuneration naming no contract of the declaration matches none).
    :func:`_required_pay_types_by_value` is its reference."""
    if view.nature not in DSN_RESOURCES:
        return True
    payments = view.under(R.PAYMENT, R.INDIVIDUAL)
    if not len(payments) or not view.has(R.CONTRACT_NUMBER):
        return True
    codes, person, code = _contract_numbers(view)
    numbered = code != codes.get("", -1)
    person, code = person[numbered], code[numbered]
    if not len(code):
        return True
    size = len(view.kinds)
    order = np.argsort(person, kind="stable")
    person, code = person[order], code[order]
    # Each person's numbered contracts, every payment of the person repeated once per contract.
    counts = np.bincount(person, minlength=size)
    starts = np.cumsum(counts) - counts
    repeats = counts[view.parents[payments]]
    total = int(repeats.sum())
    if not total:
        return True
    ends = np.cumsum(repeats)
    within = np.arange(total) - np.repeat(ends - repeats, repeats)
    required_payment = np.repeat(payments, repeats)
    required_code = code[np.repeat(starts[view.parents[payments]], repeats) + within]
    kinds = len(R.REQUIRED_PAY_TYPES)
    required = ((required_payment * len(codes) + required_code)[:, None] * kinds + np.arange(kinds)).ravel()
    remunerations = view.under(R.REMUNERATION, R.PAYMENT)
    kind = np.full(size, -1, dtype=np.int64)
    instances, types = view.column(R.REMUNERATION_TYPE)
    kind[instances] = [_PAY_KINDS.get(value, -1) for value in types]
    named, kind = _named_contracts(view)[remunerations], kind[remunerations]
    valid = (named >= 0) & (kind >= 0)
    declared = (view.parents[remunerations][valid] * len(codes) + named[valid]) * kinds + kind[valid]
    return bool(np.isin(required, declared).all())


def _required_pay_types_by_value(view: DeclarationColumns) -> bool:
    """The reference of :func:`_required_pay_types`: each person's contracts and payments as sets."""
    if view.nature not in DSN_RESOURCES:
        return True
    numbers = view.by_instance(R.CONTRACT_NUMBER)
    contracts = {person: {numbers[c] for c in found if numbers.get(c)}
                 for person, found in view.children(R.CONTRACT, R.INDIVIDUAL).items()}
    if not any(contracts.values()):
        return True
    references, types = view.by_instance(R.REMUNERATION_CONTRACT), view.by_instance(R.REMUNERATION_TYPE)
    declared = {payment: {(references.get(p), types.get(p)) for p in found}
                for payment, found in view.children(R.REMUNERATION, R.PAYMENT).items()}
    for person, payments in view.children(R.PAYMENT, R.INDIVIDUAL).items():
        for payment in payments:
            pairs = declared.get(payment, set())
            if any((contract, kind) not in pairs for contract in contracts.get(person, ())
                   for kind in R.REQUIRED_PAY_TYPES):
                return False
    return True


@certifies("DRM-AMT-004")
def _net_social_declared(view: DeclarationColumns) -> bool:
    """Every payment of a person has a net element of the net social type among its children, over arrays (the
    payments that have one marked from those elements). :func:`_net_social_declared_by_value` is its reference."""
    main = view.main_day
    if view.nature != "01" or main is None or month_of(main) < R.NET_SOCIAL_MANDATORY_FROM:
        return True
    payments = view.under(R.PAYMENT, R.INDIVIDUAL)
    if not len(payments):
        return True
    social = np.zeros(len(view.kinds), dtype=bool)
    instances, types = view.column(R.NET_ELEMENT_TYPE)
    social[instances] = np.array(types, dtype=object) == R.NET_SOCIAL_TYPE
    elements = view.under(R.NET_ELEMENT, R.PAYMENT)
    with_net_social = np.zeros(len(view.kinds), dtype=bool)
    with_net_social[view.parents[elements[social[elements]]]] = True
    return bool(with_net_social[payments].all())


def _net_social_declared_by_value(view: DeclarationColumns) -> bool:
    """The reference of :func:`_net_social_declared`: each payment's elements looked at one by one."""
    main = view.main_day
    if view.nature != "01" or main is None or month_of(main) < R.NET_SOCIAL_MANDATORY_FROM:
        return True
    types = view.by_instance(R.NET_ELEMENT_TYPE)
    with_net_social = {payment for payment, found in view.children(R.NET_ELEMENT, R.PAYMENT).items()
                       if any(types.get(e) == R.NET_SOCIAL_TYPE for e in found)}
    return all(payment in with_net_social
               for payments in view.children(R.PAYMENT, R.INDIVIDUAL).values() for payment in payments)


@certifies("DRM-AMT-005")
def _net_not_above_gross(view: DeclarationColumns) -> bool:
    """Per payment: the sum of its gross pay elements (type 001; none unreadable) against its net paid."""
    payment, above = view.kind(R.PAYMENT), view.kind(R.REMUNERATION)
    read = [view.amounts(R.REMUNERATION_AMOUNT), view.amounts(R.NET_PAID)]
    if payment is None or above is None or None in read:
        return _net_not_above_gross_by_value(view)
    (amount, has_amount), (net, has_net) = read
    if not _small(amount, net):
        return _net_not_above_gross_by_value(view)
    instances, types = view.column(R.REMUNERATION_TYPE)
    gross = instances[np.array([kind == R.GROSS_TYPE for kind in types], dtype=bool)] if types else instances
    gross = gross[view.parents[gross] >= 0]
    gross = gross[view.kinds[view.parents[gross]] == payment]
    size = len(view.kinds)
    total, count, unreadable = np.zeros(size, np.int64), np.zeros(size, np.int64), np.zeros(size, np.int64)
    np.add.at(total, view.parents[gross], amount[gross])
    np.add.at(count, view.parents[gross], 1)
    np.add.at(unreadable, view.parents[gross], ~has_amount[gross])
    return not (has_net & (net > 0) & (count > 0) & (unreadable == 0) & (net > total)).any()


def _net_not_above_gross_by_value(view: DeclarationColumns) -> bool:
    types, amounts = view.by_instance(R.REMUNERATION_TYPE), view.by_instance(R.REMUNERATION_AMOUNT)
    gross = {payment: [cents(amounts.get(p)) for p in found if types.get(p) == R.GROSS_TYPE]
             for payment, found in view.children(R.REMUNERATION, R.PAYMENT).items()}
    for payment, value in view.by_instance(R.NET_PAID).items():
        net, paid = cents(value), gross.get(payment)
        if net is not None and paid and None not in paid and net > 0 and net > sum(paid):
            return False
    return True


# --- periods ----------------------------------------------------------------------------------------------------

def _ends_after_starts(view: DeclarationColumns, start: str, end: str) -> bool:
    first, last = view.days(start), view.days(end)          # 0: no date there
    return not ((first > 0) & (last > 0) & (first > last)).any()


@certifies("DRM-PER-001")
def _periods_end_after_start(view: DeclarationColumns) -> bool:
    return _ends_after_starts(view, R.REMUNERATION_START, R.REMUNERATION_END) and \
        _ends_after_starts(view, R.NET_ELEMENT_START, R.NET_ELEMENT_END)


def _none_after(values: list[str], limit) -> bool:
    return not any((day := jjmmaaaa(value)) is not None and day > limit for value in values)


@certifies("DRM-PER-002")
def _paid_within_the_declaration(view: DeclarationColumns) -> bool:
    main = view.main_day
    return main is None or _none_after(view.values_of(R.PAYMENT_DATE), next_month_end(main))


@certifies("DRM-PER-003")
def _net_element_period_complete(view: DeclarationColumns) -> bool:
    starts, ends = view.by_instance(R.NET_ELEMENT_START), view.by_instance(R.NET_ELEMENT_END)
    if starts.keys() != ends.keys():
        return False
    return all(not start or not ends[i] or start[4:] == ends[i][4:] for i, start in starts.items())


@certifies("DRM-PER-004")
def _error_month_not_after(view: DeclarationColumns) -> bool:
    main = view.main_day
    if main is None:
        return True
    last = month_of(main)
    return not any((month := mmaaaa_month(value)) and month > last for value in view.values_of(R.ERROR_MONTH))


@certifies("DRM-PER-006")
def _net_element_not_in_the_future(view: DeclarationColumns) -> bool:
    main = view.main_day
    return main is None or _none_after(view.values_of(R.NET_ELEMENT_END), next_month_end(main))


@certifies("DRM-PER-007")
def _facts_not_after_the_month(view: DeclarationColumns) -> bool:
    main = view.main_day
    if main is None or view.nature not in MONTHLY:
        return True
    limit = month_end(main)
    return _none_after(view.values_of(R.CONTRACT_START), limit) and \
        _none_after(view.values_of(R.REMUNERATION_END), limit)


# --- withholding-tax régularisations and contracts (gateway.validate.rules.regularisations) ---------------------

def _regularisations(view: DeclarationColumns) -> list[tuple[int, str]]:
    """(instance, error type or '') of every S21.G00.56 instance."""
    types = view.by_instance(R.ERROR_TYPE)
    return [(instance, types.get(instance) or "") for instance in view.instances(R.PAS_REGULARISATION)]


@certifies("DRM-REG-001")
def _regularisation_complete(view: DeclarationColumns) -> bool:
    found = _regularisations(view)
    if not found:
        return True
    given = {n: view.by_instance(R.REGUL[n]) for n in R.REGUL}
    return all(given[n].get(instance) for instance, kind in found for n in REQUIRED.get(kind, ()))


@certifies("DRM-REG-002")
def _regularisation_without_forbidden(view: DeclarationColumns) -> bool:
    found = _regularisations(view)
    if not found:
        return True
    given = {n: view.by_instance(R.REGUL[n]) for n in R.REGUL}
    return not any(instance in given[n] for instance, kind in found for n in FORBIDDEN.get(kind, ()))


@certifies("DRM-REG-003")
def _regularisation_signs(view: DeclarationColumns) -> bool:
    found = _regularisations(view)
    if not found:
        return True
    given = {n: view.by_instance(R.REGUL[n]) for n in ("003", "010")}
    withheld = view.by_instance(R.REGUL_PAS_AMOUNT)
    for instance, kind in found:
        if kind == "03" and any((amount := cents(given[n].get(instance))) is not None and amount > 0
                                for n in ("003", "010")):
            return False
        if kind == "04" and withheld.get(instance) not in (None, "0.00"):
            return False
    return True


@certifies("DRM-REG-004")
def _regularisation_in_its_tax_year(view: DeclarationColumns) -> bool:
    main = view.main_day
    found = _regularisations(view)
    if main is None or not found:
        return True
    months = view.by_instance(R.ERROR_MONTH)
    for instance, kind in found:
        error_month = mmaaaa_month(months.get(instance))
        if kind not in ("01", "02") or error_month is None:
            continue
        year = int(error_month[:4])
        if (main.month == 1 and year != main.year - 1) or (main.month != 1 and year < main.year):
            return False
    return True


@certifies("DRM-CTR-001")
def _remuneration_names_a_contract(view: DeclarationColumns) -> bool:
    """Every remuneration of a person names (S21.G00.51.010) the number of one of the person's contracts, as keys over
    arrays: (person, number's code) of each remuneration among those of the contracts. A number no contract of the
    declaration has fails at once. :func:`_remuneration_names_a_contract_by_value` is its reference."""
    if view.nature not in MONTHLY or not view.has(R.REMUNERATION_CONTRACT):
        return True
    codes, person, code = _contract_numbers(view)
    instances = np.unique(view.column(R.REMUNERATION_CONTRACT)[0])
    owner = view.person_of()[instances]
    inside = owner >= 0
    named, owner = _named_contracts(view)[instances[inside]], owner[inside]
    if (named < 0).any():
        return False
    return bool(np.isin(owner * len(codes) + named, person * len(codes) + code).all())


def _remuneration_names_a_contract_by_value(view: DeclarationColumns) -> bool:
    """The reference of :func:`_remuneration_names_a_contract`: each person's contract numbers as a set."""
    if view.nature not in MONTHLY or not view.has(R.REMUNERATION_CONTRACT):
        return True
    numbers = view.by_instance(R.CONTRACT_NUMBER)
    contracts = {person: {numbers.get(c) for c in found}
                 for person, found in view.children(R.CONTRACT, R.INDIVIDUAL).items()}
    person_of = view.person_of()
    for instance, number in view.by_instance(R.REMUNERATION_CONTRACT).items():
        person = int(person_of[instance])
        if person >= 0 and number not in contracts.get(person, ()):
            return False
    return True


@certifies("DRM-CTR-002")
def _payments_numbered(view: DeclarationColumns) -> bool:
    numbers = view.by_instance(R.PAYMENT_NUMBER)
    for payments in view.children(R.PAYMENT, R.INDIVIDUAL).values():
        if len(payments) < 2:
            continue
        given = Counter(numbers.get(p) for p in payments)
        if None in given or any(count > 1 for count in given.values()):
            return False
    return True


# --- the block tree (gateway.validate.rules.structure), over the instance arrays -------------------------------

def _children_mask(view: DeclarationColumns) -> np.ndarray:
    return view.parents >= 0


@certifies("DRM-STR-009")
def _blocks_within_limits(view: DeclarationColumns) -> bool:
    norm, child = view.norm, _children_mask(view)
    if not child.any():
        return True
    limits = np.array([spec.max_occurs if (spec := norm.blocks.get(name)) is not None and spec.max_occurs is not None
                       else np.iinfo(np.int64).max for name in view.names], dtype=np.int64)
    size = len(view.names)
    pairs, counts = np.unique(view.parents[child] * size + view.kinds[child], return_counts=True)
    return bool((counts <= limits[pairs % size]).all())


@functools.lru_cache(maxsize=64)
def _mandatory(norm: NormCatalogue, nature: str) -> dict[str, tuple[str, ...]]:
    """block -> the child blocks DRM-STR-010 requires under each of its instances, for a nature."""
    allowed = norm.natures.get(nature)
    found = {name: tuple(spec.id for spec in children if spec.min_occurs > 0 and spec.id in READ_OR_CORE
                         and (allowed is None or spec.id in allowed))
             for name, children in norm.children.items()}
    return {name: required for name, required in found.items() if required}


@certifies("DRM-STR-010")
def _mandatory_blocks_present(view: DeclarationColumns) -> bool:
    """Every instance of a block holds each child block the norm requires under it, over arrays: for each required
    child block, the instances that have one marked from its instances' parents, all holders among them.
    :func:`_mandatory_blocks_present_by_value` is its reference."""
    if view.nature != R.DSN_MONTHLY:
        return True
    mandatory = _mandatory(view.norm, view.nature)
    children = None
    for name in view.names:
        required = mandatory.get(name)
        if not required:
            continue
        if children is None:
            child = _children_mask(view)
            children = view.parents[child], view.kinds[child]
        holders = view.kinds == view.kind(name)
        for block in required:
            kind = view.kind(block)
            if kind is None:
                return False
            has = np.zeros(len(view.kinds), dtype=bool)
            has[children[0][children[1] == kind]] = True
            if not has[holders].all():
                return False
    return True


def _mandatory_blocks_present_by_value(view: DeclarationColumns) -> bool:
    """The reference of :func:`_mandatory_blocks_present`: (parent, block) of every child instance in a set."""
    if view.nature != R.DSN_MONTHLY:
        return True
    mandatory = _mandatory(view.norm, view.nature)
    present = None
    size = len(view.names)
    for name in view.names:
        required = mandatory.get(name)
        if not required:
            continue
        if present is None:            # (parent, block) of every child instance, as one number
            child = _children_mask(view)
            present = set((view.parents[child] * size + view.kinds[child]).tolist())
        holders = (np.flatnonzero(view.kinds == view.kind(name)) * size).tolist()
        for block in required:
            kind = view.kind(block)
            if kind is None or not all(holder + kind in present for holder in holders):
                return False
    return True


@certifies("DRM-STR-011")
def _blocks_of_the_nature(view: DeclarationColumns) -> bool:
    norm = view.norm
    allowed = norm.natures.get(view.nature)
    return not allowed or not any(
        (spec := norm.blocks.get(name)) is not None and spec.parent is not None and name not in allowed
        and name not in PLATFORM for name in view.names)


@certifies("DRM-STR-012")
def _blocks_in_norm_order(view: DeclarationColumns) -> bool:
    """Per parent, its children in document order: none of a block the norm places before one already seen, but
    a repeat of the block just before it (blocks the norm does not know are passed over)."""
    norm = view.norm
    orders = np.array([spec.order if (spec := norm.blocks.get(name)) is not None else np.nan for name in view.names])
    known = _children_mask(view)
    known[known] = ~np.isnan(orders[view.kinds[known]])
    chosen = np.flatnonzero(known)
    if len(chosen) < 2:
        return True
    by_parent = np.argsort(view.parents[chosen], kind="stable")     # document order within each parent
    parents, kinds = view.parents[chosen][by_parent], view.kinds[chosen][by_parent]
    order = orders[kinds]
    first = np.empty(len(parents), dtype=bool)
    first[0], first[1:] = True, parents[1:] != parents[:-1]
    group = np.cumsum(first) - 1
    span = order.max() - order.min() + 1
    running = np.maximum.accumulate(order - order.min() + group * span) - group * span + order.min()
    highest = np.empty(len(order))
    highest[0], highest[1:] = -np.inf, running[:-1]
    highest[first] = -np.inf
    previous = np.empty(len(kinds), dtype=np.int64)
    previous[0], previous[1:] = -1, kinds[:-1]
    previous[first] = -1
    return not ((order < highest) & (kinds != previous)).any()


# --- lines, rubrics and the declaration's header (rules.syntax, .structure, .header, .identity, .formats) -------
# The header values are read as the rules read them (ParsedDeclaration.value: the first instance of the block in
# the tree's walk), from the arrays (DeclarationColumns.first_value).

def _no_line_defect(view: DeclarationColumns) -> bool:
    decl = view.decl
    return not decl.defects and not decl.span.oversize_lines and not decl.span.binary_lines


for _rule_id in ("DRM-SYN-001", "DRM-SYN-002", "DRM-ENC-001", "DRM-ENC-002"):
    certifies(_rule_id)(_no_line_defect)


@certifies("DRM-STR-006")
@certifies("DRM-STR-007")
def _no_structure_problem(view: DeclarationColumns) -> bool:
    return not view.decl.problems


@certifies("DRM-STR-005")
def _norm_known(view: DeclarationColumns) -> bool:
    return view.norm is not None


@certifies("DRM-STR-008")
def _declarant_known(view: DeclarationColumns) -> bool:
    return view.declarant_id is not None


@certifies("DRM-STR-013")
def _norm_of_the_month(view: DeclarationColumns) -> bool:
    version, main = view.decl.norm_version or "", view.first_value(R.MAIN_MONTH) or ""
    return view.nature != "01" or len(main) != 8 or not main[4:].isdigit() or version[1:3] == main[6:8]


def _nature_type(view: DeclarationColumns) -> tuple[str, str]:
    return view.first_value(R.NATURE) or "", view.first_value(R.TYPE) or ""


@certifies("DRM-DEC-001")
@certifies("DRM-DEC-002")
@certifies("DRM-DEC-003")
@certifies("DRM-DEC-005")
def _nature_and_type_agree(view: DeclarationColumns) -> bool:
    nature, kind = _nature_type(view)
    replaced = view.first_value(R.REPLACED_ID) is not None and (kind not in ("03", "04") or nature in ("01", "09"))
    return not (kind == "04" and nature not in ("07", "08", "09") or kind in ("02", "05") and nature != "01"
                or kind == "03" and nature == "08" or replaced)


@certifies("DRM-DEC-004")
def _people_where_required(view: DeclarationColumns) -> bool:
    _, kind = _nature_type(view)
    return kind not in ("01", "03") or view.has_block(R.INDIVIDUAL) or view.has_block(R.NON_SALARIED)


@certifies("DRM-DEC-006")
def _fraction_coherent(view: DeclarationColumns) -> bool:
    nature, _ = _nature_type(view)
    fraction = view.first_value(R.FRACTION) or ""
    if len(fraction) != 2 or not fraction.isdigit() or "0" in fraction:
        return True
    return int(fraction[0]) <= int(fraction[1]) and (nature not in R.SIGNALEMENT_NATURES or fraction == "11")


@certifies("DRM-DEC-007")
def _main_month_where_required(view: DeclarationColumns) -> bool:
    nature, _ = _nature_type(view)
    main = view.first_value(R.MAIN_MONTH)
    if nature in R.RESOURCE_NATURES:
        return main is not None or not view.has_header
    return nature not in R.SIGNALEMENT_NATURES or main is None


@certifies("DRM-ID-009")
@certifies("DRM-ID-010")
def _siren_and_siret_keys(view: DeclarationColumns) -> bool:
    siren, siret = view.first_value(R.SIREN) or "", view.declarant_id or ""
    if len(siren) != 9 or not siren.isdigit():
        return True                           # no SIREN to check; a SIRET is only checked with a valid SIREN
    return siren_valid(siren) and (len(siret) != 14 or not siret.isdigit() or siret_valid(siret))


@certifies("DRM-FMT-001")
def _header_values_formatted(view: DeclarationColumns) -> bool:
    failures = _failures(view)
    return ("formats", False) not in failures and ("amounts", False) not in failures


# Certifiers that are a condition on each block instance or person alone, given the declaration's nature and main
# month at most: what holds for declarations read together holds for each of them (GroupColumns). True: reads the
# nature or the main month. Uniqueness within a declaration (DRM-ID-006, -008) is checked within each of the group's,
# and the NTT against its own declaration's SIREN (DRM-ID-007).
_ALONE = ("DRM-ID-001", "DRM-ID-002", "DRM-ID-003", "DRM-ID-004", "DRM-ID-005", "DRM-ID-006", "DRM-ID-007",
          "DRM-ID-008", "DRM-ID-011", "DRM-FMT-001", "DRM-FMT-002", "DRM-AMT-006", "DRM-PER-005", "DRM-AMT-001",
          "DRM-AMT-002", "DRM-AMT-005", "DRM-PER-001", "DRM-PER-003", "DRM-REG-001", "DRM-REG-002", "DRM-REG-003",
          "DRM-CTR-002", "DRM-STR-009", "DRM-STR-012")
_WITH_HEADER = ("DRM-AMT-003", "DRM-AMT-004", "DRM-PER-002", "DRM-PER-004", "DRM-PER-006", "DRM-PER-007",
                "DRM-REG-004", "DRM-CTR-001", "DRM-STR-010", "DRM-STR-011")
GROUPED: dict[Certifier, bool] = {**{_CERTIFIERS[rule_id]: False for rule_id in _ALONE},
                                  **{_CERTIFIERS[rule_id]: True for rule_id in _WITH_HEADER}}
