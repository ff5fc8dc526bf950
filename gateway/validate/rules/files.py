"""Rules on whole files and envois (subjects: FileIndex, EnvoiIndex)."""
from __future__ import annotations

from typing import Iterator

from gateway.parse import rubrics as R
from gateway.parse.index import EnvoiIndex, FileIndex
from gateway.records import Origin, Severity
from gateway.validate.registry import Finding, Target, rule


def _whole(index: FileIndex) -> Origin:
    return Origin(index.name, 1 if index.lines else 0, index.lines)


@rule("DRM-FIL-001", family="file", severity=Severity.FILE, target=Target.FILE,
      explain="Le fichier ne contient aucun envoi DSN ou PASRAU reconnaissable (bloc S10 absent) : "
              "il n'a pas pu être lu.",
      reference="CT DSN §3.1")
def file_has_an_envoi(index: FileIndex) -> Iterator[Finding]:
    if index.lines and not index.envois and not index.refused:
        yield Finding(_whole(index), detail="no S10 envoi header found: expected a DSN/PASRAU text file")


@rule("DRM-FIL-002", family="file", severity=Severity.WARNING, target=Target.FILE,
      explain="Le fichier reçu est vide.")
def file_is_not_empty(index: FileIndex) -> Iterator[Finding]:
    if index.size == 0 and not index.refused:
        yield Finding(Origin(index.name, 0, 0), detail="empty file: expected at least one envoi")


@rule("DRM-FIL-003", family="file", severity=Severity.LINE, target=Target.FILE,
      explain="Des lignes se trouvent en dehors de tout envoi (avant le bloc S10 ou après le bloc S90) : "
              "elles ont été écartées.",
      reference="CT DSN §3.1")
def lines_belong_to_an_envoi(index: FileIndex) -> Iterator[Finding]:
    if index.envois:
        for span in index.orphans:
            yield Finding(Origin(index.name, span.first_line, span.last_line),
                          detail=f"{span.lines} line(s) outside any S10…S90 envoi")


@rule("DRM-FIL-004", family="file", severity=Severity.WARNING, target=Target.FILE,
      explain="La dernière ligne du fichier n'est pas terminée par un saut de ligne : le fichier a pu être "
              "tronqué.",
      reference="CT DSN §3.4")
def file_ends_with_newline(index: FileIndex) -> Iterator[Finding]:
    if index.size and index.ends_without_newline:
        yield Finding(Origin(index.name, index.lines, index.lines), detail="no line end after the last line")


@rule("DRM-FIL-005", family="file", severity=Severity.FILE, target=Target.FILE,
      explain="Le nom du fichier contient des caractères illisibles (il n'est pas écrit en UTF-8) : le fichier a "
              "été mis de côté sans être lu. Renommez-le avec des lettres, chiffres, points et tirets, puis "
              "déposez-le à nouveau.")
def file_name_is_readable(index: FileIndex) -> Iterator[Finding]:
    if index.refused == "NAME":
        yield Finding(_whole(index), detail="file name is not UTF-8 text: expected a readable name")


@rule("DRM-FIL-006", family="file", severity=Severity.FILE, target=Target.FILE,
      explain="Le fichier est un lien symbolique qui mène hors du dossier de dépôt : il n'a pas été lu. Déposez "
              "le fichier lui-même dans le dossier.")
def file_is_inside_its_folder(index: FileIndex) -> Iterator[Finding]:
    if index.refused == "LINK":
        yield Finding(Origin(index.name, 0, 0), detail="symbolic link out of the input folder: not followed")


@rule("DRM-ENV-002", family="envoi", severity=Severity.WARNING, target=Target.ENVOI,
      explain="Cet envoi est un envoi de test (S10.G00.00.005 = 01) : ses déclarations ont été contrôlées et les "
              "anomalies sont signalées, mais aucune ressource n'est publiée ni enregistrée.",
      reference="CT DSN S10.G00.00.005")
