"""A declaration the certificates prove clean, taken through without its block tree (issue 23, item 1).

When every declaration and person rule is certified silent for a declaration (``gateway.validate.certify``), the
object path would accept it whole and every person in it: what remains is line accounting and normalisation.
Here both read the declaration's columns and its tree as arrays (``DeclarationColumns``): the lines of every
person and of the blocks outside people are counted over whole arrays, and the normaliser
(``gateway.normalise.resources``, ``.mentions``) runs unchanged over :class:`Instance` handles, which read a block
instance's values, children and lines from the columns. No object is built for the blocks the normaliser does
not visit (contracts' details, contributions, …: most of a declaration). The people the rules accept in a
declaration that is not clean are normalised here too (``gateway.ingest._accept_over_arrays``): the rules have
taken out every person with a value off its format, amount or date.

``tests/gateway/normalise/test_columnar.py`` proves the outcome equal to the object path's (the oracle) on the
bundled flows, the conformance corpus, generated flows with defects and mutated real-format text.
"""
from __future__ import annotations

import enum
import functools
import hashlib
from datetime import date
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from gateway.months import Month, month_number
from gateway.normalise.mentions import months_of_periods
from gateway.normalise.natures import nature_of
from gateway.normalise.resources import _declaration_fields
from gateway.parse import rubrics as R
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import AMOUNT_FIELDS, AllowanceMention, Cause, Flow, ResourceNature
from gateway.validate.certify import DeclarationColumns
from gateway.values import cents, jjmmaaaa, mmaaaa_month, month_of
from schemas.records import RESOURCE_MONTH, ResourceRows

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
        return int(self._lines.first[self.index])

    @property
    def subtree_last_line(self) -> int:
        return int(self._lines.subtree_last[self.index])


class Owners:
    """The declarations a view's block instances belong to, with what the normaliser reads of each one: a declaration
    alone (:meth:`alone`), or the clean declarations read together (``gateway.ingest._people_of_group``, over their
    ``GroupColumns``: their arrays end to end, no parent across two), so that the normaliser's passes over arrays are
    made once for all of them. ``decls``: by rank (None: one not normalised here, left to the reference or not clean,
    whose instances are in the arrays but whose people are never asked for)."""

    def __init__(self, decls: list[ParsedDeclaration | None], of_instance: np.ndarray, numbers: np.ndarray) -> None:
        self.decls = decls
        self.of_instance = of_instance            # each instance's declaration (its rank in ``decls``)
        self.numbers = numbers                    # each token's line in its file
        flows = {decl.flow for decl in decls if decl is not None}
        if len(flows) != 1:
            raise ValueError("declarations of one flow are normalised together")
        self.flow = flows.pop()
        self.main_days = [None if decl is None else decl.main_day for decl in decls]
        self.main_months = np.array([_NONE if day is None else day.year * 12 + day.month - 1 for day in self.main_days],
                                    dtype=np.int64)     # each declaration's main month number (-1: none)
        self._common: dict[int, dict] = {}

    @classmethod
    def alone(cls, view: DeclarationColumns) -> "Owners":
        lines = view.decl.columns.lines
        numbers = np.arange(lines.start, lines.stop) if isinstance(lines, range) else np.asarray(lines, dtype=np.int64)
        return cls([view.decl], np.zeros(len(view.kinds), dtype=np.int64), numbers)

    def common(self, rank: int) -> dict:
        """The fields every record of declaration ``rank`` shares (``resources._declaration_fields``)."""
        found = self._common.get(rank)
        if found is None:
            main = self.main_days[rank]
            found = self._common[rank] = _declaration_fields(self.decls[rank], month_of(main) if main else None)
        return found


