"""Certificates of the block tree's rules (gateway.validate.rules.structure) and of the lines, rubrics and header
(rules.syntax, .structure, .header, .identity, .formats)."""
from __future__ import annotations

import functools

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.norm import NormCatalogue
from gateway.validate.rules.identity import siren_valid, siret_valid
from gateway.validate.rules.structure import PLATFORM, READ_OR_CORE
from gateway.validate.certify.registry import certifies
from gateway.validate.certify.views import DeclarationColumns
from gateway.validate.certify.identity import _failures


# --- the block tree (gateway.validate.rules.structure), over the instance arrays -------------------------------

def _children_mask(view: DeclarationColumns) -> np.ndarray:
    return view.parents >= 0


@certifies("DRM-STR-009")
def _blocks_within_limits(view: DeclarationColumns) -> bool:
    norm, child = view.norm, _children_mask(view)
    if not child.any():
        return True
    limits = np.array([spec.max_occurs if (spec := norm.blocks.get(name)) is not None and spec.max_occurs is not None
                       else np.iinfo(np.int64).max for name in view.names], dtype=np.int64)
    size = len(view.names)
    pairs, counts = np.unique(view.parents[child] * size + view.kinds[child], return_counts=True)
    return bool((counts <= limits[pairs % size]).all())


@functools.lru_cache(maxsize=64)
def _mandatory(norm: NormCatalogue, nature: str) -> dict[str, tuple[str, ...]]:
    """block -> the child blocks DRM-STR-010 requires under each of its instances, for a nature."""
    allowed = norm.natures.get(nature)
    found = {name: tuple(spec.id for spec in children if spec.min_occurs > 0 and spec.id in READ_OR_CORE
                         and (allowed is None or spec.id in allowed))
             for name, children in norm.children.items()}
    return {name: required for name, required in found.items() if required}


@certifies("DRM-STR-010")
def _mandatory_blocks_present(view: DeclarationColumns) -> bool:
    """Every instance of a block holds each child block the norm requires under it, over arrays: for each required
    child block, the instances that have one marked from its instances' parents, all holders among them.
    :func:`_mandatory_blocks_present_by_value` is its reference."""
    if view.nature != R.DSN_MONTHLY:
        return True
    mandatory = _mandatory(view.norm, view.nature)
    children = None
    for name in view.names:
        required = mandatory.get(name)
        if not required:
            continue
        if children is None:
            child = _children_mask(view)
            children = view.parents[child], view.kinds[child]
        holders = view.kinds == view.kind(name)
        for block in required:
            kind = view.kind(block)
            if kind is None:
                return False
            has = np.zeros(len(view.kinds), dtype=bool)
            has[children[0][children[1] == kind]] = True
            if not has[holders].all():
                return False
    return True


def _mandatory_blocks_present_by_value(view: DeclarationColumns) -> bool:
    """The reference of :func:`_mandatory_blocks_present`: (parent, block) of every child instance in a set."""
    if view.nature != R.DSN_MONTHLY:
        return True
    mandatory = _mandatory(view.norm, view.nature)
    present = None
    size = len(view.names)
    for name in view.names:
        required = mandatory.get(name)
        if not required:
            continue
        if present is None:            # (parent, block) of every child instance, as one number
            child = _children_mask(view)
            present = set((view.parents[child] * size + view.kinds[child]).tolist())
        holders = (np.flatnonzero(view.kinds == view.kind(name)) * size).tolist()
        for block in required:
            kind = view.kind(block)
            if kind is None or not all(holder + kind in present for holder in holders):
                return False
    return True


@certifies("DRM-STR-011")
def _blocks_of_the_nature(view: DeclarationColumns) -> bool:
    norm = view.norm
    allowed = norm.natures.get(view.nature)
    return not allowed or not any(
        (spec := norm.blocks.get(name)) is not None and spec.parent is not None and name not in allowed
        and name not in PLATFORM for name in view.names)


@certifies("DRM-STR-012")
def _blocks_in_norm_order(view: DeclarationColumns) -> bool:
    """Per parent, its children in document order: none of a block the norm places before one already seen, but
    a repeat of the block just before it (blocks the norm does not know are passed over)."""
    norm = view.norm
    orders = np.array([spec.order if (spec := norm.blocks.get(name)) is not None else np.nan for name in view.names])
    known = _children_mask(view)
    known[known] = ~np.isnan(orders[view.kinds[known]])
    chosen = np.flatnonzero(known)
    if len(chosen) < 2:
        return True
    by_parent = np.argsort(view.parents[chosen], kind="stable")     # document order within each parent
    parents, kinds = view.parents[chosen][by_parent], view.kinds[chosen][by_parent]
    order = orders[kinds]
    first = np.empty(len(parents), dtype=bool)
    first[0], first[1:] = True, parents[1:] != parents[:-1]
    group = np.cumsum(first) - 1
    span = order.max() - order.min() + 1
    running = np.maximum.accumulate(order - order.min() + group * span) - group * span + order.min()
    highest = np.empty(len(order))
    highest[0], highest[1:] = -np.inf, running[:-1]
    highest[first] = -np.inf
    previous = np.empty(len(kinds), dtype=np.int64)
    previous[0], previous[1:] = -1, kinds[:-1]
    previous[first] = -1
    return not ((order < highest) & (kinds != previous)).any()


