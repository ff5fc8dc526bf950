"""Reference-period bases per person and benefit (policy ``bases``), with the versions they used and
the share of their amount that is floating, so that a base computed today can be compared later."""
from __future__ import annotations

import functools
import hashlib
import operator
from dataclasses import dataclass, replace

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.months import add_months, month_number, month_of_instant
from gateway.policy import PERIOD_MONTHS, BasePolicy
from gateway.records import AMOUNT_FIELDS, Flow, ReferenceBase, ResourceNature, ResourceVersion
from gateway.versioning.columns import KEY, amount_arrays, codes, latest_versions
from gateway.versioning.view import PersonView
from schemas.records import REFERENCE_BASE, RESOURCE_VERSION, BaseRows, VersionRows, column_values

ALLOWANCE = ResourceNature.DAILY_ALLOWANCE.value


def period_start(month: str, policy: BasePolicy) -> str:
    """The first month of the payment period (month, quarter, half-year, year) ``month`` is in."""
    step = PERIOD_MONTHS[policy.recompute]
    return f"{month[:4]}-{(int(month[5:7]) - 1) // step * step + 1:02d}"


def paid_months(month_m: str, policy: BasePolicy) -> tuple[str, ...]:
    """The months a base computed for ``month_m`` pays: its payment period."""
    return tuple(add_months(month_m, offset) for offset in range(PERIOD_MONTHS[policy.recompute]))


def reference_month(as_of: str, policy: BasePolicy) -> str:
    """The month M a run computes the base of: the first month of the period (quarter, half-year, year) the
    run's month is in, or the run's month itself when the base is recomputed monthly."""
    return period_start(month_of_instant(as_of), policy)


@functools.lru_cache(maxsize=4096)
def _window(month_m: str, offsets: tuple[int, int]) -> tuple[str, ...]:
    """The months of a reference period (asked for every base of every person: computed once per month M)."""
    return tuple(add_months(month_m, offset) for offset in range(offsets[0], offsets[1] + 1))


@dataclass(slots=True)
class WindowSums:
    """What a reference period adds up to for one person: all a base's amounts are made of."""

    window: tuple[str, ...]
    per_month: dict[str, int]          # after double counting and flooring
    deduction: int
    used: list[str]                    # version ids
    months_declared: int
    double_counted: int
    floating_cents: int
    magnitude: int

    @property
    def total(self) -> int:
        return sum(self.per_month.values())

    @property
    def base_cents(self) -> int:
        return self.total - self.deduction


_ALIKE: dict[int, tuple[BasePolicy, int]] = {}      # id(policy) -> (the policy, kept alive; its way of counting)
_WAYS: dict[BasePolicy, BasePolicy] = {}              # each way of counting, once (kept alive: its id names it)


def _way_of_counting(policy: BasePolicy) -> int:
    """A number per way of adding up a period: the policy without what its window's sums do not depend on (its
    benefit, label, payment period, whether it is a comparison). Policies numbered alike add up a person's period
    to the same sums; every other field is kept, so that a field added to the policy later separates them unless
    it is named here. Remembered by the policy object's identity (hashing a policy at every call costs more than
    the sums saved), the object kept so that its identity is never reused; the number is the identity of the
    first equal way stored (``setdefault``: the same for every thread)."""
    found = _ALIKE.get(id(policy))
    if found is None:
        alike = replace(policy, benefit="", label="", recompute="", comparison=False)
        found = _ALIKE[id(policy)] = (policy, id(_WAYS.setdefault(alike, alike)))
    return found[1]


def window_sums(view: PersonView, policy: BasePolicy, month_m: str, floating: set[tuple]) -> WindowSums:
    """The amounts of one person's reference period for month M (the gate compares these with a frozen base
    before building a base at all). Added up once per person, period, way of counting (``_way_of_counting``) and
    floating keys: the bases and the gate of RSA and PA, counted alike, share them (nothing changes a sums once
    made; a person's view is complete before anything is asked of it)."""
    key = (month_m, _way_of_counting(policy))
    found = view.sums.get(key)
    if found is not None and found[0] == floating:
        return found[1]
    sums = _window_sums(view, policy, month_m, floating)
    view.sums[key] = (frozenset(floating), sums)       # a copy: the caller's set may change afterwards
    return sums


