"""Recovery of an overpayment the gate lets through, respecting the claimant's "reste à vivre".

CSS L553-2: an overpayment is recovered by deductions from later benefits (or repaid at once, at the claimant's
choice). CSS D553-1 III: the monthly deduction follows a scale on the household's "revenu mensuel pondéré" (RMP):
a flat amount on the first band, then a rate on each band above it (tranches set yearly by arrêté; the policy
holds them, with their source). The policy's ``reste_a_vivre_cents`` is a policy choice: a deduction never leaves
less than that of the RMP; when it would, nothing is deducted and an officer sets the terms. The gateway does not
know the household's RMP: the policy gives the one to use (the scale's own assumption when income is unknown).
"""
from __future__ import annotations

from dataclasses import dataclass

from gateway.policy.model import RecoveryPolicy
from gateway.values import euros


@dataclass(frozen=True)
class RecoveryPlan:
    """Monthly deductions: ``months`` of ``monthly_cents``, the last one ``last_cents`` (the remainder); no
    deduction at all (``months == 0``) when the scale leaves nothing above the reste à vivre."""

    overpayment_cents: int
    monthly_cents: int
    months: int
    last_cents: int

    def instalments(self) -> list[int]:
        return [self.monthly_cents] * (self.months - 1) + [self.last_cents] if self.months else []


def scale_deduction(policy: RecoveryPolicy) -> int:
    """The most the scale deducts in a month for the policy's RMP, never leaving less than the reste à vivre."""
    rmp = policy.rmp_cents
    deduction = policy.flat_cents
    edges = [start for start, _ in policy.bands[1:]] + [None]
    for (start, rate), end in zip(policy.bands, edges):
        top = rmp if end is None else min(rmp, end)
        if top > start:
            deduction += round((top - start) * rate)
    return max(0, min(deduction, rmp - policy.reste_a_vivre_cents))


def plan(overpayment_cents: int, policy: RecoveryPolicy, spread_months: int | None = None) -> RecoveryPlan:
    """The deductions recovering ``overpayment_cents``: the scale's monthly amount, or the overpayment spread over
    ``spread_months`` (an officer's answer) when that asks less a month; never more than the scale allows."""
    ceiling = scale_deduction(policy)
    if overpayment_cents <= 0 or ceiling == 0:
        return RecoveryPlan(max(overpayment_cents, 0), 0, 0, 0)
    monthly = min(ceiling, overpayment_cents)
    if spread_months:
        monthly = min(ceiling, -(-overpayment_cents // spread_months))
    months = -(-overpayment_cents // monthly)
    return RecoveryPlan(overpayment_cents, monthly, months, overpayment_cents - monthly * (months - 1))


def sentence(recovery: RecoveryPlan, policy: RecoveryPolicy) -> str:
    """What the claimant reads of the plan, in French."""
    if recovery.months == 0:
        return (f"Aucune retenue n'est possible sans descendre sous le reste à vivre de "
                f"{euros(policy.reste_a_vivre_cents)} par mois retenu par la politique : un agent fixe avec vous "
                "les modalités de remboursement.")
    last = f" (la dernière de {euros(recovery.last_cents)})" if recovery.last_cents != recovery.monthly_cents else ""
    how = (f"une seule retenue de {euros(recovery.monthly_cents)} sur vos prestations" if recovery.months == 1 else
           f"retenue de {euros(recovery.monthly_cents)} par mois sur vos prestations pendant {recovery.months} "
           f"mois{last}")
    return (f"Remboursement de {euros(recovery.overpayment_cents)} (estimation) : {how}, "
            "selon le barème de l'article D553-1 du code de la sécurité sociale, sans descendre sous le reste à vivre "
            f"de {euros(policy.reste_a_vivre_cents)} par mois ; vous pouvez aussi rembourser en une fois ou demander "
            "un échéancier de 12 mois au plus.")
