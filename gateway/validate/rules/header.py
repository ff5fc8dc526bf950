"""Declaration header rules: nature/type compatibilities and fraction (S20.G00.05, CCH-11…16)."""
from __future__ import annotations

from typing import Iterator

from gateway.parse import rubrics as R
from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.index import EnvoiIndex
from gateway.records import Flow, Origin, Severity
from gateway.validate.registry import Finding, Target, rule


def _at(decl: ParsedDeclaration, rubric: str) -> Origin:
    header = decl.header
    line = header.line_of(rubric) if header else decl.first_line
    return Origin(decl.file, line, line)


def _nature_type(decl: ParsedDeclaration) -> tuple[str, str]:
    return decl.value(R.NATURE) or "", decl.value(R.TYPE) or ""


@rule("DRM-DEC-001", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Le type « annule » (04) n'est possible que pour les signalements de fin de contrat, d'amorçage et "
              "les DSN de substitution (natures 07, 08 et 09).",
      reference="CT DSN S20.G00.05.002 CCH-13", flows=(Flow.DSN,))
def cancel_only_for_some_natures(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, type_ = _nature_type(decl)
    if type_ == "04" and nature not in ("07", "08", "09"):
        yield Finding(_at(decl, R.TYPE), R.TYPE, f"type 04 with nature {nature}: expected nature 07, 08 or 09")


@rule("DRM-DEC-002", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Les types « sans individu » (02 et 05) ne sont possibles que pour une DSN mensuelle (nature 01).",
      reference="CT DSN S20.G00.05.002 CCH-14", flows=(Flow.DSN,))
def without_individual_only_for_monthly(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, type_ = _nature_type(decl)
    if type_ in ("02", "05") and nature != "01":
        yield Finding(_at(decl, R.TYPE), R.TYPE, f"type {type_} with nature {nature}: expected nature 01")


@rule("DRM-DEC-003", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Un signalement d'amorçage des données variables (nature 08) ne peut pas être de type « annule et "
              "remplace » (03).",
      reference="CT DSN S20.G00.05.002 CCH-15", flows=(Flow.DSN,))
def no_replacement_of_seeding(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, type_ = _nature_type(decl)
    if type_ == "03" and nature == "08":
        yield Finding(_at(decl, R.TYPE), R.TYPE, "type 03 with nature 08: expected another type")


@rule("DRM-DEC-004", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Une déclaration normale ou « annule et remplace » (types 01 et 03) doit contenir au moins une "
              "personne.",
      reference="CT DSN S20.G00.05.002 CCH-16")
def normal_declaration_has_people(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, type_ = _nature_type(decl)
    if decl.read and type_ in ("01", "03") and decl.first(R.INDIVIDUAL) is None and decl.first(R.NON_SALARIED) is None:
        yield Finding(_at(decl, R.TYPE), R.TYPE, f"type {type_} without any S21.G00.30 individual")


@rule("DRM-DEC-005", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="L'identifiant de la déclaration annulée ou remplacée (S20.G00.05.006) n'est admis que pour les "
              "signalements de type 03 ou 04.",
      reference="CT DSN S20.G00.05.006 CCH-12 et tableau des usages", flows=(Flow.DSN,))
def replaced_id_only_where_allowed(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, type_ = _nature_type(decl)
    if decl.value(R.REPLACED_ID) is not None and (type_ not in ("03", "04") or nature in ("01", "09")):
        yield Finding(_at(decl, R.REPLACED_ID), R.REPLACED_ID,
                      f"replaced-declaration id with nature {nature} type {type_}: expected a signalement of type 03/04")


@rule("DRM-DEC-006", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Le numéro de fraction est incohérent : le numéro de la fraction ne peut pas dépasser le nombre "
              "total de fractions, et un signalement n'est jamais fractionné (11).",
      reference="CT DSN S20.G00.05.003", flows=(Flow.DSN,))
def fraction_is_coherent(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, _ = _nature_type(decl)
    fraction = decl.value(R.FRACTION) or ""
    if len(fraction) == 2 and fraction.isdigit() and "0" not in fraction:
        if int(fraction[0]) > int(fraction[1]):
            yield Finding(_at(decl, R.FRACTION), R.FRACTION, "fraction number above the number of fractions")
        elif nature in R.SIGNALEMENT_NATURES and fraction != "11":
            yield Finding(_at(decl, R.FRACTION), R.FRACTION, f"signalement with fraction {fraction}: expected 11")


@rule("DRM-DEC-007", family="declaration", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Le mois principal déclaré (S20.G00.05.005) est obligatoire pour une DSN mensuelle, une DSN de "
              "substitution et une déclaration PASRAU, et interdit dans un signalement.",
      reference="CT DSN S20.G00.05.005, tableau des usages")
def main_month_where_required(decl: ParsedDeclaration) -> Iterator[Finding]:
    nature, _ = _nature_type(decl)
    main = decl.value(R.MAIN_MONTH)
    if nature in R.RESOURCE_NATURES and main is None and decl.read and decl.header is not None:
        yield Finding(_at(decl, R.NATURE), R.MAIN_MONTH, f"nature {nature} without main month")
    elif nature in R.SIGNALEMENT_NATURES and main is not None:
        yield Finding(_at(decl, R.MAIN_MONTH), R.MAIN_MONTH, f"signalement (nature {nature}) with a main month")


@rule("DRM-ENV-001", family="declaration", severity=Severity.ENVOI, target=Target.ENVOI,
      explain="Le type de l'envoi (S10.G00.00.008) est incohérent : un envoi « néant » (02) ne doit contenir que des "
              "DSN mensuelles sans individu (types 02 ou 05), et inversement.",
      reference="CT DSN S10.G00.00.008 CCH-11")
def envoi_type_matches_its_declarations(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    declared = envoi.values.get(R.ENVOI_TYPE)
    if declared not in ("01", "02") or not envoi.declarations:
        return
    all_empty = all(d.nature == "01" and d.type in ("02", "05") for d in envoi.declarations)
    if (declared == "02") != all_empty:
        yield Finding(Origin(file, envoi.first_line, envoi.last_line), R.ENVOI_TYPE,
                      f"envoi type {declared}: expected {'02' if all_empty else '01'}")