def _window_sums(view: PersonView, policy: BasePolicy, month_m: str, floating: set[tuple]) -> WindowSums:
    window = _window(month_m, policy.window)
    used: list[str] = []
    per_month: dict[str, int] = dict.fromkeys(window, 0)
    deductible: dict[str, int] = dict.fromkeys(window, 0)
    floating_abs: dict[str, int] = dict.fromkeys(window, 0)
    magnitude = 0
    allowance_paid_by_body: dict[str, int] = {}
    declared: set[str] = set()
    natures, deductible_natures, versions = policy.natures, policy.deduction_natures, view.versions
    amount_of = _amount_of(policy.amount)
    for month in window:
        for key in view.keys_of(month):
            _, declarant, nature, _ = key
            if nature not in natures:
                continue
            declared.add(month)
            current = versions[key][-1]
            amount = amount_of(current)
            if amount is None:
                continue
            used.append(current.version_id)
            per_month[month] += amount
            magnitude += abs(amount)
            if nature in deductible_natures:
                deductible[month] += amount
            if key in floating:
                floating_abs[month] += abs(amount)
            if nature == ALLOWANCE and view.flows.get(declarant) == Flow.PASRAU.value:
                allowance_paid_by_body[month] = allowance_paid_by_body.get(month, 0) + amount
    double_counted = 0
    # subrogated IJ are inside the employer's net social (nothing to take out when no body paid any)
    if policy.amount == "net_social_cents" and used and allowance_paid_by_body:
        mentions = [m for month in (add_months(window[0], -1), *window) for m in view.mentions_of(month)]
        double_counted = _count_allowances_once(per_month, allowance_paid_by_body, mentions)
    if policy.floor_month_at_zero:
        per_month = {month: max(0, value) for month, value in per_month.items()}
    deduction = round(policy.deduction_rate * max(0, sum(deductible.values())))
    return WindowSums(window, per_month, deduction, used, len(declared), double_counted, sum(floating_abs.values()),
                      magnitude)


@functools.lru_cache(maxsize=None)
def _amount_of(name: str):
    """A version's amount of one kind (``BasePolicy.amount``), read by a getter made once per kind."""
    return operator.attrgetter(name)


def _count_allowances_once(per_month: dict[str, int], paid_by_body: dict[str, int], mentions: list) -> int:
    """Take out of ``per_month`` the daily allowances the paying body declares (``paid_by_body``, by the month
    it paid them) that the claimant already received as salary maintained by the employer (subrogation: the
    body pays the employer, the employer keeps paying the salary, whose net social includes them). The body
    often pays the month after the absence, so an employer's subrogated month covers the body's allowances of
    that month and of the next. Two cases:
    - the employer declares the amount (S21.G00.58 type 10, norm P26V01 on): up to that amount;
    - the employer declares the subrogation period only (S21.G00.60.004-.006, every norm, P25V01 included):
      all the body's allowances of a covered month or of the month after, since they were paid to the employer.
    The claimant's month keeps the salary (RSA/PA count income in the month received). Returns what was taken."""
    removed = 0

    def take(month: str, wanted: int) -> int:
        nonlocal removed
        overlap = min(wanted, paid_by_body.get(month, 0))
        if overlap <= 0 or month not in per_month:
            return 0
        per_month[month] -= overlap
        paid_by_body[month] -= overlap
        removed += overlap
        return overlap

    for mention in mentions:
        left = mention.subrogated_allowance_cents
        for month in (mention.month, add_months(mention.month, 1)):
            if left > 0:
                left -= take(month, left)
    covered = {month for mention in mentions for month in (mention.subrogated_months or "").split()}
    for month in sorted(paid_by_body):
        if month in covered or add_months(month, -1) in covered:
            take(month, paid_by_body[month])
    return removed


