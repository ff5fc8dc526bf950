"""Metrics-history rules: one declarant's figures in this run against its own previous runs (a
Deequ-style anomaly check). They warn: a halved headcount may be real (closure) or a lost file."""
from __future__ import annotations

from statistics import mean
from typing import Iterator, Sequence

from gateway.records import Origin, Severity
from gateway.validate.registry import Finding, Target, rule

LOW, HIGH = 0.5, 2.0


def _jump(declarant: str, figures: dict, past: Sequence[dict], metric: str) -> Iterator[Finding]:
    baseline = mean(p.get(metric, 0) for p in past) if past else 0
    value = figures.get(metric, 0)
    if baseline > 0 and not (LOW <= value / baseline <= HIGH):
        yield Finding(Origin("history", 0, 0), metric,
                      f"{metric} {value} against a mean of {baseline:.2f} over {len(past)} run(s): "
                      f"ratio {value / baseline:.3f}, expected {LOW}-{HIGH}")


@rule("DRM-HIS-001", family="history", severity=Severity.WARNING, target=Target.HISTORY,
      explain="Le nombre de personnes déclarées par ce déclarant a fortement changé par rapport à ses "
              "déclarations précédentes (moitié moins ou deux fois plus) : vérifiez qu'aucune déclaration ne manque.",
      reference="Contrôle de cohérence dans le temps (historique des métriques)")
def headcount_is_stable(declarant: str, figures: dict, past: Sequence[dict]) -> Iterator[Finding]:
    yield from _jump(declarant, figures, past, "people")


@rule("DRM-HIS-002", family="history", severity=Severity.WARNING, target=Target.HISTORY,
      explain="Le total des montants nets sociaux déclarés par ce déclarant a fortement changé par rapport à ses "
              "déclarations précédentes.",
      reference="Contrôle de cohérence dans le temps (historique des métriques)")
def net_social_total_is_stable(declarant: str, figures: dict, past: Sequence[dict]) -> Iterator[Finding]:
    yield from _jump(declarant, figures, past, "net_social_cents")