def envoi_is_not_a_test(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    if envoi.values.get(R.TEST_ENVOI) == "01":
        yield Finding(_envoi_origin(file, envoi), R.TEST_ENVOI, "test envoi: checked and reported, not published")


def _envoi_origin(file: str, envoi: EnvoiIndex) -> Origin:
    return Origin(file, envoi.first_line, envoi.last_line)


def _footer_origin(file: str, envoi: EnvoiIndex) -> Origin:
    footer = envoi.footer
    return Origin(file, footer.first_line, footer.last_line) if footer else _envoi_origin(file, envoi)


@rule("DRM-STR-001", family="structure", severity=Severity.ENVOI, target=Target.ENVOI,
      explain="L'envoi n'est pas terminé par le bloc de totalisation S90 : le fichier est incomplet ou "
              "tronqué, ses déclarations ne peuvent pas être prises en compte.",
      reference="CT DSN §3.1, S90.G00.90")
def envoi_has_a_total(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    if envoi.closed_by != "S90":
        yield Finding(_envoi_origin(file, envoi), R.TOTAL,
                      f"envoi ended by {envoi.closed_by} without S90: expected an S90.G00.90 block")


@rule("DRM-STR-002", family="structure", severity=Severity.ENVOI, target=Target.ENVOI,
      explain="Le nombre total de rubriques indiqué en S90.G00.90.001 ne correspond pas au nombre de lignes "
              "de l'envoi : l'envoi est incomplet ou altéré.",
      reference="CT DSN p.355, S90.G00.90.001")
def envoi_rubric_total_matches(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    declared = envoi.values.get(R.TOTAL_RUBRICS)
    if envoi.closed_by == "S90" and declared is not None and declared.isdigit() and int(declared) != envoi.lines:
        yield Finding(_footer_origin(file, envoi), R.TOTAL_RUBRICS,
                      f"total {int(declared)} declared: expected {envoi.lines} rubric lines")
    elif envoi.closed_by == "S90" and (declared is None or not declared.isdigit()):
        yield Finding(_footer_origin(file, envoi), R.TOTAL_RUBRICS, "total missing or not a number")


@rule("DRM-STR-003", family="structure", severity=Severity.ENVOI, target=Target.ENVOI,
      explain="Le nombre de déclarations indiqué en S90.G00.90.002 ne correspond pas au nombre de "
              "déclarations présentes dans l'envoi.",
      reference="CT DSN p.355, S90.G00.90.002")
def envoi_declaration_total_matches(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    declared = envoi.values.get(R.TOTAL_DECLARATIONS)
    if envoi.closed_by == "S90" and declared is not None and declared.isdigit() \
            and int(declared) != len(envoi.declarations):
        yield Finding(_footer_origin(file, envoi), R.TOTAL_DECLARATIONS,
                      f"{int(declared)} declarations announced: expected {len(envoi.declarations)}")


@rule("DRM-STR-004", family="structure", severity=Severity.ENVOI, target=Target.ENVOI,
      explain="L'envoi ne contient aucune déclaration (bloc S20.G00.05 absent).",
      reference="CT DSN §3.1")
def envoi_has_declarations(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    if not envoi.declarations:
        yield Finding(_envoi_origin(file, envoi), R.DECLARATION, "no S20.G00.05 declaration in the envoi")


@rule("DRM-SYN-003", family="syntax", severity=Severity.ENVOI, target=Target.ENVOI,
      explain="L'en-tête ou le pied de l'envoi contient une ligne illisible (trop longue ou avec des "
              "caractères binaires).",
      reference="CT DSN §3.4-3.5")
def envoi_header_is_readable(file: str, envoi: EnvoiIndex) -> Iterator[Finding]:
    for line in sorted(set(envoi.oversize_lines) | set(envoi.binary_lines)):
        yield Finding(Origin(file, line, line), detail="unreadable line in envoi header or footer: "
                                                      "expected at most 256 Latin-1 characters")