def base_of(view: PersonView, policy: BasePolicy, as_of: str, floating: set[tuple], *,
            policy_version: str, month_m: str | None = None, allow_empty: bool = False,
            sums: WindowSums | None = None) -> ReferenceBase | None:
    """The base of one person for one benefit as known at ``as_of``, for the reference month of that date
    (or ``month_m``); None when the window holds nothing, unless ``allow_empty`` (a base that lost all
    its amounts is still a base). ``sums``: the window's sums when already computed."""
    month_m = month_m or reference_month(as_of, policy)
    sums = sums or window_sums(view, policy, month_m, floating)
    if not sums.used and not allow_empty:
        return None
    window, per_month, total = sums.window, sums.per_month, sums.total
    identity = f"{view.person_key}|{policy.benefit}|{month_m}|{as_of}|{policy_version}"
    return ReferenceBase(
        base_id=hashlib.sha256(identity.encode()).hexdigest()[:24], person_key=view.person_key,
        benefit=policy.benefit, reference_month=month_m, window_first=window[0], window_last=window[-1],
        amount_kind=policy.amount, months_declared=sums.months_declared, total_cents=total,
        deduction_cents=sums.deduction, double_counted_cents=sums.double_counted, base_cents=total - sums.deduction,
        floating_cents=sums.floating_cents,
        floating_share=round(sums.floating_cents / sums.magnitude, 4) if sums.magnitude else 0.0,
        monthly_cents=" ".join(f"{month}:{per_month[month]}" for month in window),
        versions_used=" ".join(sorted(sums.used)), policy_version=policy_version, as_of=as_of)


def bucket_bases(views: dict[str, PersonView], versions: Sequence[ResourceVersion], policies: Sequence[BasePolicy],
                 as_of: str, floating: dict[str, set[tuple]], *, policy_version: str,
                 current: "_Current | None" = None) -> BaseRows:
    """What ``base_of`` gives each person of a bucket for each of ``policies`` at ``as_of`` (those that are not
    None), as rows: person by person in key order, each person's in policy order. Made over the columns of the
    bucket's versions (``versions``: those the views were made of) for every person at once, and kept as columns
    (records only for whoever reads them one by one: the gate, for people with frozen bases). A person whose
    period counts daily allowances a paying body declared while a subrogation says they were paid through payroll
    (counted once: ``_count_allowances_once``), or whose amounts may sum beyond int64, gets ``base_of``'s.
    ``current``: ``current_versions`` of the same, when already made."""
    parts: list[pa.Table] = []
    current = current or current_versions(versions, as_of, views, floating)
    for number, policy in enumerate(policies):
        found, alone = current.bases(policy, as_of, views, policy_version) if current else (None, set())
        made = [base for person in sorted(alone) if (base := base_of(
            views[person], policy, as_of, floating.get(person, set()), policy_version=policy_version)) is not None]
        for table in (found, REFERENCE_BASE.table(made) if made else None):
            if table is not None and table.num_rows:
                parts.append(table.append_column(_POLICY, pa.array(np.full(table.num_rows, number, np.int64))))
    if not parts:
        return BaseRows(REFERENCE_BASE.arrow.empty_table())
    table = pa.concat_tables(parts)
    order = pc.sort_indices(table, [("person_key", "ascending"), (_POLICY, "ascending")])
    return BaseRows(table.take(order).drop_columns([_POLICY]).combine_chunks())


_POLICY = "_policy"          # a base's policy's position among the policies (its order among a person's bases)


def current_versions(versions: Sequence[ResourceVersion], as_of: str, views: dict[str, PersonView],
                     floating: dict[str, set[tuple]]) -> "_Current | None":
    """The current version of each key of a bucket at ``as_of`` as arrays, what ``bucket_bases`` and
    ``unchanged_bases`` read (None: no version known then)."""
    return _Current.of(versions, as_of, views, floating)


