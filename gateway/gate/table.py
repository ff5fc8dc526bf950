"""The frozen-effects gate's decision table (IGAS report §3.2, recommendation on "effets figés"): what happens
to a change of a base already published to liquidation.

Each row is a ``GateRule``: an id, the ``Decision`` it takes, when it applies, and the sentence the claimant
reads. Rows are tried in order; the first that applies decides. The table is the gate's own (the validation
registry judges declarations, not decisions); the rule catalogue lists both.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

from gateway.records import BaseChange, Flow, Severity


class Decision(str, enum.Enum):
    HOLD_CORRECTION = "HOLD_CORRECTION"
    HOLD_UNSTABLE = "HOLD_UNSTABLE"
    LAPSED = "LAPSED"
    FREEZE_DE_MINIMIS = "FREEZE_DE_MINIMIS"
    REVIEW_CAP = "REVIEW_CAP"
    REGULARISE = "REGULARISE"
    OFFICER_REGULARISE = "OFFICER_REGULARISE"
    OFFICER_KEEP_FROZEN = "OFFICER_KEEP_FROZEN"
    OFFICER_SPREAD = "OFFICER_SPREAD"
    DROITS_FIGES = "DROITS_FIGES"

    @property
    def status(self) -> "Status":
        """Held and capped changes are re-examined on later runs; the others are settled."""
        return Status.PENDING if self in (Decision.HOLD_CORRECTION, Decision.HOLD_UNSTABLE,
                                          Decision.REVIEW_CAP) else Status.FINAL

    @property
    def refreezes(self) -> bool:
        """The recomputed base becomes the new frozen reference (the change was applied)."""
        return self in (Decision.REGULARISE, Decision.OFFICER_REGULARISE, Decision.OFFICER_SPREAD)


class Status(str, enum.Enum):
    PENDING = "PENDING"            # re-examined on every later run until decided
    NOTIFIED = "NOTIFIED"          # an overpayment told to the claimant, final once the contradictory period ends
    FINAL = "FINAL"

    @property
    def revisited(self) -> bool:
        """Re-examined on later runs even when nothing new arrives for the person."""
        return self in (Status.PENDING, Status.NOTIFIED)


# An officer's answer to a REVIEW_CAP decision (``gateway.gate.officer``), by its action.
OFFICER_DECISIONS = {"regularise": Decision.OFFICER_REGULARISE, "keep-frozen": Decision.OFFICER_KEEP_FROZEN,
                     "spread": Decision.OFFICER_SPREAD}

Applies = Callable[[BaseChange, object, object], bool]     # (change, gate policy, benefit parameters)


@dataclass(frozen=True)
class GateRule:
    id: str
    decision: Decision
    applies: Applies
    explain: str                   # French, for the claimant
    reference: str
    family: str = "gate"
    severity: Severity = Severity.WARNING
    flows: frozenset = frozenset(Flow)
    versions: frozenset = frozenset()


def _never(change: BaseChange, gate, benefit) -> bool:
    return False                   # never automatic: recorded by an officer, applied by the gate


GATE_RULES: tuple[GateRule, ...] = (
    GateRule("DRM-GAT-001", Decision.HOLD_CORRECTION, lambda change, gate, benefit: change.held_by_request,
             "Une demande de correction est en cours sur un des mois modifiés : la nouvelle valeur n'est pas "
             "appliquée tant que la demande n'est pas traitée.",
             "Politique de la passerelle (gate) ; rapport IGAS, médiation des corrections"),
    GateRule("DRM-GAT-002", Decision.HOLD_UNSTABLE,
             lambda change, gate, benefit: change.unstable_score >= gate.unstable_min_score,
             "Les mois modifiés peuvent encore changer : la nouvelle valeur sera réexaminée lors d'un prochain "
             "traitement avant d'être appliquée.",
             "Politique de la passerelle (gate.unstable) ; rapport IGAS §3.2, ressources flottantes"),
    GateRule("DRM-GAT-003", Decision.LAPSED,
             lambda change, gate, benefit: change.months_since_paid > gate.recovery_limit_months,
             "La modification concerne une période de plus de deux ans : elle est prescrite et ne donne lieu ni "
             "à un indu ni à un rappel.",
             "CSS L553-1 (prescription de deux ans, sauf fraude) ; CCH L823-9"),
    GateRule("DRM-GAT-009", Decision.DROITS_FIGES,
             lambda change, gate, benefit: gate.mode == "droits_figes"
             and abs(change.estimated_impact_cents) > benefit.droits_figes_cents,
             "Droits figés : l'effet de la modification dépasse le seuil fixé par la politique. Le droit déjà "
             "calculé reste acquis : aucun indu ne vous est réclamé et aucun rappel n'est versé pour cette "
             "période.",
             "Rapport IGAS, §[164] et §[167] (droits figés : seuil au-delà duquel les indus ou rappels ne sont "
             "pas régularisés) ; politique de la passerelle (gate.mode: droits_figes)"),
    GateRule("DRM-GAT-004", Decision.REGULARISE,
             lambda change, gate, benefit: gate.arrears_pass and change.estimated_impact_cents > 0,
             "La modification est en votre faveur : le rappel qui en résulte est appliqué.",
             "Politique de la passerelle (gate.arrears_pass)"),
    GateRule("DRM-GAT-005", Decision.FREEZE_DE_MINIMIS,
             lambda change, gate, benefit: abs(change.estimated_impact_cents) < benefit.de_minimis_cents,
             "La modification est inférieure au seuil de recouvrement : la base déjà utilisée reste figée et "
             "aucun indu n'est réclamé.",
             "CCH D823-25 et CSS D133-2 (abandon des petits indus) ; ancien seuil AL : 0,68 % du plafond mensuel"),
    GateRule("DRM-GAT-006", Decision.REVIEW_CAP,
             lambda change, gate, benefit: -change.estimated_impact_cents > benefit.cap_cents,
             "Le trop-perçu estimé dépasse le plafond de la politique : un agent doit décider (régulariser, "
             "garder la base figée ou étaler) avant toute réclamation.",
             "Politique de la passerelle (plafond) ; CRPA L311-3-1 (décision expliquée) ; pas de sanction "
             "automatique"),
    GateRule("DRM-GAT-007", Decision.REGULARISE, lambda change, gate, benefit: True,
             "Les ressources déclarées ont été corrigées : le droit est recalculé avec les nouvelles valeurs.",
             "Politique de la passerelle ; CSS L553-2 (récupération des indus par retenues)"),
)
OFFICER_RULE = GateRule(
    "DRM-GAT-008", Decision.OFFICER_REGULARISE, _never,
    "Un agent a examiné la modification et pris la décision (régulariser, garder la base figée ou étaler le "
    "trop-perçu), avec sa justification.",
    "Décision d'un agent (drm-gateway decide), enregistrée avec sa justification")
CATALOGUE: tuple[GateRule, ...] = (*GATE_RULES, OFFICER_RULE)


def first_applying(change: BaseChange, gate, benefit, rules: tuple[GateRule, ...] = GATE_RULES) -> GateRule:
    """The first row of the table that applies (the last row always does)."""
    return next(rule for rule in rules if rule.applies(change, gate, benefit))


__all__ = ["CATALOGUE", "Decision", "GATE_RULES", "GateRule", "OFFICER_DECISIONS", "OFFICER_RULE", "Status",
           "first_applying"]