class DeclarationLines:
    """The lines of a declaration's block instances (or of declarations read together: ``owners``), counted over whole
    arrays. ``carries_resources``: whether the blocks the normaliser reads count as used, for the declaration, or
    for each of ``owners``'s."""

    def __init__(self, view: DeclarationColumns, carries_resources: bool | list[bool],
                 owners: Owners | None = None) -> None:
        self.view = view
        self.owners = owners = owners if owners is not None else Owners.alone(view)
        heads = view.heads
        count = len(view.values)
        numbers = owners.numbers
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
        self.first: np.ndarray = numbers[heads]                # each instance's first line
        self.subtree_last: np.ndarray = subtree
        person = view.person_of()
        consumed = np.zeros(len(view.names), dtype=bool)
        consumed[[kind for kind, name in enumerate(view.names) if name in R.CONSUMED_BLOCKS]] = True
        carries = np.asarray(carries_resources if isinstance(carries_resources, list) else [carries_resources],
                             dtype=bool)
        used = np.where(consumed[view.kinds] & carries[owners.of_instance], tokens, 0)
        inside = person >= 0
        outside, size = owners.of_instance[~inside], len(owners.decls)
        self._outside_used = np.bincount(outside, weights=used[~inside], minlength=size).astype(np.int64)
        self._outside_ignored = np.bincount(outside, weights=tokens[~inside], minlength=size).astype(np.int64) \
            - self._outside_used
        size = len(heads)
        self._person_lines = np.bincount(person[inside], weights=tokens[inside], minlength=size).astype(np.int64)
        self._person_used = np.bincount(person[inside], weights=used[inside], minlength=size).astype(np.int64)

    @property
    def outside_used(self) -> int:
        return int(self._outside_used[0])

    @property
    def outside_ignored(self) -> int:
        return int(self._outside_ignored[0])

    def outside(self, rank: int) -> tuple[int, int]:
        """The lines of declaration ``rank``'s blocks outside people: used, ignored."""
        return int(self._outside_used[rank]), int(self._outside_ignored[rank])

    def people(self) -> list[Instance]:
        """The person blocks, in document order."""
        return [Instance(self, person, R.INDIVIDUAL) for person in self.view.instances(R.INDIVIDUAL)]

    def people_by_owner(self) -> dict[int, list[Instance]]:
        """The person blocks of each declaration (by rank), in document order."""
        found: dict[int, list[Instance]] = {}
        persons = self.view.instances(R.INDIVIDUAL)
        for person, rank in zip(persons, self.owners.of_instance[persons].tolist()):
            found.setdefault(rank, []).append(Instance(self, person, R.INDIVIDUAL))
        return found

    def person_lines(self, person: Instance) -> tuple[int, int]:
        """The lines of the person's blocks, and how many of them the normaliser uses."""
        return int(self._person_lines[person.index]), int(self._person_used[person.index])


def read_header(view: DeclarationColumns) -> None:
    """Gives the declaration the header values its properties read (``value``, ``declarant_id``, ``main_day``…), as
    the arrays find them (``DeclarationColumns.first_value``): the tree is not built to find them."""
    for rubric in HEADER_RUBRICS:
        view.decl.know(rubric, view.first_value(rubric))


# --- the declaration's resource records as aggregations over its arrays -------------------------------------------

_NONE = -1
_FAR = np.iinfo(np.int64).max
_CAUSES = (Cause.PAYMENT, Cause.BACK_PAY, Cause.PAS_REGULARISATION, Cause.NET_SOCIAL_CORRECTION)
_PAYMENT, _BACK_PAY, _REGULARISATION, _CORRECTION = range(4)


class _Unreadable(Exception):
    """An amount the arrays cannot hold (over int64): the declaration is normalised by the object path."""


def _amounts(view: DeclarationColumns, rubric: str) -> tuple[np.ndarray, np.ndarray]:
    found = view.amounts(rubric)
    if found is None:
        raise _Unreadable(rubric)
    return found


def _month_numbers(days: np.ndarray) -> np.ndarray:
    """The month of each day number as ``year * 12 + month - 1`` (-1 where there is no day)."""
    found = np.full(len(days), _NONE, dtype=np.int64)
    dated = days > 0
    distinct, which = np.unique(days[dated], return_inverse=True)
    months = [(moment := date.fromordinal(day)).year * 12 + moment.month - 1 for day in distinct.tolist()]
    found[dated] = np.asarray(months, dtype=np.int64)[which.ravel()] if months else []
    return found


@functools.lru_cache(maxsize=4096)
def _month_text(number: int) -> Month:
    return Month(f"{number // 12:04d}-{number % 12 + 1:02d}")


def _number_of(month: str | None) -> int:
    return _NONE if month is None else month_number(month)


