"""Impact estimators: how much a change of a base changes the benefit, in euros (an estimate, labelled so)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.errors import ConfigurationError
from gateway.policy import GateBenefit


class Estimator(Protocol):
    name: str

    def impact(self, benefit: str, base_change_cents: int, window_months: int, params: GateBenefit) -> int:
        """Benefit change for the claimant over the months paid with the base, in cents (< 0: overpayment)."""


@dataclass(frozen=True)
class LinearEstimator:
    """Benefit change per month = -impact_rate x base change / months of the base, over paid_months.

    Transparent and documented in the policy file; it approximates the legal formulas (RSA = forfait
    minus resources, PA keeps 61 % of work income, AL participation grows with yearly resources)."""

    name: str = "linear-v1"

    def impact(self, benefit: str, base_change_cents: int, window_months: int, params: GateBenefit) -> int:
        monthly = -params.impact_rate * base_change_cents / max(1, window_months)
        return round(monthly * params.paid_months)


def estimator_named(name: str) -> Estimator:
    if name == "linear":
        return LinearEstimator()
    if name == "openfisca":
        raise ConfigurationError("estimator openfisca @ policy gate.estimator: expected OpenFisca-France installed; "
                                 "it does not resolve within the project's pins (apache-beam's numpy/pyarrow), "
                                 "use linear")
    raise ConfigurationError(f"unknown estimator @ policy gate.estimator {name}: expected linear")
