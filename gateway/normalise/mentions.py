"""What the cross-declaration and cross-flow rules need from an accepted person block."""
from __future__ import annotations

from datetime import date

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import AllowanceMention, Flow, ResourceMonth, ResourceNature
from gateway.values import cents, jjmmaaaa, month_of


def has_open_contract(decl: ParsedDeclaration, person: BlockInstance) -> bool:
    """A contract still running at the start of the month after the main month."""
    main = decl.main_day
    if main is None:
        return False
    next_month = date(main.year + (main.month == 12), main.month % 12 + 1, 1)
    for contract in person.children_of(R.CONTRACT):
        ended = any(jjmmaaaa(end.get(R.CONTRACT_END_DATE)) for end in contract.children_of(R.CONTRACT_END))
        planned = jjmmaaaa(contract.get(R.CONTRACT_PLANNED_END))
        if not ended and (planned is None or planned >= next_month):
            return True
    return False


def subrogated_months(person: BlockInstance) -> str:
    """The months (``YYYY-MM``, space-separated) of every subrogation period the employer declares for the person
    (S21.G00.60.004 = 01, from .005 to .006): daily allowances for those months are paid to the employer, who
    keeps paying the salary, so the paying body's declaration of them must not be counted a second time. Known
    under every norm version, whether or not the amount is declared (S21.G00.58 type 10 exists from P26V01)."""
    leaves = (leave for contract in person.children_of(R.CONTRACT) for leave in contract.children_of(R.SICK_LEAVE))
    # a sick leave is a child of its contract: no walk of the whole person
    return months_of_periods((jjmmaaaa(leave.get(R.SUBROGATION_START)), jjmmaaaa(leave.get(R.SUBROGATION_END)))
                             for leave in leaves if leave.get(R.SUBROGATION) == "01")


def months_of_periods(periods) -> str:
    """The months (``YYYY-MM``, space-separated, in order) the periods ``(start, end)`` touch; a period without
    both dates, or ending before it starts, touches none."""
    months: set[str] = set()
    for start, end in periods:
        if start is None or end is None or end < start:
            continue
        month = date(start.year, start.month, 1)
        while month <= end:
            months.add(month_of(month))
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return " ".join(sorted(months))


def allowance_mentions(decl: ParsedDeclaration, person: BlockInstance, person_key: str,
                       records: list[ResourceMonth]) -> list[AllowanceMention]:
    declarant = decl.declarant_id or ""
    out: list[AllowanceMention] = []
    if decl.flow is Flow.DSN:
        for payment in person.children_of(R.PAYMENT):
            paid = jjmmaaaa(payment.get(R.PAYMENT_DATE))
            for element in payment.children_of(R.NET_ELEMENT):
                amount = cents(element.get(R.NET_ELEMENT_AMOUNT))
                if element.get(R.NET_ELEMENT_TYPE) == R.SUBROGATED_IJ_TYPE and paid and amount:
                    out.append(AllowanceMention(person_key, month_of(paid), amount, Flow.DSN, declarant,
                                                decl.declaration_id, decl.file, element.first_line))
        return out
    for record in records:
        if record.nature is ResourceNature.DAILY_ALLOWANCE and record.net_social_cents:
            out.append(AllowanceMention(person_key, record.month, record.net_social_cents, Flow.PASRAU, declarant,
                                        decl.declaration_id, decl.file, record.first_line))
    return out
