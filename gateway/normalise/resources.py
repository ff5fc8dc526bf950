"""Accepted person blocks -> ResourceMonth records.

Attribution (DOMAIN.md, FORMAT.md §6-§7):
- a payment (S21.G00.50) counts in the month of its payment date (.001): net taxable (.002),
  net paid (.004), PAS base (.013) and amount (.009), net social (S21.G00.58 type 03 without a
  period of its own, or with a period inside that month) and gross pay (S21.G00.51 type 001);
- a net social amount (S21.G00.58 type 03) whose period starts in an earlier month is a
  correction attached back to that month (cause NET_SOCIAL_CORRECTION);
- pay elements (S21.G00.51) whose period ends before the declaration's main month are back-pay
  attributed to their period's month (cause BACK_PAY, gross only);
- a PAS régularisation (S21.G00.56) carries deltas for the error month (.001, MMAAAA): net
  taxable (.003), PAS amount (.007), PAS base (.010) (cause PAS_REGULARISATION).
Several payments of one person in one month add up into one record (``payment_count``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from gateway.normalise.natures import nature_of
from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import AMOUNT_FIELDS, Cause, DeclarantKind, Flow, ResourceMonth, ResourceNature, \
    fields_in_order, from_state
from gateway.values import cents, jjmmaaaa, mmaaaa_month, month_of



@dataclass(slots=True)
class _Accumulator:
    amounts: dict[str, int] = field(default_factory=dict)
    payment_count: int = 0
    payment_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    first_line: int = 0
    last_line: int = 0

    def add(self, name: str, value: int | None) -> None:
        if value is not None:
            self.amounts[name] = self.amounts.get(name, 0) + value

    def touch(self, instance: BlockInstance) -> None:
        last = instance.subtree_last_line
        self.first_line = instance.first_line if not self.first_line else min(self.first_line, instance.first_line)
        self.last_line = max(self.last_line, last)

    def period(self, start: date | None, end: date | None) -> None:
        if start is not None:
            self.period_start = start if self.period_start is None else min(self.period_start, start)
        if end is not None:
            self.period_end = end if self.period_end is None else max(self.period_end, end)

Group = Callable[[str, "str | None", Cause], _Accumulator]


def _net_social(payment: BlockInstance, acc: _Accumulator, group: Group, month: str, income_class: str | None) -> None:
    """Net social items (S21.G00.58 type 03): the payment's month, or the earlier month a correction of a
    declaration error is attached back to (cause NET_SOCIAL_CORRECTION)."""
    for element in payment.children_of(R.NET_ELEMENT):
        if element.get(R.NET_ELEMENT_TYPE) != R.NET_SOCIAL_TYPE:
            continue
        start = jjmmaaaa(element.get(R.NET_ELEMENT_START))
        end = jjmmaaaa(element.get(R.NET_ELEMENT_END))
        target = acc
        if start is not None and month_of(start) < month:
            target = group(month_of(start), income_class, Cause.NET_SOCIAL_CORRECTION)
            target.touch(element)
            target.period(start, end)
        target.add("net_social_cents", cents(element.get(R.NET_ELEMENT_AMOUNT)))


def _gross(payment: BlockInstance, acc: _Accumulator, group: Group, flow: Flow, main_month: str | None) -> None:
    """Gross pay (S21.G00.51 type 001; PASRAU's gross amount): back-pay for a period ended before the main
    month goes to the month it ended (cause BACK_PAY)."""
    for pay in payment.children_of(R.REMUNERATION):
        start = jjmmaaaa(pay.get(R.REMUNERATION_START))
        end = jjmmaaaa(pay.get(R.REMUNERATION_END))
        if flow is Flow.PASRAU:
            acc.period(start, end)
            acc.add("gross_cents", cents(pay.get(R.PASRAU_GROSS_AMOUNT)))
            continue
        if pay.get(R.REMUNERATION_TYPE) != R.GROSS_TYPE:
            continue
        target = acc
        if end is not None and main_month is not None and month_of(end) < main_month:
            target = group(month_of(end), None, Cause.BACK_PAY)
            target.touch(pay)
            target.period(start, end)
        target.add("gross_cents", cents(pay.get(R.REMUNERATION_AMOUNT)))


def _regularisations(payment: BlockInstance, group: Group, income_class: str | None) -> None:
    """Withholding-tax régularisations (S21.G00.56): to their error month (cause PAS_REGULARISATION)."""
    for regul in payment.children_of(R.PAS_REGULARISATION):
        error_month = mmaaaa_month(regul.get(R.ERROR_MONTH))
        if error_month is None:
            continue
        target = group(error_month, income_class, Cause.PAS_REGULARISATION)
        target.touch(regul)
        target.add("net_taxable_cents", cents(regul.get(R.REGUL_NET_TAXABLE)))
        target.add("pas_amount_cents", cents(regul.get(R.REGUL_PAS_AMOUNT)))
        target.add("pas_base_cents", cents(regul.get(R.REGUL_PAS_BASE)))


def normalise_person(decl: ParsedDeclaration, person: BlockInstance, person_key: str) -> list[ResourceMonth]:
    """The person's records, in (month, nature, income class, cause) order; ``person_key`` is the person's
    pseudonym (computed once per person by the caller)."""
    main = decl.main_day
    main_month = month_of(main) if main else None
    groups: dict[tuple[str, str, str | None, Cause], _Accumulator] = {}

    def group(month: str, income_class: str | None, cause: Cause) -> _Accumulator:
        nature = nature_of(decl.flow, income_class).value
        return groups.setdefault((month, nature, income_class, cause), _Accumulator())

    for payment in person.children_of(R.PAYMENT):
        paid_on = jjmmaaaa(payment.get(R.PAYMENT_DATE))
        if paid_on is None:
            continue
        month = month_of(paid_on)
        income_class = payment.get(R.INCOME_CLASS) if decl.flow is Flow.PASRAU else None
        acc = group(month, income_class, Cause.PAYMENT)
        acc.touch(payment)
        acc.payment_count += 1
        acc.payment_date = paid_on if acc.payment_date is None else max(acc.payment_date, paid_on)
        acc.add("net_taxable_cents", cents(payment.get(R.NET_TAXABLE)))
        acc.add("net_paid_cents", cents(payment.get(R.NET_PAID)))
        acc.add("pas_base_cents", cents(payment.get(R.PAS_BASE)))
        acc.add("pas_amount_cents", cents(payment.get(R.PAS_AMOUNT)))
        _net_social(payment, acc, group, month, income_class)
        _gross(payment, acc, group, decl.flow, main_month)
        _regularisations(payment, group, income_class)
    if not groups:
        return []
    nir, ntt = person.get(R.NIR) or None, person.get(R.NTT) or None
    common = _declaration_fields(decl, main_month)
    return [_record(decl, person, person_key, nir, ntt, common, key, acc)
            for key, acc in sorted(groups.items(), key=_order)]


def _order(item):
    (month, nature, income_class, cause), _ = item
    return month, nature, income_class or "", cause.value


def _declaration_fields(decl: ParsedDeclaration, main_month: str | None) -> dict:
    """The fields every record of ``decl`` shares (computed once per declaration)."""
    found = decl.cache.get("resource_fields")
    if found is None:
        found = decl.cache["resource_fields"] = dict(
            flow=decl.flow, declarant_id=decl.declarant_id or "",
            declarant_kind=DeclarantKind.PAYING_BODY if decl.flow is Flow.PASRAU else DeclarantKind.EMPLOYER,
            declaration_id=decl.declaration_id, declaration_digest=decl.digest,
            declaration_nature=decl.nature, declaration_type=decl.value(R.TYPE) or "",
            declaration_rank=decl.value(R.RANK) or "", declaration_fraction=decl.value(R.FRACTION) or "",
            main_month=main_month, norm_version=decl.norm_version or "", file=decl.file)
    return found


# ResourceMonth's fields in their order (its state, ``from_state``): the amounts, then these, then the
# declaration's fields (``_declaration_fields``) from ``declaration_id`` on, then the lines.
_NATURES = {nature.value: nature for nature in ResourceNature}
_HEAD = ("record_id", "person_key", "nir", "ntt", "flow", "declarant_id", "declarant_kind", "nature", "income_class",
         "month", "cause", "payment_count", "payment_date", "period_start", "period_end")
_TAIL = ("declaration_id", "declaration_digest", "declaration_nature", "declaration_type", "declaration_rank",
         "declaration_fraction", "main_month", "norm_version", "file")
fields_in_order(ResourceMonth, *AMOUNT_FIELDS, *_HEAD, *_TAIL, "first_line", "last_line")


def _record(decl: ParsedDeclaration, person: BlockInstance, person_key: str, nir: str | None, ntt: str | None,
            common: dict, key: tuple[str, str, str | None, Cause], acc: _Accumulator) -> ResourceMonth:
    month, nature, income_class, cause = key
    amounts = acc.amounts
    return resource_record(common, person_key, nir, ntt, person.first_line, month, _NATURES[nature], income_class,
                           cause, [amounts.get(name) for name in AMOUNT_FIELDS], acc.payment_count,
                           acc.payment_date, acc.period_start, acc.period_end,
                           acc.first_line or person.first_line, acc.last_line or person.subtree_last_line)


def resource_record(common: dict, person_key: str, nir: str | None, ntt: str | None, person_line: int, month: str,
                    nature: ResourceNature, income_class: str | None, cause: Cause, amounts: list[int | None],
                    payment_count: int, payment_date: date | None, period_start: date | None,
                    period_end: date | None, first_line: int, last_line: int) -> ResourceMonth:
    """A record from its values (``amounts`` in AMOUNT_FIELDS order; ``common``: ``_declaration_fields``), its id
    taken of where it comes from (file, declaration, person and its first line) and its key: the object path and
    the columnar one (gateway.normalise.columnar) build every record here."""
    record_id = hashlib.sha256("|".join(
        [common["file"], common["declaration_digest"], person_key, str(person_line), month, nature._value_,
         income_class or "", cause._value_]).encode()).hexdigest()[:32]
    return from_state(ResourceMonth, (
        *amounts, record_id, person_key, nir, ntt, common["flow"], common["declarant_id"], common["declarant_kind"],
        nature, income_class, month, cause, payment_count, payment_date, period_start, period_end,
        *[common[name] for name in _TAIL], first_line, last_line))