class _Rows:
    """What every visited instance adds to which group: the group's key, the lines it touches, its period and
    amounts (one row per instance and kind of contribution)."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, dict]] = []            # (rows, column -> an array of them or one value for all)
        self.size = 0

    def add(self, size: int, **columns) -> None:
        if size:
            self.parts.append((size, columns))
            self.size += size

    def column(self, name: str, default: int) -> np.ndarray:
        found = np.full(self.size, default, dtype=np.int64)
        at = 0
        for size, columns in self.parts:
            value = columns.get(name)
            if value is not None:
                found[at:at + size] = value
            at += size
        return found


def resource_records(lines: DeclarationLines, people: list[Instance], keys: list[str]) -> "PeopleRows | None":
    """Every accepted person's records (each person's in the order ``normalise_person`` gives them), as columns,
    as aggregations over the arrays of the person's declaration (or of the declarations read together with it:
    ``lines.owners``): the same attribution rules, group by group. None when an amount does not fit the arrays
    (the caller then normalises person by person)."""
    try:
        return _records(lines, people, keys)
    except _Unreadable:
        return None


def _records(lines: DeclarationLines, people: list[Instance], keys: list[str]) -> "PeopleRows":
    view = lines.view
    paid = view.days(R.PAYMENT_DATE)
    payments = view.under(R.PAYMENT, R.INDIVIDUAL)
    payments = payments[paid[payments] > 0]
    if not payments.size:
        return PeopleRows(ResourceRows(RESOURCE_MONTH.arrow.empty_table()), {})
    rows = _Attribution(lines, payments, paid)
    rows.payments()
    rows.net_social()
    rows.gross()
    rows.regularisations()
    return _grouped(rows, lines.owners, people, keys, rows.classes)


class _Attribution(_Rows):
    """The rows of a declaration's payments that count (those of a person, with a payment date) and of the blocks
    under them, as ``gateway.normalise.resources`` attributes them."""

    def __init__(self, lines: DeclarationLines, payments: np.ndarray, paid: np.ndarray):
        super().__init__()
        view = self.view = lines.view
        self.owners, self.paid, self.pasrau = lines.owners, paid, lines.owners.flow is Flow.PASRAU
        self.month = _month_numbers(paid)
        size = len(view.kinds)
        self.income = np.zeros(size, dtype=np.int64)          # income class code of each payment (0: None)
        self.classes: list[str | None] = [None]
        if self.pasrau:
            codes: dict[str | None, int] = {None: 0}
            declared = view.by_instance(R.INCOME_CLASS)
            for payment in payments.tolist():
                self.income[payment] = codes.setdefault(declared.get(payment), len(codes))
            self.classes = list(codes)
        self.first, self.last = lines.first, lines.subtree_last
        self.person = np.full(size, _NONE, dtype=np.int64)
        self.person[payments] = view.parents[payments]
        self.counted = np.zeros(size, dtype=bool)
        self.counted[payments] = True
        self.at = payments

    def below(self, block: str, rubric: str | None = None, code: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The instances of ``block`` under a payment that counts (with ``code`` as ``rubric``, when given), and
        that payment."""
        view = self.view
        found = view.under(block, R.PAYMENT)
        found = found[self.counted[view.parents[found]]]
        if rubric is not None:
            codes = view.by_instance(rubric)
            found = found[np.array([codes.get(instance) == code for instance in found.tolist()], dtype=bool)]
        return found, view.parents[found]

    def touched(self, at: np.ndarray, month: np.ndarray, cause: int, **columns) -> None:
        """Rows opening a group of their own month and cause: their lines and period count in it."""
        self.add(len(at), month=month, cause=cause, first=self.first[at], last=self.last[at], **columns)

    def amounts(self, at: np.ndarray, fields: tuple[tuple[str, str], ...]) -> dict[str, np.ndarray]:
        found = {}
        for field, rubric in fields:
            values, present = _amounts(self.view, rubric)
            found[field], found["has_" + field] = values[at], present[at]
        return found

    def payments(self) -> None:
        at = self.at
        self.touched(at, self.month[at], _PAYMENT, person=self.person[at], income=self.income[at], count=1,
                     paid=self.paid[at], **self.amounts(at, (
                         ("net_taxable_cents", R.NET_TAXABLE), ("net_paid_cents", R.NET_PAID),
                         ("pas_base_cents", R.PAS_BASE), ("pas_amount_cents", R.PAS_AMOUNT))))

    def net_social(self) -> None:
        """Net social items (S21.G00.58 type 03): the payment's month, or the earlier month they correct."""
        elements, above = self.below(R.NET_ELEMENT, R.NET_ELEMENT_TYPE, R.NET_SOCIAL_TYPE)
        if not elements.size:
            return
        start, end = self.view.days(R.NET_ELEMENT_START), self.view.days(R.NET_ELEMENT_END)
        start_month = _month_numbers(start)
        earlier = (start[elements] > 0) & (start_month[elements] < self.month[above])
        fields = (("net_social_cents", R.NET_ELEMENT_AMOUNT),)
        at, payment = elements[earlier], above[earlier]
        self.touched(at, start_month[at], _CORRECTION, person=self.person[payment], income=self.income[payment],
                     start=start[at], end=end[at], **self.amounts(at, fields))
        at, payment = elements[~earlier], above[~earlier]
        self.add(len(at), month=self.month[payment], cause=_PAYMENT, person=self.person[payment],
                 income=self.income[payment], **self.amounts(at, fields))

    def gross(self) -> None:
        """Gross pay (S21.G00.51): PASRAU's amount with its period; DSN's type 001, back pay to the month its period
        ended when that is before the main month."""
        view = self.view
        if self.pasrau:
            pays, above = self.below(R.REMUNERATION)
        else:
            pays, above = self.below(R.REMUNERATION, R.REMUNERATION_TYPE, R.GROSS_TYPE)
        if not pays.size:
            return
        start, end = view.days(R.REMUNERATION_START), view.days(R.REMUNERATION_END)
        fields = (("gross_cents", R.PASRAU_GROSS_AMOUNT if self.pasrau else R.REMUNERATION_AMOUNT),)
        main = self.owners.main_months[self.owners.of_instance[pays]]      # -1 (none): nothing is before it
        end_month = _month_numbers(end)
        late = (end[pays] > 0) & (end_month[pays] < main) if not self.pasrau else np.zeros(len(pays), dtype=bool)
        at, payment = pays[late], above[late]
        self.touched(at, end_month[at], _BACK_PAY, person=self.person[payment], income=0, start=start[at],
                     end=end[at], **self.amounts(at, fields))
        at, payment = pays[~late], above[~late]
        period = dict(start=start[at], end=end[at]) if self.pasrau else {}
        self.add(len(at), month=self.month[payment], cause=_PAYMENT, person=self.person[payment],
                 income=self.income[payment], **period, **self.amounts(at, fields))

    def regularisations(self) -> None:
        """Withholding-tax régularisations (S21.G00.56): to their error month."""
        reguls, above = self.below(R.PAS_REGULARISATION)
        if not reguls.size:
            return
        errors = self.view.by_instance(R.ERROR_MONTH)
        error_month = np.array([_number_of(mmaaaa_month(errors.get(regul))) for regul in reguls.tolist()],
                               dtype=np.int64)
        known = error_month >= 0
        at, payment = reguls[known], above[known]
        self.touched(at, error_month[known], _REGULARISATION, person=self.person[payment],
                     income=self.income[payment], **self.amounts(at, (
                         ("net_taxable_cents", R.REGUL_NET_TAXABLE), ("pas_amount_cents", R.REGUL_PAS_AMOUNT),
                         ("pas_base_cents", R.REGUL_PAS_BASE))))


