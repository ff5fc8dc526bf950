"""Certificates of the payment, period, withholding-tax régularisation and contract rules
(gateway.validate.rules.amounts, .periods, .regularisations)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from gateway.parse import rubrics as R
from gateway.validate.rules.amounts import DSN_RESOURCES
from gateway.validate.rules.regularisations import FORBIDDEN, MONTHLY, REQUIRED
from gateway.values import cents, jjmmaaaa, mmaaaa_month, month_end, month_of, next_month_end
from gateway.validate.certify.registry import certifies
from gateway.validate.certify.views import DeclarationColumns


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


def _none_after_next_month(view: DeclarationColumns, rubric: str) -> bool:
    """No date of ``rubric`` after the end of the month following the declaration's main month."""
    main = view.main_day
    return main is None or _none_after(view.values_of(rubric), next_month_end(main))


@certifies("DRM-PER-002")
def _paid_within_the_declaration(view: DeclarationColumns) -> bool:
    return _none_after_next_month(view, R.PAYMENT_DATE)


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
    return _none_after_next_month(view, R.NET_ELEMENT_END)


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
    """Where a person has several payments, each has a number and no two the same, as keys over arrays: (person,
    number's code) of those payments all distinct. :func:`_payments_numbered_by_value` is its reference."""
    payments = view.under(R.PAYMENT, R.INDIVIDUAL)
    if len(payments) < 2:
        return True
    person = view.parents[payments]
    several = np.bincount(person, minlength=len(view.kinds))[person] >= 2
    payments, person = payments[several], person[several]
    if not len(payments):
        return True
    instances, numbers = view.column(R.PAYMENT_NUMBER)
    codes: dict[str, int] = {}
    code = np.full(len(view.kinds), -1, dtype=np.int64)
    code[instances] = [codes.setdefault(number, len(codes)) for number in numbers]
    numbered = code[payments]
    if (numbered < 0).any():
        return False
    keys = person * len(codes) + numbered
    return len(np.unique(keys)) == len(keys)


def _payments_numbered_by_value(view: DeclarationColumns) -> bool:
    """The reference of :func:`_payments_numbered`: each person's payment numbers counted."""
    numbers = view.by_instance(R.PAYMENT_NUMBER)
    for payments in view.children(R.PAYMENT, R.INDIVIDUAL).values():
        if len(payments) < 2:
            continue
        given = Counter(numbers.get(p) for p in payments)
        if None in given or any(count > 1 for count in given.values()):
            return False
    return True
