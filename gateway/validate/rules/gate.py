"""Frozen-effects gate rules (IGAS report §3.2, recommendation on "effets figés"): what happens to a
change of a base already published to liquidation. They are tried in id order and the first that
applies decides; each yields the decision kind as its detail."""
from __future__ import annotations

from typing import Iterator

from gateway.records import BaseChange, Origin, Severity
from gateway.validate.registry import Finding, Target, rule

HOLD_CORRECTION = "HOLD_CORRECTION"
HOLD_UNSTABLE = "HOLD_UNSTABLE"
LAPSED = "LAPSED"
FREEZE_DE_MINIMIS = "FREEZE_DE_MINIMIS"
REVIEW_CAP = "REVIEW_CAP"
REGULARISE = "REGULARISE"
PENDING = (HOLD_CORRECTION, HOLD_UNSTABLE, REVIEW_CAP)


def _decide(kind: str) -> Finding:
    return Finding(Origin("gate", 0, 0), "", kind)


@rule("DRM-GAT-001", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="Une demande de correction est en cours sur un des mois modifiés : la nouvelle valeur n'est pas "
              "appliquée tant que la demande n'est pas traitée.",
      reference="Politique de la passerelle (gate) ; rapport IGAS, médiation des corrections")
def held_while_a_correction_request_is_open(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    if change.held_by_request:
        yield _decide(HOLD_CORRECTION)


@rule("DRM-GAT-002", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="Les mois modifiés peuvent encore changer : la nouvelle valeur sera réexaminée lors d'un prochain "
              "traitement avant d'être appliquée.",
      reference="Politique de la passerelle (gate.unstable) ; rapport IGAS §3.2, ressources flottantes")
def held_while_the_months_still_move(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    if change.unstable_score >= gate.unstable_min_score:
        yield _decide(HOLD_UNSTABLE)


@rule("DRM-GAT-003", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="La modification concerne une période de plus de deux ans : elle est prescrite et ne donne lieu ni "
              "à un indu ni à un rappel.",
      reference="CSS L553-1 (prescription de deux ans, sauf fraude) ; CCH L823-9")
def lapsed_beyond_the_recovery_time_limit(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    if change.months_since_paid > gate.recovery_limit_months:
        yield _decide(LAPSED)


@rule("DRM-GAT-004", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="La modification est en votre faveur : le rappel qui en résulte est appliqué.",
      reference="Politique de la passerelle (gate.arrears_pass)")
def arrears_in_the_claimants_favour_pass(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    if gate.arrears_pass and change.estimated_impact_cents > 0:
        yield _decide(REGULARISE)


@rule("DRM-GAT-005", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="La modification est inférieure au seuil de recouvrement : la base déjà utilisée reste figée et "
              "aucun indu n'est réclamé.",
      reference="CCH D823-25 et CSS D133-2 (abandon des petits indus) ; ancien seuil AL : 0,68 % du plafond mensuel")
def small_changes_keep_the_frozen_base(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    if abs(change.estimated_impact_cents) < benefit.de_minimis_cents:
        yield _decide(FREEZE_DE_MINIMIS)


@rule("DRM-GAT-006", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="Le trop-perçu estimé dépasse le plafond de la politique : un agent doit décider (régulariser, "
              "garder la base figée ou étaler) avant toute réclamation.",
      reference="Politique de la passerelle (plafond) ; CRPA L311-3-1 (décision expliquée) ; pas de sanction "
                "automatique")
def large_overpayments_wait_for_an_officer(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    if -change.estimated_impact_cents > benefit.cap_cents:
        yield _decide(REVIEW_CAP)


@rule("DRM-GAT-007", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="Les ressources déclarées ont été corrigées : le droit est recalculé avec les nouvelles valeurs.",
      reference="Politique de la passerelle ; CSS L553-2 (récupération des indus par retenues)")
def regularise(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    yield _decide(REGULARISE)


@rule("DRM-GAT-008", family="gate", severity=Severity.WARNING, target=Target.GATE,
      explain="Un agent a examiné la modification et pris la décision (régulariser, garder la base figée ou étaler "
              "le trop-perçu), avec sa justification.",
      reference="Décision d'un agent (drm-gateway decide), enregistrée avec sa justification")
def officer_decision(change: BaseChange, gate, benefit) -> Iterator[Finding]:
    return iter(())                   # never automatic: recorded by an officer, applied by the gate