_MONTH_BITS, _CLASS_BITS, _CAUSE_BITS = 17, 10, 2          # a month number (year * 12 + month - 1) < 2 ** 17


def _grouped(rows: "_Attribution", owners: Owners, people: list[Instance], keys: list[str],
             classes: list[str | None]) -> "PeopleRows":
    """The rows summed by (person, month, income class, cause): one record per group, a person's records in the
    order ``normalise_person`` gives them, as the published schema's columns: every field computed over the groups'
    arrays, no record built (``schemas.records.ResourceRows`` builds them if asked); Python work per record is only
    its id (as ``resources.resource_record`` takes it)."""
    if len(classes) >= 1 << _CLASS_BITS:
        raise _Unreadable("income classes")
    person, month, income, cause = (rows.column(name, 0) for name in ("person", "month", "income", "cause"))
    key = (((person << _MONTH_BITS | month) << _CLASS_BITS | income) << _CAUSE_BITS) | cause
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])

    def reduced(name: str, default: int, how) -> np.ndarray:
        return how.reduceat(rows.column(name, default)[order], starts)

    group = key[starts]
    kind, code = group & ((1 << _CAUSE_BITS) - 1), (group >> _CAUSE_BITS) & ((1 << _CLASS_BITS) - 1)
    number, who = (group >> (_CAUSE_BITS + _CLASS_BITS)) & ((1 << _MONTH_BITS) - 1), group >> _KEY_BITS
    rank = np.full(len(rows.view.kinds), _NONE, dtype=np.int64)          # each accepted person's place in ``people``
    rank[np.asarray([instance.index for instance in people], dtype=np.int64)] = np.arange(len(people))
    natures = [nature_of(owners.flow, income_class) for income_class in classes]
    # the records of the accepted people, person by person in ``people``'s order, each person's as ``_order`` sorts
    # them: month, nature, income class, cause (each text's rank among its values: the same order as the texts)
    wanted = np.flatnonzero(rank[who] >= 0)
    selected = wanted[np.lexsort((
        wanted, _ranks([_CAUSES[index].value for index in range(len(_CAUSES))])[kind[wanted]],
        _ranks([income_class or "" for income_class in classes])[code[wanted]],
        _ranks([nature.value for nature in natures])[code[wanted]], number[wanted], rank[who[wanted]]))]
    first, last = reduced("first", _FAR, np.minimum)[selected], reduced("last", 0, np.maximum)[selected]
    declared = rows.column("start", 0)[order]              # 0: no start declared, not taken for the minimum
    start = np.minimum.reduceat(np.where(declared > 0, declared, _FAR), starts)[selected]
    first = np.where(first == _FAR, 0, first)
    at = _RecordKeys(rank[who[selected]], number[selected], code[selected], kind[selected])
    people_first = np.asarray([instance.first_line for instance in people], dtype=np.int64)
    people_last = np.asarray([instance.subtree_last_line for instance in people], dtype=np.int64)
    columns = {
        **_text_columns(owners, people, keys, natures, classes, at, people_first),
        "payment_count": pa.array(reduced("count", 0, np.add)[selected], pa.int32()),
        "payment_date": _days(reduced("paid", 0, np.maximum)[selected]),
        "period_start": _days(np.where(start == _FAR, 0, start)),
        "period_end": _days(reduced("end", 0, np.maximum)[selected]),
        "first_line": pa.array(np.where(first != 0, first, people_first[at.person]), pa.int32()),
        "last_line": pa.array(np.where(last != 0, last, people_last[at.person]), pa.int32()),
    }
    for field in AMOUNT_FIELDS:
        present = reduced("has_" + field, 0, np.maximum)[selected] > 0
        columns[field] = pa.array(reduced(field, 0, np.add)[selected], pa.int64(), mask=~present)
    table = pa.Table.from_pydict({name: columns[name] for name in RESOURCE_MONTH.field_names},
                                 schema=RESOURCE_MONTH.arrow)
    bounds = np.searchsorted(at.person, np.arange(len(people) + 1))
    return PeopleRows(ResourceRows(table), {instance.index: (int(bounds[place]), int(bounds[place + 1]))
                                            for place, instance in enumerate(people)
                                            if bounds[place + 1] > bounds[place]})


