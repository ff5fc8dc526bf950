"""Structure rules on a parsed declaration: norm version, known rubrics, nesting, declarant."""
from __future__ import annotations

from typing import Iterator

from gateway.parse import rubrics as R
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import Flow, Origin, Severity
from gateway.validate.registry import Finding, Target, rule


def _origin(decl: ParsedDeclaration, line: int | None = None) -> Origin:
    if line is None:
        return Origin(decl.file, decl.first_line, decl.last_line)
    return Origin(decl.file, line, line)


@rule("DRM-STR-005", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="La version de norme indiquée dans l'envoi (S10.G00.00.006) est absente ou n'est pas une version "
              "prise en charge (P24V01, P25V01, P26V01).",
      reference="CT DSN p.128, S10.G00.00.006", flows=(Flow.DSN,))
def norm_version_is_known(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.flow is Flow.DSN and decl.norm is None:
        yield Finding(_origin(decl), R.NORM_VERSION, "norm version missing or unsupported: expected P24V01-P26V01")


@rule("DRM-STR-006", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="La déclaration contient une rubrique qui n'existe pas dans la version de norme déclarée.",
      reference="CT DSN §3.2")
def rubrics_are_known(decl: ParsedDeclaration) -> Iterator[Finding]:
    for problem in decl.problems:
        if problem.kind == "unknown_rubric":
            yield Finding(_origin(decl, problem.line), problem.rubric,
                          f"rubric unknown to norm {decl.norm.version if decl.norm else '?'}")


@rule("DRM-STR-007", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Un bloc apparaît sans le bloc parent dont il dépend (par exemple un versement sans individu) : "
              "la structure de la déclaration est incohérente.",
      reference="CT DSN §3.2 p.77")
def blocks_have_their_parent(decl: ParsedDeclaration) -> Iterator[Finding]:
    for problem in decl.problems:
        if problem.kind == "orphan_block":
            yield Finding(_origin(decl, problem.line), problem.rubric,
                          "block without a preceding instance of its parent block")


@rule("DRM-STR-008", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="L'entreprise (S21.G00.06) ou l'établissement (S21.G00.11) déclarant n'est pas renseigné : "
              "on ne peut pas savoir qui déclare.",
      reference="CT DSN: S21.G00.06 et S21.G00.11 obligatoires (1..1)")
def declarant_is_identified(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.read and decl.norm is not None and decl.declarant_id is None:
        yield Finding(_origin(decl), R.COMPANY, "SIREN (S21.G00.06.001) or NIC (S21.G00.11.001) missing")
