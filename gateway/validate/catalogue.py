"""The declarants' rule catalogue, generated from the registry."""
from __future__ import annotations

import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
from gateway.validate.registry import DEFAULT_RULES, RuleRegistry


def render(fmt: str = "text", registry: RuleRegistry = DEFAULT_RULES) -> str:
    if fmt == "md":
        lines = ["# Catalogue des contrôles de la passerelle DRM", "",
                 "| Règle | Famille | Portée | Flux | Explication | Référence |", "|---|---|---|---|---|---|"]
        for rule in registry:
            flows = ", ".join(sorted(flow.value for flow in rule.flows))
            lines.append(f"| {rule.id} | {rule.family} | {rule.severity.value} | {flows} | {rule.explain} | "
                         f"{rule.reference} |")
        return "\n".join(lines) + "\n"
    return "\n".join(f"{rule.id}  {rule.severity.value:<11} {rule.explain}" for rule in registry)