class _RecordKeys(NamedTuple):
    """Each record's key, as positions: its person's in ``people``, its month's number, its income class's (and
    nature's) and its cause's."""

    person: np.ndarray
    month: np.ndarray
    code: np.ndarray
    cause: np.ndarray


def _text_columns(owners: Owners, people: list[Instance], keys: list[str], natures: list, classes: list[str | None],
                  at: _RecordKeys, people_first: np.ndarray) -> dict[str, pa.Array]:
    """The records' text columns: whose they are, their key, their declaration's fields and their ids."""
    members = owners.of_instance[[instance.index for instance in people]]
    months = {number: _month_text(number) for number in np.unique(at.month).tolist()}
    columns = {
        "person_key": _strings(keys, at.person),
        "nir": _strings([instance.get(R.NIR) or None for instance in people], at.person),
        "ntt": _strings([instance.get(R.NTT) or None for instance in people], at.person),
        "nature": _strings([nature.value for nature in natures], at.code),
        "income_class": _strings(classes, at.code),
        "month": pa.array([months[number] for number in at.month.tolist()], pa.string()),
        "cause": _strings([cause.value for cause in _CAUSES], at.cause),
    }
    ranks = sorted(set(members.tolist()))
    common = {rank: owners.common(rank) for rank in ranks}
    # each record's declaration among ``ranks``, found once for the twelve columns (one declaration: not needed)
    declaration_of = pa.array(np.searchsorted(ranks, members[at.person]), pa.int64()) if len(ranks) > 1 else at.person
    for name in _SHARED:
        columns[name] = _strings([_plain(common[rank][name]) for rank in ranks], declaration_of)
    # each record's id, as ``resources.resource_record`` takes it: of where it comes from (file, declaration, person
    # and its first line: the same for all of a person's records) and its key
    prefixes = [f"{common[rank]['file']}|{common[rank]['declaration_digest']}|{key}|{line}|"
                for rank, key, line in zip(members.tolist(), keys, people_first.tolist())]
    columns["record_id"] = pa.array([
        hashlib.sha256(f"{prefixes[place]}{months[number]}|{natures[code].value}|{classes[code] or ''}|"
                       f"{_CAUSES[cause].value}".encode()).hexdigest()[:32]
        for place, number, code, cause in zip(at.person.tolist(), at.month.tolist(), at.code.tolist(),
                                              at.cause.tolist())], pa.string())
    return columns