# --- lines, rubrics and the declaration's header (rules.syntax, .structure, .header, .identity, .formats) -------
# The header values are read as the rules read them (ParsedDeclaration.value: the first instance of the block in
# the tree's walk), from the arrays (DeclarationColumns.first_value).

def _no_line_defect(view: DeclarationColumns) -> bool:
    decl = view.decl
    return not decl.defects and not decl.span.oversize_lines and not decl.span.binary_lines


for _rule_id in ("DRM-SYN-001", "DRM-SYN-002", "DRM-ENC-001", "DRM-ENC-002"):
    certifies(_rule_id)(_no_line_defect)


@certifies("DRM-STR-006")
@certifies("DRM-STR-007")
def _no_structure_problem(view: DeclarationColumns) -> bool:
    return not view.decl.problems


@certifies("DRM-STR-005")
def _norm_known(view: DeclarationColumns) -> bool:
    return view.norm is not None


@certifies("DRM-STR-008")
def _declarant_known(view: DeclarationColumns) -> bool:
    return view.declarant_id is not None


@certifies("DRM-STR-013")
def _norm_of_the_month(view: DeclarationColumns) -> bool:
    version, main = view.decl.norm_version or "", view.first_value(R.MAIN_MONTH) or ""
    return view.nature != "01" or len(main) != 8 or not main[4:].isdigit() or version[1:3] == main[6:8]


def _nature_type(view: DeclarationColumns) -> tuple[str, str]:
    return view.first_value(R.NATURE) or "", view.first_value(R.TYPE) or ""


@certifies("DRM-DEC-001")
@certifies("DRM-DEC-002")
@certifies("DRM-DEC-003")
@certifies("DRM-DEC-005")
def _nature_and_type_agree(view: DeclarationColumns) -> bool:
    nature, kind = _nature_type(view)
    replaced = view.first_value(R.REPLACED_ID) is not None and (kind not in ("03", "04") or nature in ("01", "09"))
    return not (kind == "04" and nature not in ("07", "08", "09") or kind in ("02", "05") and nature != "01"
                or kind == "03" and nature == "08" or replaced)


@certifies("DRM-DEC-004")
def _people_where_required(view: DeclarationColumns) -> bool:
    _, kind = _nature_type(view)
    return kind not in ("01", "03") or view.has_block(R.INDIVIDUAL) or view.has_block(R.NON_SALARIED)


@certifies("DRM-DEC-006")
def _fraction_coherent(view: DeclarationColumns) -> bool:
    nature, _ = _nature_type(view)
    fraction = view.first_value(R.FRACTION) or ""
    if len(fraction) != 2 or not fraction.isdigit() or "0" in fraction:
        return True
    return int(fraction[0]) <= int(fraction[1]) and (nature not in R.SIGNALEMENT_NATURES or fraction == "11")


@certifies("DRM-DEC-007")
def _main_month_where_required(view: DeclarationColumns) -> bool:
    nature, _ = _nature_type(view)
    main = view.first_value(R.MAIN_MONTH)
    if nature in R.RESOURCE_NATURES:
        return main is not None or not view.has_header
    return nature not in R.SIGNALEMENT_NATURES or main is None


@certifies("DRM-ID-009")
@certifies("DRM-ID-010")
def _siren_and_siret_keys(view: DeclarationColumns) -> bool:
    siren, siret = view.first_value(R.SIREN) or "", view.declarant_id or ""
    if len(siren) != 9 or not siren.isdigit():
        return True                           # no SIREN to check; a SIRET is only checked with a valid SIREN
    return siren_valid(siren) and (len(siret) != 14 or not siret.isdigit() or siret_valid(siret))


@certifies("DRM-FMT-001")
def _header_values_formatted(view: DeclarationColumns) -> bool:
    failures = _failures(view)
    return ("formats", False) not in failures and ("amounts", False) not in failures


# Certifiers that are a condition on each block instance or person alone, given the declaration's nature and main
# month at most: what holds for declarations read together holds for each of them (GroupColumns). True: reads the
