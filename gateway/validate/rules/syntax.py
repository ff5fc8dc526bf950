"""Syntax and encoding rules on a parsed declaration's lines (subject: ParsedDeclaration)."""
from __future__ import annotations

from typing import Iterator

from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.lines import Defect
from gateway.records import Origin, Severity
from gateway.validate.registry import Finding, Target, rule


def _lines_with(decl: ParsedDeclaration, defect: Defect) -> Iterator[tuple[int, str]]:
    for item in decl.defects:
        if item.defect is defect:
            yield item.line, item.rubric


@rule("DRM-SYN-001", family="syntax", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Une ligne ne respecte pas la forme « rubrique,'valeur' » de la norme : la déclaration ne peut "
              "pas être lue de façon sûre.",
      reference="CT DSN §3.4")
def lines_follow_the_grammar(decl: ParsedDeclaration) -> Iterator[Finding]:
    for line, _ in _lines_with(decl, Defect.MALFORMED):
        yield Finding(Origin(decl.file, line, line), detail="line is not Sxx.Gyy.zz.aaa,'value'")


@rule("DRM-SYN-002", family="syntax", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Une ligne dépasse 256 caractères, longueur maximale fixée par la norme.",
      reference="CT DSN §3.4")
def lines_are_not_too_long(decl: ParsedDeclaration) -> Iterator[Finding]:
    lines = set(decl.span.oversize_lines) | {line for line, _ in _lines_with(decl, Defect.TOO_LONG)}
    for line in sorted(lines):
        yield Finding(Origin(decl.file, line, line), detail="line longer than 256 characters")


@rule("DRM-ENC-001", family="encoding", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Une ligne contient des caractères de contrôle ou binaires interdits par la norme "
              "(jeu de caractères ISO 8859-1).",
      reference="CT DSN §3.5")
def lines_use_allowed_characters(decl: ParsedDeclaration) -> Iterator[Finding]:
    lines = set(decl.span.binary_lines) | {line for line, _ in _lines_with(decl, Defect.FORBIDDEN_BYTES)}
    for line in sorted(lines):
        yield Finding(Origin(decl.file, line, line), detail="control or binary bytes: expected Latin-1 text")


@rule("DRM-ENC-002", family="encoding", severity=Severity.WARNING, target=Target.DECLARATION,
      explain="Le fichier semble avoir été converti en UTF-8 puis relu en ISO 8859-1 : des caractères "
              "accentués sont altérés. Les montants restent lisibles.",
      reference="CT DSN §3.5")
def values_are_not_mangled(decl: ParsedDeclaration) -> Iterator[Finding]:
    for line, rubric in _lines_with(decl, Defect.MANGLED_UTF8):
        yield Finding(Origin(decl.file, line, line), rubric, "UTF-8 byte sequence in a Latin-1 value")