# What every record of a declaration shares (``resources._declaration_fields``), as the published schema names it.
_SHARED = ("flow", "declarant_id", "declarant_kind", "declaration_id", "declaration_digest", "declaration_nature",
           "declaration_type", "declaration_rank", "declaration_fraction", "main_month", "norm_version", "file")
_EPOCH = date(1970, 1, 1).toordinal()


class PeopleRows(NamedTuple):
    """The records of the people normalised together, as columns (person by person, in the order asked for), and
    each person's rows (person instance -> (start, stop); a person without records is absent)."""

    rows: ResourceRows
    ranges: dict[int, tuple[int, int]]

    def of(self, person: int) -> ResourceRows | tuple:
        found = self.ranges.get(person)
        return () if found is None else ResourceRows(self.rows.base, *found)


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


def _strings(values: list[str | None], at: np.ndarray | pa.Array) -> pa.Array:
    """``values[i]`` for each ``i`` of ``at``, as a string column (each distinct value held once until taken)."""
    if len(values) == 1:                     # a declaration's own fields, most often
        return pa.repeat(pa.scalar(values[0], pa.string()), len(at))
    return pa.array(values, pa.string()).take(at if isinstance(at, pa.Array) else pa.array(at, pa.int64()))


def _days(days: np.ndarray) -> pa.Array:
    """Day numbers (``date.toordinal``) as a date column, null for 0."""
    return pa.array((days - _EPOCH).astype(np.int32), pa.date32(), mask=days == 0)


_KEY_BITS = _CAUSE_BITS + _CLASS_BITS + _MONTH_BITS


def _ranks(texts: list[str]) -> np.ndarray:
    """Each text's rank among the distinct texts, in text order (equal texts, equal ranks)."""
    distinct = sorted(set(texts))
    return np.asarray([distinct.index(text) for text in texts], dtype=np.int64)


# --- what the cross rules and the register need of each accepted person (gateway.normalise.mentions) ---------------

def open_contracts(view: DeclarationColumns, owners: Owners) -> np.ndarray:
    """For each instance, whether it is a person with a contract still running at the start of the month after its
    declaration's main month (``mentions.has_open_contract``; none without a main month): not ended (S21.G00.62
    with a date), its planned end absent or not before that day."""
    found = np.zeros(len(view.kinds), dtype=bool)
    contracts = view.under(R.CONTRACT, R.INDIVIDUAL)
    if not contracts.size:
        return found
    ends = view.under(R.CONTRACT_END, R.CONTRACT)
    ended = np.zeros(len(view.kinds), dtype=bool)
    ended[view.parents[ends[view.days(R.CONTRACT_END_DATE)[ends] > 0]]] = True
    planned = view.days(R.CONTRACT_PLANNED_END)[contracts]
    afters = np.array([0 if main is None else date(main.year + (main.month == 12), main.month % 12 + 1, 1).toordinal()
                       for main in owners.main_days], dtype=np.int64)
    after = afters[owners.of_instance[contracts]]
    running = ~ended[contracts] & ((planned == 0) | (planned >= after)) & (after > 0)
    found[view.parents[contracts[running]]] = True
    return found


