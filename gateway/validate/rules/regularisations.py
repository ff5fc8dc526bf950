"""The cahier technique's controls on what a DSN says a person was paid, beyond formats: withholding-tax
régularisations (S21.G00.56 CCH-11 to CCH-27), the period of a net-social item (S21.G00.58.002 CCH-12), the
contract a remuneration names (S21.G00.51.010 CCH-11), payment numbers (S21.G00.50.003 CCH-11/12) and the
dates that cannot lie after the declared month (CT §4.4.12). Each is a blocking control of the norm (the
person's data for the declaration is taken out) unless the norm calls it non-blocking (a warning)."""
from __future__ import annotations

from collections import Counter
from typing import Iterator

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import Flow, Origin, Severity
from gateway.validate.registry import Finding, Target, rule
from gateway.values import cents, jjmmaaaa, mmaaaa_month, month_end, next_month_end

MONTHLY = ("01", "09")                      # DSN mensuelle and DSN de substitution
# S21.G00.56.002 -> the rubrics the type requires (CCH-11, -12, -13, -26) and forbids (CCH-15, -18)
REQUIRED = {"01": ("003", "006", "010"), "02": ("005", "015"), "03": ("003", "006", "010"), "04": ("003", "010")}
FORBIDDEN = {"01": ("004", "005", "015"), "03": ("004", "005", "015"), "04": ("004", "005", "015"),
             "02": ("003", "006", "008", "009", "010")}


def _at(decl: ParsedDeclaration, instance: BlockInstance, rubric: str) -> Origin:
    line = instance.line_of(rubric)
    return Origin(decl.file, line, line)


def _regularisations(person: BlockInstance) -> Iterator[BlockInstance]:
    return (i for i in person.walk() if i.block == R.PAS_REGULARISATION)


@rule("DRM-REG-001", family="regularisations", severity=Severity.PERSON, target=Target.PERSON,
      explain="Une régularisation de prélèvement à la source (bloc S21.G00.56) n'a pas les montants que son type "
              "d'erreur exige : par exemple une rectification de la rémunération nette fiscale (type 01) sans l'écart "
              "de rémunération, le taux du mois de l'erreur ou l'écart du montant soumis au prélèvement.",
      reference="CT DSN S21.G00.56.002 CCH-11, CCH-12, CCH-13, CCH-26", flows=(Flow.DSN,))