def unchanged_bases(current: "_Current | None", policies: Sequence[BasePolicy],
                    frozen: dict[str, dict[tuple[str, str], ReferenceBase]]) -> dict[str, set[tuple[str, str]]]:
    """Of each person's frozen bases (``frozen``: person -> (benefit, month M) -> base), those whose period
    recomputed now from the current versions gives the same amount for each of its months and the same base:
    what the gate's comparison (``gateway.gate.decisions._compare``: ``window_sums`` over the person's versions)
    finds to be no change, found over the columns for every frozen base of a bucket at once. A base is left out
    (the gate compares it) when its period counts daily allowances a paying body declared (possibly counted twice:
    ``_count_allowances_once``), when its amounts may sum beyond int64, or when the policy has no such benefit."""
    by_benefit: dict[str, list[ReferenceBase]] = {}
    for bases in frozen.values():
        for reference in bases.values():
            by_benefit.setdefault(reference.benefit, []).append(reference)
    named = {policy.benefit: policy for policy in policies}
    out: dict[str, set[tuple[str, str]]] = {}
    for benefit, references in sorted(by_benefit.items()):
        if benefit in named:
            for reference in _unchanged(current, named[benefit], references):
                out.setdefault(reference.person_key, set()).add((benefit, reference.reference_month))
    return out


def _frozen_months(references: list[ReferenceBase], first: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each frozen base's amount of each month of its period (``first``: each period's first month, as a number),
    as ``_compare`` reads them (``monthly_cents``: month:cents items; months outside the period are not read),
    split over Arrow's columns; and whether each could be read (False: an amount beyond int64)."""
    before = np.zeros((len(references), width), dtype=np.int64)
    told = np.ones(len(references), dtype=bool)
    items = pc.split_pattern(pa.array([reference.monthly_cents for reference in references], pa.string()), " ")
    row = pc.list_parent_indices(items).to_numpy()
    flat = pc.list_flatten(items)
    kept = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
    pairs = pc.split_pattern(flat.filter(pa.array(kept)), ":", max_splits=1)
    row = row[kept]
    try:
        month, numbers = codes(pc.list_element(pairs, 0))
        cents = pc.cast(pc.list_element(pairs, 1), pa.int64()).to_numpy(zero_copy_only=False)
    except pa.ArrowException:                # an amount beyond int64 (or not month:cents): compared one by one
        return before, np.zeros(len(references), dtype=bool)
    column = np.array([month_number(text) for text in numbers], dtype=np.int64)[month] - first[row]
    within = (column >= 0) & (column < width)
    huge = within & (np.abs(cents) >= 1 << 62)
    told[row[huge]] = False
    within &= ~huge
    before[row[within], column[within]] = cents[within]
    return before, told


def _unchanged(current: "_Current | None", policy: BasePolicy, references: list[ReferenceBase]) -> list[ReferenceBase]:
    """Those of ``references`` (bases of ``policy``'s benefit) that ``_window_sums`` would find the same now."""
    width = policy.window[1] - policy.window[0] + 1
    numbers = {month: month_number(month) for month in {reference.reference_month for reference in references}}
    first = np.array([numbers[reference.reference_month] for reference in references], dtype=np.int64) \
        + policy.window[0]                                                  # each period's first month
    start = int(first.min())
    span = int(first.max()) + width - start
    people = {key: code for code, key in enumerate(current.people)} if current is not None else {}
    owner = np.array([people.get(reference.person_key, len(people)) for reference in references], dtype=np.int64)
    # per person (one more: nobody's, all zeros) and month of the periods: amounts, deductible amounts, and
    # whether a paying body declared a daily allowance then (counted once against a subrogation: not told here)
    sums = np.zeros((len(people) + 1, span), dtype=np.int64)
    deductible, by_body = np.zeros_like(sums), np.zeros(sums.shape, dtype=bool)
    if current is not None:
        number = current.month_numbers - start
        rows = current._of(policy.natures)[current.nature] & (number >= 0) & (number < span)
        value, present = current.amount(policy.amount)
        if rows.any() and int(np.abs(value[rows]).max()) * int(rows.sum()) >= 1 << 62:
            return []                              # sums beyond int64: the gate compares with Python's integers
        np.add.at(sums, (current.person[rows], number[rows]), value[rows])
        deducted = rows & current._of(policy.deduction_natures)[current.nature]
        np.add.at(deductible, (current.person[deducted], number[deducted]), value[deducted])
        if policy.amount == "net_social_cents":
            paid = rows & present & current.by_body
            by_body[current.person[paid], number[paid]] = True
    months = (first - start)[:, None] + np.arange(width)                 # each period's months, as columns
    per_month = sums[owner[:, None], months]
    if policy.floor_month_at_zero:
        per_month = np.maximum(per_month, 0)
    # round() of a float: to the nearest, halves to even, as rint
    deduction = np.rint(policy.deduction_rate * np.maximum(deductible[owner[:, None], months].sum(axis=1), 0))
    base = per_month.sum(axis=1) - deduction.astype(np.int64)
    before, told = _frozen_months(references, first, width)
    same = (told & (per_month == before).all(axis=1) & ~by_body[owner[:, None], months].any(axis=1)
            & (base == np.array([reference.base_cents for reference in references], dtype=np.int64)))
    return [reference for reference, kept in zip(references, same.tolist()) if kept]


