"""Identity rules: NIR (CT controls on S21.G00.30.001), NTT, SIREN/SIRET check digits.

Check digits use python-stdnum (a kept library) rather than hand-written keys.
"""
from __future__ import annotations

import functools
from typing import Iterator

from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.records import Origin, Severity
from gateway.validate.registry import Finding, Target, rule


def _at(decl: ParsedDeclaration, person: BlockInstance, rubric: str) -> Origin:
    line = person.line_of(rubric)
    return Origin(decl.file, line, line)


def _nir13(person: BlockInstance) -> str | None:
    nir = person.get(R.NIR)
    return nir if nir and len(nir) == 13 else None


def _birth_year(person: BlockInstance) -> int | None:
    birth = person.get(R.BIRTH_DATE) or ""
    return int(birth[4:]) if len(birth) == 8 and birth[4:].isdigit() else None


@rule("DRM-ID-002", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le numéro de sécurité sociale déclaré est une valeur fictive (que des 9) refusée par la norme.",
      reference="CT DSN S21.G00.30.001 CCH-13")
def nir_is_not_all_nines(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    if _nir13(person) in ("1999999999999", "2999999999999"):
        yield Finding(_at(decl, person, R.NIR), R.NIR, "all-nines NIR: expected a real NIR or an NTT")


@rule("DRM-ID-003", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le numéro de sécurité sociale se termine par plus de cinq « 9 » : ce n'est pas un numéro attribué.",
      reference="CT DSN S21.G00.30.001 CCH-16")
def nir_has_few_trailing_nines(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    nir = _nir13(person)
    if nir and nir.endswith("999999") and nir not in ("1999999999999", "2999999999999"):
        yield Finding(_at(decl, person, R.NIR), R.NIR, "NIR ends with more than five 9: expected at most five")


@rule("DRM-ID-004", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le département de naissance inscrit dans le numéro de sécurité sociale ne correspond pas à l'année "
              "de naissance (2A/2B à partir de 1976, 20 avant 1976, 96 avant 1968).",
      reference="CT DSN S21.G00.30.001 CCH-11")
def nir_department_matches_birth_year(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    nir, year = _nir13(person), _birth_year(person)
    if not nir or year is None:
        return
    department = nir[5:7]
    wrong = ((department in ("2A", "2B") and year < 1976) or (department == "20" and year >= 1976)
             or (department == "96" and year >= 1968))
    if wrong:
        yield Finding(_at(decl, person, R.NIR), R.NIR, f"department code {department} with birth year {year}")


@rule("DRM-ID-005", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="L'année de naissance déclarée ne correspond pas à celle inscrite dans le numéro de sécurité sociale.",
      reference="CT DSN S21.G00.30.006 CCH-11")
def birth_year_matches_nir(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    nir, year = _nir13(person), _birth_year(person)
    if nir and year is not None and nir[1:3].isdigit() and int(nir[1:3]) != year % 100:
        yield Finding(_at(decl, person, R.BIRTH_DATE), R.BIRTH_DATE, "birth year differs from the NIR's year")


@rule("DRM-ID-006", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le même numéro de sécurité sociale apparaît pour plusieurs personnes dans la même déclaration.",
      reference="CT DSN S21.G00.30.001 CCH-14")
def nir_is_unique_in_declaration(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    yield from _unique(decl, person, R.NIR, "NIR")


@rule("DRM-ID-007", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le numéro technique temporaire (NTT) doit reprendre, en positions 2 à 10, le SIREN de l'entreprise.",
      reference="CT DSN S21.G00.30.020 CCH-13")
def ntt_carries_the_siren(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    ntt, siren = person.get(R.NTT), decl.value(R.SIREN)
    if ntt and siren and ntt[1:10] != siren:
        yield Finding(_at(decl, person, R.NTT), R.NTT, "NTT positions 2-10 differ from the SIREN")


@rule("DRM-ID-008", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Le même numéro technique temporaire (NTT) apparaît pour plusieurs personnes dans la déclaration.",
      reference="CT DSN S21.G00.30.020 CCH-14")
def ntt_is_unique_in_declaration(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    yield from _unique(decl, person, R.NTT, "NTT")


@functools.lru_cache(maxsize=1 << 14)
def siren_valid(siren: str) -> bool:
    """python-stdnum's SIREN key check (~10 µs a number), remembered: a declarant sends many declarations."""
    return stdnum_siren.is_valid(siren)


@functools.lru_cache(maxsize=1 << 14)
def siret_valid(siret: str) -> bool:
    """python-stdnum's SIRET key check, remembered (as :func:`siren_valid`)."""
    return stdnum_siret.is_valid(siret)


@rule("DRM-ID-009", family="identity", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Le numéro SIREN de l'entreprise ne respecte pas sa clé de contrôle : l'entreprise déclarante ne peut "
              "pas être identifiée.",
      reference="CT DSN S21.G00.06.001 CSL-11")
def siren_key_is_valid(decl: ParsedDeclaration) -> Iterator[Finding]:
    siren = decl.value(R.SIREN)
    if siren and len(siren) == 9 and siren.isdigit() and not siren_valid(siren):
        company = decl.first(R.COMPANY)
        line = company.line_of(R.SIREN) if company else decl.first_line
        yield Finding(Origin(decl.file, line, line), R.SIREN, "SIREN check digit (Luhn) is wrong")


@rule("DRM-ID-010", family="identity", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Le numéro SIRET de l'établissement (SIREN + NIC) ne respecte pas sa clé de contrôle.",
      reference="CT DSN S21.G00.11.001 (clé SIRET)")
def siret_key_is_valid(decl: ParsedDeclaration) -> Iterator[Finding]:
    siret = decl.declarant_id
    siren = decl.value(R.SIREN) or ""
    if siret and len(siret) == 14 and siret.isdigit() and siren_valid(siren) \
            and not siret_valid(siret):
        establishment = decl.first(R.ESTABLISHMENT)
        line = establishment.line_of(R.NIC) if establishment else decl.first_line
        yield Finding(Origin(decl.file, line, line), R.NIC, "SIRET check digit (Luhn) is wrong")


@rule("DRM-ID-011", family="identity", severity=Severity.PERSON, target=Target.PERSON,
      explain="Un numéro de sécurité sociale à 15 caractères a été fourni et sa clé ne correspond pas au numéro.",
      reference="Clé NIR : 97 - (numéro modulo 97)")
def nir_key_matches_when_given(decl: ParsedDeclaration, person: BlockInstance) -> Iterator[Finding]:
    nir = person.get(R.NIR)
    if nir and len(nir) == 15 and not stdnum_nir.is_valid(nir):
        yield Finding(_at(decl, person, R.NIR), R.NIR, "NIR key mismatch: expected 97 - (n mod 97)")


def _unique(decl: ParsedDeclaration, person: BlockInstance, rubric: str, what: str) -> Iterator[Finding]:
    value = person.get(rubric)
    if value and decl.value_counts(rubric)[value] > 1:
        yield Finding(_at(decl, person, rubric), rubric, f"{what} declared for several individuals")
