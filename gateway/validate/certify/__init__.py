"""Certificates over a declaration's columns: rules proven, for a whole declaration at once, to find nothing in it
(the declaration rules) or in any of its people (the person rules), so that the object path skips them.

A person rule is called once per person and walks that person's block instances. Most declarations break
none of them, and proving that over the declaration's token columns (each rubric's values with the block
instance that holds them, the tree as arrays from :func:`gateway.parse.blocks.block_structure`) costs a pass
over a few columns instead of a call per person and per rule. A certificate is a sufficient condition: when it
holds, the rule's check yields nothing for every person of the declaration; when it does not (or when the
certifier cannot tell), the rule runs as before and reports exactly what it finds. So the findings are the same
with and without certificates, which ``tests/gateway/validate/test_certificates.py`` proves rule by rule (the
rule is the oracle) on the bundled flows, the conformance corpus, generated flows with defects and mutated text.

Certifiers read the columns, the arrays, the tokenizer's defects, the failing tokens of the value pass
(``gateway.validate.columns.failing_tokens``) and the header values (found in the arrays as the rules read them:
``DeclarationColumns.first_value``), never the tree: the columnar engine (issue 23) can take a declaration off the
object path once every rule of its targets certifies it.
"""
from __future__ import annotations

from gateway.parse.declaration import ParsedDeclaration
from gateway.validate.certify import amounts, identity, structure          # noqa: F401 (each registers its own)
from gateway.validate.certify.registry import GROUPED, _CERTIFIERS, Certifier
from gateway.validate.certify.views import DeclarationColumns, GroupColumns

__all__ = ["DeclarationColumns", "GroupColumns", "certifiable", "certified"]



def certifiable() -> frozenset[str]:
    """The rules a certificate can be given for."""
    return frozenset(_CERTIFIERS)


def certified(decl: ParsedDeclaration, rule_ids) -> frozenset[str]:
    """Those of ``rule_ids`` proven to find nothing in ``decl`` or any of its people (empty when the declaration has
    no columns: not read, no known norm, or read in parts)."""
    view = DeclarationColumns.of(decl)
    if view is None:
        return frozenset()
    group = GroupColumns.of(decl)
    proven = frozenset() if group is None else group.certified(tuple(rule_ids), decl.together[1])
    held: dict[Certifier, bool] = {}          # a certifier of several rules (DRM-DEC-001 to 005...) is run once

    def holds(check: Certifier) -> bool:
        found = held.get(check)
        if found is None:
            found = held[check] = check(view)
        return found
    return proven | frozenset(rule_id for rule_id in rule_ids if rule_id not in proven
                              and (check := _CERTIFIERS.get(rule_id)) is not None and holds(check))



# Certifiers that are a condition on each block instance or person alone, given the declaration's nature and main
# month at most: what holds for declarations read together holds for each of them (GroupColumns). True: reads the
# nature or the main month. Uniqueness within a declaration (DRM-ID-006, -008) is checked within each of the group's,
# and the NTT against its own declaration's SIREN (DRM-ID-007).
_ALONE = ("DRM-ID-001", "DRM-ID-002", "DRM-ID-003", "DRM-ID-004", "DRM-ID-005", "DRM-ID-006", "DRM-ID-007",
          "DRM-ID-008", "DRM-ID-011", "DRM-FMT-001", "DRM-FMT-002", "DRM-AMT-006", "DRM-PER-005", "DRM-AMT-001",
          "DRM-AMT-002", "DRM-AMT-005", "DRM-PER-001", "DRM-PER-003", "DRM-REG-001", "DRM-REG-002", "DRM-REG-003",
          "DRM-CTR-002", "DRM-STR-009", "DRM-STR-012")
_WITH_HEADER = ("DRM-AMT-003", "DRM-AMT-004", "DRM-PER-002", "DRM-PER-004", "DRM-PER-006", "DRM-PER-007",
                "DRM-REG-004", "DRM-CTR-001", "DRM-STR-010", "DRM-STR-011")
GROUPED.update({**{_CERTIFIERS[rule_id]: False for rule_id in _ALONE},
                **{_CERTIFIERS[rule_id]: True for rule_id in _WITH_HEADER}})