def subrogated_months(view: DeclarationColumns) -> dict[int, str]:
    """person instance -> the months of its subrogation periods (``mentions.subrogated_months``)."""
    leaves = view.under(R.SICK_LEAVE, R.CONTRACT)
    leaves = leaves[view.kinds[view.parents[view.parents[leaves]]] == view.kind(R.INDIVIDUAL)] if leaves.size else leaves
    flags = view.by_instance(R.SUBROGATION)
    starts, ends = view.by_instance(R.SUBROGATION_START), view.by_instance(R.SUBROGATION_END)
    periods: dict[int, list] = {}
    for leave in leaves.tolist():
        if flags.get(leave) == "01":
            periods.setdefault(int(view.parents[view.parents[leave]]), []).append(
                (jjmmaaaa(starts.get(leave)), jjmmaaaa(ends.get(leave))))
    return {person: months_of_periods(found) for person, found in periods.items()}


def paid_allowances(records: "PeopleRows") -> dict[int, list[AllowanceMention]]:
    """person instance -> the daily allowances a paying body paid it (PASRAU: ``mentions.allowance_mentions``, its
    records of daily allowances with a net social amount), read from the records' columns."""
    table = records.rows.table
    amounts = table.column("net_social_cents").fill_null(0).to_numpy()
    found = np.flatnonzero((table.column("nature").to_numpy(zero_copy_only=False) == _ALLOWANCE) & (amounts != 0))
    if not found.size:
        return {}
    starts = np.fromiter((start for start, _ in records.ranges.values()), dtype=np.int64, count=len(records.ranges))
    persons = np.fromiter(records.ranges, dtype=np.int64, count=len(records.ranges))
    order = np.argsort(starts)
    owner = persons[order][np.searchsorted(starts[order], found, side="right") - 1]
    rows = table.take(pa.array(found, pa.int64()))
    out: dict[int, list[AllowanceMention]] = {}
    for person, key, month, amount, declarant, declaration, file, line in zip(
            owner.tolist(), *(rows.column(name).to_pylist() for name in (
                "person_key", "month", "net_social_cents", "declarant_id", "declaration_id", "file", "first_line"))):
        out.setdefault(person, []).append(AllowanceMention(key, month, amount, Flow.PASRAU, declarant, declaration,
                                                           file, line))
    return out


_ALLOWANCE = ResourceNature.DAILY_ALLOWANCE.value


def subrogated_allowances(view: DeclarationColumns, owners: Owners, keys: dict[int, str]
                          ) -> dict[int, list[AllowanceMention]]:
    """person instance -> the daily allowances its DSN payments include as paid on behalf of social security
    (S21.G00.58 type 10 with an amount, under a payment with a date: ``mentions.allowance_mentions``)."""
    elements = view.under(R.NET_ELEMENT, R.PAYMENT)
    if not elements.size:
        return {}
    payments = view.parents[elements]
    persons = view.parents[payments]
    paid = view.days(R.PAYMENT_DATE)[payments]
    types = view.by_instance(R.NET_ELEMENT_TYPE)
    amounts = view.by_instance(R.NET_ELEMENT_AMOUNT)
    lines = owners.numbers[view.heads[elements]].tolist()
    found: dict[int, list[AllowanceMention]] = {}
    for element, person, day, line, rank in zip(elements.tolist(), persons.tolist(), paid.tolist(), lines,
                                                owners.of_instance[elements].tolist()):
        if person not in keys or types.get(element) != R.SUBROGATED_IJ_TYPE or not day:
            continue
        amount = cents(amounts.get(element))
        if amount:
            decl = owners.decls[rank]
            found.setdefault(person, []).append(AllowanceMention(
                keys[person], month_of(date.fromordinal(day)), amount, Flow.DSN, decl.declarant_id or "",
                decl.declaration_id, decl.file, line))
    return found
