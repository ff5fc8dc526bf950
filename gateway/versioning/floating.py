"""Floating flags: the FLOATING rules of the registry applied to each resource month as known at a date."""
from __future__ import annotations

import hashlib
from typing import Iterable

from gateway.records import FloatingFlag, MonthHistory
from gateway.values import euros
from gateway.validate.registry import Rule, RuleRegistry, Target


def _sentence(rule: Rule, facts: dict) -> str:
    """The rule's French explanation, with the figures a claimant needs where the rule gives them."""
    if rule.id == "DRM-FLT-001":
        times = "une fois" if facts["revisions"] == 1 else f"{facts['revisions']} fois"
        return (f"Le montant de ce mois a été modifié {times} après sa première déclaration "
                f"(écart total {euros(facts['change_cents'])}, {facts['days']} jours après) : il peut encore changer.")
    return rule.explain


def floating_rules(registry: RuleRegistry) -> list[Rule]:
    return [rule for rule in registry if rule.target is Target.FLOATING]


def flags_of(person_key: str, histories: Iterable[MonthHistory], rules: list[Rule], policy, *,
             policy_version: str) -> list[FloatingFlag]:
    """Every flag of one person's resource months (histories as of one date)."""
    out = []
    for history in histories:
        last = history.versions[-1] if history.versions else None
        for rule in rules:
            for finding in rule.check(history, policy):
                key = "|".join((person_key, history.declarant_id, history.nature, history.month, rule.id))
                out.append(FloatingFlag(
                    flag_id=hashlib.sha256(f"{key}|{history.as_of}".encode()).hexdigest()[:24],
                    person_key=person_key, declarant_id=history.declarant_id, nature=history.nature,
                    month=history.month, rule_id=rule.id, score=round(finding.score, 4),
                    explain=_sentence(rule, dict(finding.facts)), detail=finding.detail,
                    version=last.version if last else None, revisions=max(0, len(history.versions) - 1),
                    first_known=history.versions[0].transaction_time if last else None,
                    last_changed=last.transaction_time if last else None,
                    file=finding.origin.file, first_line=finding.origin.first_line,
                    policy_version=policy_version, as_of=history.as_of))
    return sorted(out, key=lambda f: (f.month, f.declarant_id, f.nature, f.rule_id))