class _Current:
    """The current version of each key of a bucket at a date (the highest number of those known then), as arrays:
    read once, every policy's bases made of them."""

    def __init__(self, table: pa.Table, views: dict[str, PersonView], floating: dict[str, set[tuple]]) -> None:
        self.person, self.people = codes(table.column("person_key"))
        self.month, self.months = codes(table.column("month"))
        self.nature, self.natures = codes(table.column("nature"))
        self.version_id = table.column("version_id").combine_chunks()
        self.amounts = {name: table.column(name) for name in AMOUNT_FIELDS}
        self._read: dict[str, tuple[np.ndarray, np.ndarray]] = {}          # ``amount``'s, by kind
        keys = zip(*(column_values(table.column(name)) for name in KEY))
        self.floating = np.array([key in floating.get(key[0], ()) for key in keys], dtype=bool)
        declarants = column_values(table.column("declarant_id"))
        # daily allowances a paying body declared: their people may count some twice (``_count_allowances_once``)
        allowance = np.array([nature == ALLOWANCE for nature in self.natures], dtype=bool)[self.nature]
        self.by_body = np.zeros(len(allowance), dtype=bool)
        for row in np.flatnonzero(allowance).tolist():
            self.by_body[row] = views[self.people[self.person[row]]].flows.get(declarants[row]) == Flow.PASRAU.value

    @functools.cached_property
    def month_numbers(self) -> np.ndarray:
        """Each row's month as a number (``months.month_number``)."""
        return np.array([month_number(month) for month in self.months], dtype=np.int64)[self.month]

    def amount(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Each row's amount of a kind (0 where none) and whether it has one: once a kind (RSA and PA share theirs)."""
        found = self._read.get(name)
        if found is None:
            found = self._read[name] = amount_arrays(self.amounts[name])
        return found

    @classmethod
    def of(cls, versions: Sequence[ResourceVersion], as_of: str, views: dict[str, PersonView],
           floating: dict[str, set[tuple]]) -> "_Current | None":
        table = versions.table if isinstance(versions, VersionRows) else RESOURCE_VERSION.table(list(versions))
        table = table.filter(pc.less_equal(table.column("transaction_time"), as_of))
        if not table.num_rows:
            return None
        return cls(latest_versions(table), views, floating)

    def bases(self, policy: BasePolicy, as_of: str, views: dict[str, PersonView], policy_version: str,
              ) -> tuple[pa.Table | None, set[str]]:
        """One policy's bases over the arrays (None: nobody's), and the people left to ``base_of``."""
        month_m = reference_month(as_of, policy)
        window = _window(month_m, policy.window)
        index = {month: position for position, month in enumerate(window)}
        slot = np.array([index.get(month, -1) for month in self.months], dtype=np.int64)[self.month]
        rows = (slot >= 0) & self._of(policy.natures)[self.nature]
        column = self.amounts[policy.amount].filter(pa.array(rows))
        value, present = amount_arrays(column)
        person = self.person[rows]
        alone: set[str] = set()
        if value.size and int(np.abs(value).max()) * len(value) >= 1 << 62:
            return None, {self.people[code] for code in set(person.tolist())}
        if policy.amount == "net_social_cents":
            window_mentions = (add_months(window[0], -1), *window)
            alone = {key for key in {self.people[code] for code in person[present & self.by_body[rows]].tolist()}
                     if any(mention.subrogated_allowance_cents or mention.subrogated_months
                            for month in window_mentions for mention in views[key].mentions_of(month))}
        kept = np.zeros(len(self.people), dtype=bool)
        kept[person[present]] = True                          # the others have no amount: no base
        for key in alone:
            kept[self.people.index(key)] = False
        mine = kept[person]
        if not mine.any():
            return None, alone
        version_ids = self.version_id.take(pa.array(np.flatnonzero(rows)[mine & present]))
        return self._table(person[mine], slot[rows][mine], value[mine], present[mine], self.nature[rows][mine],
                           self.floating[rows][mine], version_ids, policy, month_m, window, as_of,
                           policy_version), alone

    def _of(self, natures) -> np.ndarray:
        """For each nature code, whether the nature is one of ``natures``."""
        return np.array([nature in natures for nature in self.natures], dtype=bool)

    def _table(self, person: np.ndarray, slot: np.ndarray, value: np.ndarray, present: np.ndarray,
               nature: np.ndarray, floating: np.ndarray, version_ids: pa.Array, policy: BasePolicy, month_m: str,
               window: tuple[str, ...], as_of: str, policy_version: str) -> pa.Table:
        """The bases of the people of these rows (each with an amount in the window), as ``base_of`` makes them."""
        people, owner = np.unique(person, return_inverse=True)
        count, width = len(people), len(window)
        per_month = np.zeros((count, width), dtype=np.int64)
        np.add.at(per_month, (owner, slot), value)
        if policy.floor_month_at_zero:
            per_month = np.maximum(per_month, 0)
        declared = np.zeros((count, width), dtype=bool)
        declared[owner, slot] = True
        deductible, floating_cents, magnitude = (np.zeros(count, dtype=np.int64) for _ in range(3))
        np.add.at(deductible, owner, np.where(self._of(policy.deduction_natures)[nature], value, 0))
        np.add.at(floating_cents, owner, np.where(floating & present, np.abs(value), 0))
        np.add.at(magnitude, owner, np.abs(value))
        total = per_month.sum(axis=1)
        # round() of a float: to the nearest, halves to even, as rint
        deduction = np.rint(policy.deduction_rate * np.maximum(deductible, 0)).astype(np.int64)
        keys = [self.people[code] for code in people.tolist()]
        used_owner = owner[present]
        order = pc.sort_indices(pa.table({"owner": used_owner, "id": version_ids}),
                                [("owner", "ascending"), ("id", "ascending")])         # by person, then id
        sorted_ids = version_ids.take(order)
        offsets = np.searchsorted(used_owner[order.to_numpy()], np.arange(count + 1)).astype(np.int32)
        pieces = pc.binary_join_element_wise(pa.array(np.tile(np.array(window, dtype=object), count), pa.string()),
                                             pa.array(per_month.ravel()).cast(pa.string()), ":")
        columns = {
            "base_id": [hashlib.sha256(f"{key}|{policy.benefit}|{month_m}|{as_of}|{policy_version}".encode())
                        .hexdigest()[:24] for key in keys],
            "person_key": keys, "benefit": [policy.benefit] * count, "reference_month": [month_m] * count,
            "window_first": [window[0]] * count, "window_last": [window[-1]] * count,
            "amount_kind": [policy.amount] * count, "months_declared": declared.sum(axis=1), "total_cents": total,
            "deduction_cents": deduction, "double_counted_cents": np.zeros(count, dtype=np.int64),
            "base_cents": total - deduction, "floating_cents": floating_cents,
            "floating_share": [round(part / whole, 4) if whole else 0.0
                               for part, whole in zip(floating_cents.tolist(), magnitude.tolist())],
            "monthly_cents": pc.binary_join(pa.ListArray.from_arrays(
                pa.array(np.arange(0, count * width + 1, width), pa.int32()), pieces), " "),
            "versions_used": pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), sorted_ids), " "),
            "policy_version": [policy_version] * count, "as_of": [as_of] * count}
        return pa.Table.from_pydict({name: columns[name] for name in REFERENCE_BASE.arrow.names},
                                    schema=REFERENCE_BASE.arrow)
