"""The declarants' rule catalogue, generated from the registry (and any other table of rules with the same
fields: the gate's decision table, added by the caller)."""
from __future__ import annotations

from typing import Iterable

import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
from gateway.validate.registry import DEFAULT_RULES


def render(fmt: str = "text", registry: Iterable = DEFAULT_RULES) -> str:
    """``registry``: rules with an id, family, severity, flows, versions, explain and reference."""
    if fmt == "md":
        lines = ["# Catalogue des contrôles de la passerelle DRM", "",
                 "Chaque contrôle porte un identifiant stable, une portée (ce qui est écarté : fichier, envoi, "
                 "déclaration, données d'une personne, lignes ; ou simple avertissement), les flux et versions de norme "
                 "concernés, et la référence au cahier technique quand elle existe.", "",
                 "| Règle | Famille | Portée | Flux | Normes | Explication | Référence |",
                 "|---|---|---|---|---|---|---|"]
        for rule in registry:
            flows = ", ".join(sorted(flow.value for flow in rule.flows))
            versions = ", ".join(sorted(rule.versions)) if rule.versions else "toutes"
            lines.append(f"| {rule.id} | {rule.family} | {rule.severity.value} | {flows} | {versions} | "
                         f"{rule.explain} | {rule.reference} |")
        return "\n".join(lines) + "\n"
    return "\n".join(f"{rule.id}  {rule.severity.value:<11} {rule.explain}" for rule in registry)