def regularisation_has_what_its_type_requires(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for regul in _regularisations(person):
        missing = [n for n in REQUIRED.get(regul.get(R.ERROR_TYPE) or "", ()) if not regul.get(R.REGUL[n])]
        if missing:
            yield Finding(_at(decl, regul, R.ERROR_TYPE), R.ERROR_TYPE,
                          f"type {regul.get(R.ERROR_TYPE)} without S21.G00.56.{'/.'.join(missing)}")


@rule("DRM-REG-002", family="regularisations", severity=Severity.PERSON, target=Target.PERSON,
      explain="Une régularisation de prélèvement à la source contient un montant que son type d'erreur interdit : "
              "par exemple un taux rectifié dans une rectification de rémunération (type 01, 03 ou 04), ou un écart "
              "de rémunération dans une rectification de taux (type 02).",
      reference="CT DSN S21.G00.56.002 CCH-15, CCH-18", flows=(Flow.DSN,))
def regularisation_has_nothing_its_type_forbids(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for regul in _regularisations(person):
        for n in FORBIDDEN.get(regul.get(R.ERROR_TYPE) or "", ()):
            if regul.get(R.REGUL[n]) is not None:
                yield Finding(_at(decl, regul, R.REGUL[n]), R.REGUL[n],
                              f"S21.G00.56.{n} forbidden with error type {regul.get(R.ERROR_TYPE)}")


@rule("DRM-REG-003", family="regularisations", severity=Severity.PERSON, target=Target.PERSON,
      explain="Dans un cas d'indu (type d'erreur 03), l'écart de rémunération nette fiscale et l'écart du montant "
              "soumis au prélèvement à la source doivent être négatifs ou nuls ; sans prélèvement (type 04), le "
              "montant de la régularisation du prélèvement doit être 0.00.",
      reference="CT DSN S21.G00.56.002 CCH-14, CCH-27", flows=(Flow.DSN,))
def regularisation_signs_follow_its_type(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    for regul in _regularisations(person):
        kind = regul.get(R.ERROR_TYPE)
        if kind == "03":
            for n in ("003", "010"):
                amount = cents(regul.get(R.REGUL[n]))
                if amount is not None and amount > 0:
                    yield Finding(_at(decl, regul, R.REGUL[n]), R.REGUL[n], f"positive S21.G00.56.{n} with type 03")
        elif kind == "04" and regul.get(R.REGUL_PAS_AMOUNT) not in (None, "0.00"):
            yield Finding(_at(decl, regul, R.REGUL_PAS_AMOUNT), R.REGUL_PAS_AMOUNT,
                          "type 04 (no withholding) with a withholding amount other than 0.00")


@rule("DRM-REG-004", family="regularisations", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le mois de l'erreur d'une régularisation de rémunération ou de taux ne peut pas appartenir à une "
              "année antérieure à celle du mois déclaré, sauf en janvier, qui ne peut régulariser que l'année "
              "précédente : le mois ainsi déclaré n'est pas retenu.",
      reference="CT DSN S21.G00.56.002 CCH-16, CCH-17", flows=(Flow.DSN,))
def regularisation_stays_in_its_tax_year(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    main = decl.main_day
    if main is None:
        return
    for regul in _regularisations(person):
        error_month = mmaaaa_month(regul.get(R.ERROR_MONTH))
        if regul.get(R.ERROR_TYPE) not in ("01", "02") or error_month is None:
            continue
        year = int(error_month[:4])
        if (main.month == 1 and year != main.year - 1) or (main.month != 1 and year < main.year):
            yield Finding(_at(decl, regul, R.ERROR_MONTH), R.ERROR_MONTH,
                          f"error month {error_month} outside the tax year the main month allows")


@rule("DRM-PER-006", family="periods", severity=Severity.PERSON, target=Target.PERSON,
      explain="La période de rattachement d'un montant net social se termine après le dernier jour du mois qui "
              "suit le mois déclaré : un montant ne peut pas être rattaché à l'avenir.",
      reference="CT DSN S21.G00.58.002 CCH-12", flows=(Flow.DSN,))
def net_element_period_not_in_the_future(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    main = decl.main_day
    if main is None:
        return
    limit = next_month_end(main)
    for element in person.walk():
        end = jjmmaaaa(element.get(R.NET_ELEMENT_END)) if element.block == R.NET_ELEMENT else None
        if end is not None and end > limit:
            yield Finding(_at(decl, element, R.NET_ELEMENT_END), R.NET_ELEMENT_END,
                          "net-social period ends after the month following the main month")


@rule("DRM-PER-007", family="periods", severity=Severity.WARNING, target=Target.PERSON,
      explain="Un contrat commence, ou une période de paie se termine, après le dernier jour du mois déclaré : un "
              "fait déjà survenu ne peut pas être daté dans l'avenir (contrôle non bloquant de la norme). Le montant "
              "est retenu mais peut être corrigé.",
      reference="CT DSN §4.4.12 (S21.G00.40.001, S21.G00.51.002)", flows=(Flow.DSN,))
def facts_not_dated_after_the_month(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    main = decl.main_day
    if main is None or decl.nature not in MONTHLY:
        return
    limit = month_end(main)
    for instance in person.walk():
        rubric = {R.CONTRACT: R.CONTRACT_START, R.REMUNERATION: R.REMUNERATION_END}.get(instance.block)
        day = jjmmaaaa(instance.get(rubric)) if rubric else None
        if day is not None and day > limit:
            yield Finding(_at(decl, instance, rubric), rubric, "date after the last day of the main month")


@rule("DRM-CTR-001", family="contracts", severity=Severity.PERSON, target=Target.PERSON,
      explain="Une rémunération est déclarée pour un numéro de contrat qui ne figure dans aucun contrat de la "
              "personne : on ne peut pas savoir à quel contrat elle se rapporte.",
      reference="CT DSN S21.G00.51.010 CCH-11", flows=(Flow.DSN,))
def remuneration_names_a_declared_contract(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if decl.nature not in MONTHLY:
        return
    contracts = {c.get(R.CONTRACT_NUMBER) for c in person.children_of(R.CONTRACT)}
    for instance in person.walk():
        number = instance.get(R.REMUNERATION_CONTRACT) if instance.block == R.REMUNERATION else None
        if number is not None and number not in contracts:
            yield Finding(_at(decl, instance, R.REMUNERATION_CONTRACT), R.REMUNERATION_CONTRACT,
                          "remuneration for a contract number no contract block declares")


@rule("DRM-CTR-002", family="contracts", severity=Severity.PERSON, target=Target.PERSON,
      explain="Plusieurs versements sont déclarés pour la même personne sans numéro de versement distinct : on "
              "ne peut pas les distinguer lors d'une correction.",
      reference="CT DSN S21.G00.50.003 CCH-11, CCH-12", flows=(Flow.DSN,))
def payments_are_numbered(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    payments = list(person.children_of(R.PAYMENT))
    if len(payments) < 2:
        return
    numbers = Counter(p.get(R.PAYMENT_NUMBER) for p in payments)
    for payment in payments:
        number = payment.get(R.PAYMENT_NUMBER)
        if number is None or numbers[number] > 1:
            yield Finding(_at(decl, payment, R.PAYMENT_DATE), R.PAYMENT_NUMBER,
                          "payment number missing or repeated among the person's payments")
