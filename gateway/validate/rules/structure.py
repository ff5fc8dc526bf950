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


@rule("DRM-STR-013", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="La version de norme de l'envoi ne correspond pas à l'année du mois déclaré : une DSN mensuelle d'un "
              "mois de 2025 s'écrit dans la norme P25V01, d'un mois de 2026 dans la norme P26V01. Les montants "
              "ne peuvent pas être lus avec certitude.",
      reference="CT DSN S10.G00.00.006 (une version de norme par année de mois principal déclaré)", flows=(Flow.DSN,))
def norm_version_matches_the_month(decl: ParsedDeclaration) -> Iterator[Finding]:
    version, main = decl.norm_version or "", decl.value(R.MAIN_MONTH) or ""
    if decl.norm is None or decl.nature != "01" or len(main) != 8 or not main[4:].isdigit():
        return
    if version[1:3] != main[6:8]:
        yield Finding(_origin(decl), R.NORM_VERSION, f"norm {version} for a month of {main[4:]}: expected "
                                                     f"P{main[6:8]}V01")


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


def _children_by_block(instance) -> dict[str, list]:
    groups: dict[str, list] = {}
    for child in instance.children:
        groups.setdefault(child.block, []).append(child)
    return groups


def _all_instances(decl: ParsedDeclaration):
    return (instance for root in decl.roots for instance in root.walk())


@rule("DRM-STR-009", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Un bloc est répété plus de fois que la norme ne le permet (par exemple deux établissements dans une "
              "même déclaration).",
      reference="CT DSN, cardinalités des blocs")
def blocks_repeat_within_limits(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.norm is None:
        return
    for instance in _all_instances(decl):
        for block, children in _children_by_block(instance).items():
            spec = decl.norm.blocks.get(block)
            if spec is not None and spec.max_occurs is not None and len(children) > spec.max_occurs:
                extra = children[spec.max_occurs]
                yield Finding(_origin(decl, extra.first_line), block,
                              f"{len(children)} instances of {block}: expected at most {spec.max_occurs}")


@rule("DRM-STR-010", family="structure", severity=Severity.WARNING, target=Target.DECLARATION,
      explain="Un bloc obligatoire est absent de la DSN mensuelle (par exemple le contrat d'un salarié).",
      reference="CT DSN, cardinalités des blocs", flows=(Flow.DSN,))
def mandatory_blocks_present(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.norm is None or decl.nature != R.DSN_MONTHLY:
        return
    allowed = decl.norm.natures.get(decl.nature)
    for instance in _all_instances(decl):
        required = [spec.id for spec in decl.norm.children.get(instance.block, ())
                    if spec.min_occurs > 0 and spec.id in READ_OR_CORE and (allowed is None or spec.id in allowed)]
        if not required:
            continue
        present = {child.block for child in instance.children}
        for block in required:
            if block not in present:
                yield Finding(_origin(decl, instance.first_line), block, f"mandatory block {block} missing")


# Mandatory blocks whose absence is reported (the resources' own chain and the declarant's identity).
READ_OR_CORE = frozenset({R.COMPANY, R.ESTABLISHMENT, R.CONTRACT, R.PAYMENT, R.REMUNERATION})


@rule("DRM-STR-011", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="La déclaration contient un bloc qui n'existe pas pour sa nature (par exemple une régularisation de "
              "prélèvement à la source dans une DSN de substitution).",
      reference="CT DSN, tableau des usages par nature", flows=(Flow.DSN,))
def blocks_allowed_for_nature(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.norm is None:
        return
    allowed = decl.norm.natures.get(decl.nature)
    if not allowed:
        return
    first: dict[str, int] = {}                     # block not allowed -> its first line
    for instance in _all_instances(decl):
        block = decl.norm.blocks.get(instance.block)
        if block is not None and block.parent is not None and instance.block not in allowed \
                and instance.block not in PLATFORM and instance.first_line < first.get(instance.block, 1 << 62):
            first[instance.block] = instance.first_line
    # Read in parts (in order), a block is reported by the part holding its first line in the declaration.
    declaration_first = decl.shared.setdefault("blocks_not_allowed", {})
    for block, line in sorted(first.items(), key=lambda item: item[1]):
        if declaration_first.setdefault(block, line) == line:
            yield Finding(_origin(decl, line), block, f"block {block} not part of nature {decl.nature}")


PLATFORM = frozenset({"S10.G00.95", "S20.G00.96"})


@rule("DRM-STR-012", family="structure", severity=Severity.DECLARATION, target=Target.DECLARATION,
      explain="Les blocs ne sont pas dans l'ordre de la norme, ou les rubriques d'un même bloc ne sont pas "
              "consécutives (un bloc est coupé par un autre).",
      reference="CT DSN §3.2 p.77 (ordre et contiguïté des blocs)")
def blocks_in_norm_order(decl: ParsedDeclaration) -> Iterator[Finding]:
    if decl.norm is None:
        return
    for instance in _all_instances(decl):
        highest = -1.0
        previous = None
        for child in instance.children:
            spec = decl.norm.blocks.get(child.block)
            if spec is None:
                continue
            if spec.order < highest and child.block != previous:
                yield Finding(_origin(decl, child.first_line), child.block,
                              f"block {child.block} after a block that the norm places later")
                break
            highest, previous = max(highest, spec.order), child.block
