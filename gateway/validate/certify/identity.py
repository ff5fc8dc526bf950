"""Certificates of the identity and value-format rules (gateway.validate.rules.identity, .formats; values checked
column by column: gateway.validate.columns)."""
from __future__ import annotations


import numpy as np

from gateway.parse import rubrics as R
from gateway.validate.certify.registry import Certifier, certifies
from gateway.validate.certify.views import DeclarationColumns


ALL_NINES = ("1999999999999", "2999999999999")


# --- identity (gateway.validate.rules.identity, .formats) -------------------------------------------------------

@certifies("DRM-ID-001")
def _identified(view: DeclarationColumns) -> bool:
    named = {i for rubric in (R.NIR, R.NTT) for i, value in view.by_instance(rubric).items() if value}
    return all(person in named for person in view.instances(R.INDIVIDUAL))


@certifies("DRM-ID-002")
def _no_all_nines(view: DeclarationColumns) -> bool:
    return not any(nir in ALL_NINES for nir in view.values_of(R.NIR))


@certifies("DRM-ID-003")
def _no_trailing_nines(view: DeclarationColumns) -> bool:
    return not any(len(nir) == 13 and nir.endswith("999999") for nir in view.values_of(R.NIR))


def _birth_year(birth: str) -> int | None:
    return int(birth[4:]) if len(birth) == 8 and birth[4:].isdigit() else None


@certifies("DRM-ID-004")
def _department_fits_the_year(view: DeclarationColumns) -> bool:
    nirs = {i: nir for i, nir in view.by_instance(R.NIR).items() if len(nir) == 13 and nir[5:7] in ("2A", "2B", "20", "96")}
    if not nirs:
        return True
    births = view.by_instance(R.BIRTH_DATE)
    for instance, nir in nirs.items():
        year = _birth_year(births.get(instance) or "")
        if year is None:
            continue
        department = nir[5:7]
        if (department in ("2A", "2B") and year < 1976) or (department == "20" and year >= 1976) \
                or (department == "96" and year >= 1968):
            return False
    return True


@certifies("DRM-ID-005")
def _birth_year_fits_the_nir(view: DeclarationColumns) -> bool:
    births = view.by_instance(R.BIRTH_DATE)
    for instance, nir in view.by_instance(R.NIR).items():
        if len(nir) != 13:
            continue
        year = _birth_year(births.get(instance) or "")
        if year is not None and nir[1:3].isdigit() and int(nir[1:3]) != year % 100:
            return False
    return True


def _distinct(view: DeclarationColumns, rubric: str) -> bool:
    """No value of ``rubric`` given twice in one declaration (of a group: within each of its declarations; the same
    person is often declared by two employers of one group)."""
    instances, values = view.column(rubric)
    given = [(member, value) for member, value in zip(view.members_of(instances), values) if value]
    return len(set(given)) == len(given)


@certifies("DRM-ID-006")
def _nirs_are_unique(view: DeclarationColumns) -> bool:
    return _distinct(view, R.NIR)


@certifies("DRM-ID-008")
def _ntts_are_unique(view: DeclarationColumns) -> bool:
    return _distinct(view, R.NTT)


@certifies("DRM-ID-007")
def _ntt_carries_the_siren(view: DeclarationColumns) -> bool:
    instances, ntts = view.column(R.NTT)
    return all(not siren or ntt[1:10] == siren
               for ntt, siren in zip(ntts, view.header_values(R.SIREN, instances)) if ntt)


@certifies("DRM-ID-011")
def _no_keyed_nir(view: DeclarationColumns) -> bool:
    return not any(len(nir) == 15 for nir in view.values_of(R.NIR))     # keyed NIRs are checked by the rule


# --- values checked column by column (gateway.validate.columns) -------------------------------------------------

def _failures(view: DeclarationColumns) -> set[tuple[str, bool]]:
    """(kind of failure, inside a person) of the declaration's failing values (gateway.validate.columns), the person
    found in the arrays."""
    found = view._failed
    if found is None:
        failing = view.failing_tokens()
        found = view._failed = set()
        if failing:
            tokens = [token for token, _ in failing]
            instances = np.searchsorted(view.heads, tokens, side="right") - 1
            in_person = (view.person_of()[instances] >= 0).tolist()
            found.update((kind, inside) for (_, reading), inside in zip(failing, in_person) for kind, _, _ in reading)
    return found


def _no_person_failure(kind: str) -> Certifier:
    def check(view: DeclarationColumns) -> bool:
        return (kind, True) not in _failures(view)
    return check


certifies("DRM-FMT-002")(_no_person_failure("formats"))
certifies("DRM-AMT-006")(_no_person_failure("amounts"))
certifies("DRM-PER-005")(_no_person_failure("dates"))
