"""Format of every rubric value, driven by the norm catalogue of the declared version."""
from __future__ import annotations

from typing import Iterator

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.norm import NormCatalogue
from gateway.records import Origin, Severity
from gateway.validate.columns import FailedValue, declaration_values, in_walk_order
from gateway.validate.registry import Finding, Target, rule


def _format_findings(file: str, norm: NormCatalogue, instances: Iterator[BlockInstance], *,
                     skip_amounts: bool = False) -> Iterator[Finding]:
    """Value by value: the reference, and the path for a declaration without columns."""
    for instance in instances:
        for rubric, value in instance.values.items():
            spec = norm.rubrics.get(rubric)
            if spec is None:
                continue
            if skip_amounts and spec.datatype.is_amount:
                continue                                   # amounts are DRM-AMT-006
            problem = spec.datatype.problem(value)
            if problem is not None:
                line = instance.line_of(rubric)
                yield Finding(Origin(file, line, line), rubric, f"{problem} ({spec.datatype.id})")


def _outside_people(roots: list[BlockInstance]) -> Iterator[BlockInstance]:
    stack = list(reversed(roots))
    while stack:
        instance = stack.pop()
        if instance.block == R.INDIVIDUAL:
            continue
        yield instance
        stack.extend(reversed(instance.children))


@rule("DRM-FMT-001", family="format", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Une rubrique de l'en-tête de la déclaration (déclaration, entreprise, établissement) n'a pas le "
              "format attendu par la norme (longueur, format ou liste de valeurs).",
      reference="CT DSN §4 (CSL), types de données")
def header_values_have_their_format(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.norm is None:
        return
    if decl.columns is None:
        yield from _format_findings(decl.file, decl.norm, _outside_people(decl.roots))
        return
    checked = declaration_values(decl)
    failed = checked.formats.get(None, []) + checked.amounts.get(None, [])
    yield from _findings(decl, in_walk_order(failed, _outside_people(decl.roots)))


def _findings(decl: ParsedDeclaration, failed: list[FailedValue]) -> Iterator[Finding]:
    for value in failed:
        yield Finding(Origin(decl.file, value.line, value.line), value.rubric, f"{value.problem} ({value.datatype})")


@rule("DRM-FMT-002", family="format", severity=Severity.PERSON, target=Target.PERSON,
      explain="Une rubrique concernant un salarié ou un bénéficiaire (hors montants) n'a pas le format attendu par la "
              "norme (longueur, format ou liste de valeurs) : ses données de ce mois sont écartées.",
      reference="CT DSN §4 (CSL), types de données")
def person_values_have_their_format(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if decl.norm is None:
        return
    if decl.columns is None:
        yield from _format_findings(decl.file, decl.norm, person.walk(), skip_amounts=True)
        return
    yield from _findings(decl, in_walk_order(declaration_values(decl).formats.get(id(person), []), person.walk()))


@rule("DRM-ID-001", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="La personne n'est identifiée ni par son numéro de sécurité sociale (NIR) ni par un numéro "
              "technique temporaire (NTT).",
      reference="CT DSN S21.G00.30.020 CCH-12")
def person_is_identified(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if not person.get(R.NIR) and not person.get(R.NTT):
        yield Finding(Origin(decl.file, person.first_line, person.first_line), R.NIR,
                      "neither NIR (S21.G00.30.001) nor NTT (S21.G00.30.020) declared")
