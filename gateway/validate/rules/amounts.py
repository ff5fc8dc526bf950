"""Amount and period rules on a person's payments (S21.G00.50 and children 51/56/58)."""
from __future__ import annotations

from typing import Iterator

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import Flow, Origin, Severity
from gateway.validate.columns import DATE_RUBRICS, date_does_not_exist, declaration_values, in_walk_order
from gateway.validate.registry import Finding, Target, rule
from gateway.values import cents, jjmmaaaa, mmaaaa_month, month_of, next_month_end

DSN_RESOURCES = ("01", "09")


def _at(decl: ParsedDeclaration, instance: BlockInstance, rubric: str) -> Origin:
    line = instance.line_of(rubric)
    return Origin(decl.file, line, line)


def _payments(person: BlockInstance) -> Iterator[BlockInstance]:
    return person.children_of(R.PAYMENT)


@rule("DRM-AMT-001", family="amounts", severity=Severity.WARNING, target=Target.PERSON,
      explain="Le montant du prélèvement à la source ne correspond pas au montant soumis au PAS multiplié par le "
              "taux (à 1 € près). Cette anomalie fiscale ne modifie pas les ressources retenues.",
      reference="CT DSN S21.G00.50.009 CCH-11")
def pas_amount_matches_base_and_rate(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for payment in _payments(person):
        base, amount, rate = cents(payment.get(R.PAS_BASE)), cents(payment.get(R.PAS_AMOUNT)), cents(payment.get(R.PAS_RATE))
        if None not in (base, amount, rate) and abs(amount * 10000 - base * rate) > 100 * 10000:
            yield Finding(_at(decl, payment, R.PAS_AMOUNT), R.PAS_AMOUNT, "PAS amount differs from base x rate by over 1 EUR")


@rule("DRM-AMT-002", family="amounts", severity=Severity.WARNING, target=Target.PERSON,
      explain="Avec le type de taux 99 (régularisation d'une année antérieure), le taux et le montant du "
              "prélèvement à la source doivent être nuls.",
      reference="CT DSN S21.G00.50.007 CCH-11")
def rate_type_99_has_no_rate(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for payment in _payments(person):
        if payment.get(R.PAS_RATE_TYPE) == "99" and (cents(payment.get(R.PAS_RATE)) or cents(payment.get(R.PAS_AMOUNT))):
            yield Finding(_at(decl, payment, R.PAS_RATE_TYPE), R.PAS_RATE_TYPE, "rate type 99 with a non-zero rate or PAS")


@rule("DRM-AMT-003", family="amounts", severity=Severity.WARNING, target=Target.PERSON,
      explain="Pour chaque contrat et chaque versement d'une DSN mensuelle, les rémunérations de types 001, 002, 003 "
              "et 010 doivent être déclarées.",
      reference="CT DSN S21.G00.51.011 CCH-11", flows=(Flow.DSN,))
def required_pay_types_present(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if decl.nature not in DSN_RESOURCES:
        return
    contracts = {c.get(R.CONTRACT_NUMBER) for c in person.children_of(R.CONTRACT) if c.get(R.CONTRACT_NUMBER)}
    for payment in _payments(person):
        declared = {(p.get(R.REMUNERATION_CONTRACT), p.get(R.REMUNERATION_TYPE)) for p in payment.children_of(R.REMUNERATION)}
        for contract in sorted(contracts):
            missing = [t for t in R.REQUIRED_PAY_TYPES if (contract, t) not in declared]
            if missing:
                yield Finding(_at(decl, payment, R.PAYMENT_DATE), R.REMUNERATION_TYPE,
                              f"pay types {', '.join(missing)} missing for a contract")


@rule("DRM-AMT-004", family="amounts", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le montant net social (bloc S21.G00.58 de type 03) est obligatoire dans les DSN mensuelles depuis "
              "janvier 2024 : sans lui, les ressources de ce mois pour le RSA et la prime d'activité sont inconnues.",
      reference="CT DSN S21.G00.50 CCH-14/CCH-15", flows=(Flow.DSN,))
def net_social_declared(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    main = decl.main_day
    if decl.nature != "01" or main is None or month_of(main) < R.NET_SOCIAL_MANDATORY_FROM:
        return
    for payment in _payments(person):
        if not any(e.get(R.NET_ELEMENT_TYPE) == R.NET_SOCIAL_TYPE for e in payment.children_of(R.NET_ELEMENT)):
            yield Finding(_at(decl, payment, R.PAYMENT_DATE), R.NET_ELEMENT_TYPE, "payment without net social amount")


@rule("DRM-AMT-005", family="amounts", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le montant net versé dépasse la rémunération brute déclarée pour le même versement, ce qui est "
              "impossible.",
      reference="CT DSN S21.G00.50.004", flows=(Flow.DSN,))
def net_paid_not_above_gross(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for payment in _payments(person):
        net = cents(payment.get(R.NET_PAID))
        gross = [cents(p.get(R.REMUNERATION_AMOUNT)) for p in payment.children_of(R.REMUNERATION)
                 if p.get(R.REMUNERATION_TYPE) == R.GROSS_TYPE]
        if net is not None and gross and None not in gross and net > 0 and net > sum(gross):
            yield Finding(_at(decl, payment, R.NET_PAID), R.NET_PAID, "net paid above gross pay (type 001)")


@rule("DRM-AMT-006", family="amounts", severity=Severity.PERSON, target=Target.PERSON,
      explain="Un montant n'est pas écrit comme la norme l'exige : point décimal, exactement deux décimales, pas de "
              "signe « + », et signe « - » seulement là où un montant négatif est permis.",
      reference="CT DSN §4 p.89-90 (montants)")
def amounts_are_well_formed(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if decl.norm is None:
        return
    if decl.columns is not None:
        for value in in_walk_order(declaration_values(decl).amounts.get(id(person), []), person.walk()):
            yield Finding(Origin(decl.file, value.line, value.line), value.rubric, f"amount {value.problem}")
        return
    for instance in person.walk():          # value by value: the reference, and declarations without columns
        for rubric, value in instance.values.items():
            spec = decl.norm.rubrics.get(rubric)
            if spec is None or not spec.datatype.is_amount:
                continue
            problem = spec.datatype.problem(value)
            if problem is not None:
                line = instance.line_of(rubric)
                yield Finding(Origin(decl.file, line, line), rubric, f"amount {problem}")


def _period_problems(decl: ParsedDeclaration, person: BlockInstance, block: str, start: str, end: str):
    for instance in person.walk():
        if instance.block != block:
            continue
        first, last = jjmmaaaa(instance.get(start)), jjmmaaaa(instance.get(end))
        if first and last and first > last:
            yield Finding(_at(decl, instance, end), end, "period ends before it starts")


@rule("DRM-PER-001", family="periods", severity=Severity.PERSON, target=Target.PERSON,
      explain="Une période déclarée se termine avant d'avoir commencé (date de fin antérieure à la date de début).",
      reference="CT DSN S21.G00.51.002, S21.G00.58.002")
def periods_end_after_start(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    yield from _period_problems(decl, person, R.REMUNERATION, R.REMUNERATION_START, R.REMUNERATION_END)
    yield from _period_problems(decl, person, R.NET_ELEMENT, R.NET_ELEMENT_START, R.NET_ELEMENT_END)


@rule("DRM-PER-002", family="periods", severity=Severity.PERSON, target=Target.PERSON,
      explain="La date de versement est postérieure au dernier jour du mois qui suit le mois principal déclaré.",
      reference="CT DSN S21.G00.50.001 CCH-13", flows=(Flow.DSN,))
def payment_date_within_declaration(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    main = decl.main_day
    if main is None:
        return
    limit = next_month_end(main)
    for payment in _payments(person):
        paid = jjmmaaaa(payment.get(R.PAYMENT_DATE))
        if paid is not None and paid > limit:
            yield Finding(_at(decl, payment, R.PAYMENT_DATE), R.PAYMENT_DATE,
                          "payment dated after the end of the month following the main month")


@rule("DRM-PER-003", family="periods", severity=Severity.PERSON, target=Target.PERSON,
      explain="La période de rattachement du montant net social doit avoir une date de début et une date de fin, "
              "dans la même année civile.",
      reference="CT DSN S21.G00.58.001/.002 CCH-11 à CCH-14")
def net_element_period_is_complete(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for instance in person.walk():
        if instance.block != R.NET_ELEMENT:
            continue
        start, end = instance.get(R.NET_ELEMENT_START), instance.get(R.NET_ELEMENT_END)
        if (start is None) != (end is None):
            yield Finding(_at(decl, instance, R.NET_ELEMENT_TYPE), R.NET_ELEMENT_START, "only one of start/end given")
        elif start and end and start[4:] != end[4:]:
            yield Finding(_at(decl, instance, R.NET_ELEMENT_END), R.NET_ELEMENT_END, "period spans two calendar years")


@rule("DRM-PER-004", family="periods", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le mois de l'erreur d'une régularisation de prélèvement à la source ne peut pas être postérieur au "
              "mois principal déclaré.",
      reference="CT DSN S21.G00.56.001 CCH-11")
def error_month_not_after_main_month(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    main = decl.main_day
    if main is None:
        return
    for instance in person.walk():
        error_month = mmaaaa_month(instance.get(R.ERROR_MONTH)) if instance.block == R.PAS_REGULARISATION else None
        if error_month and error_month > month_of(main):
            yield Finding(_at(decl, instance, R.ERROR_MONTH), R.ERROR_MONTH, "error month after the main month")


@rule("DRM-PER-005", family="periods", severity=Severity.PERSON, target=Target.PERSON,
      explain="Une date déclarée n'existe pas dans le calendrier (par exemple un 30 février).",
      reference="CT DSN §4 (dates JJMMAAAA)")
def dates_exist(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if decl.columns is not None:
        failed = declaration_values(decl).dates.get(id(person), [])
        for value in in_walk_order(failed, person.walk(), DATE_RUBRICS.index):
            yield Finding(_at(decl, value.instance, value.rubric), value.rubric, "date does not exist")
        return
    for instance in person.walk():          # value by value: the reference, and declarations without columns
        for rubric in DATE_RUBRICS:
            if date_does_not_exist(instance.get(rubric)):
                yield Finding(_at(decl, instance, rubric), rubric, "date does not exist")
