"""One person's gate: freeze newly published bases, compare frozen bases with the same bases recomputed
from newer versions, and decide each change once (with the officer's answer when there is one)."""
from __future__ import annotations

import hashlib
from typing import Iterable

from gateway.gate.estimate import Estimator
from gateway.months import add_months, months_between
from gateway.policy import Policy
from gateway.records import BaseChange, GateDecision, OfficerAnswer
from gateway.validate.registry import Rule
from gateway.validate.rules.gate import PENDING
from gateway.versioning.bases import ReferenceBase, base_of, window_sums
from gateway.values import euros
from gateway.versioning.floating import FloatingFlag
from gateway.versioning.view import PersonView

OFFICER_RULE = "DRM-GAT-008"
OFFICER_KINDS = {"regularise": "OFFICER_REGULARISE", "keep-frozen": "OFFICER_KEEP_FROZEN", "spread": "OFFICER_SPREAD"}
REFREEZES = ("REGULARISE", "OFFICER_REGULARISE", "OFFICER_SPREAD")


def _months(monthly: str) -> dict[str, int]:
    return {month: int(cents) for month, cents in (item.split(":") for item in monthly.split())}


def _sentence(rule: Rule, change: BaseChange, label: str) -> str:
    months = ", ".join(month for month, _ in change.monthly_changes) or "aucun mois"
    impact = change.estimated_impact_cents
    effect = (f"un trop-perçu estimé de {euros(-impact)}" if impact < 0 else
              f"un rappel estimé de {euros(impact)}" if impact > 0 else "aucun effet estimé")
    return (f"{rule.explain} Prestation : {label}, période de référence du mois {change.reference_month} ; "
            f"mois modifiés : {months} ; écart de ressources {euros(change.base_change_cents)}, soit {effect} "
            "(estimation). Décision prise par un traitement automatisé (CRPA L311-3-1) : vous pouvez en "
            "demander les règles et contester les données auprès de votre caisse.")


def _decision_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def gate_person(view: PersonView, flags: Iterable[FloatingFlag], new_bases: list[ReferenceBase],
                frozen: dict[tuple[str, str], ReferenceBase], last: dict[tuple[str, str], GateDecision], *,
                policy: Policy, as_of: str, open_requests: set[str],
                officer: dict[str, OfficerAnswer], rules: list[Rule], estimator: Estimator,
                ) -> tuple[list[ReferenceBase], list[GateDecision]]:
    """(bases published now, decisions taken now) for one person. ``frozen``/``last``: by (benefit, month M);
    ``open_requests``: the months of this person with a correction request open."""
    gate = policy.gate
    published: list[ReferenceBase] = []
    if as_of[:10] < gate.effective_from:
        return published, []
    frozen = dict(frozen)
    for base in new_bases:
        if (base.benefit, base.reference_month) not in frozen:
            frozen[(base.benefit, base.reference_month)] = base
            published.append(base)
    unstable: dict[str, float] = {}
    for flag in flags:
        if flag.rule_id in gate.unstable_rules:
            unstable[flag.month] = max(unstable.get(flag.month, 0.0), flag.score)
    floating = {flag.key for flag in flags}
    decisions: list[GateDecision] = []
    published_now = {(base.benefit, base.reference_month) for base in published}   # nothing to compare yet
    base_policies = {base_policy.benefit: base_policy for base_policy in policy.bases}
    for (benefit, month_m), reference in sorted(frozen.items()):
        if benefit not in gate.benefits or (benefit, month_m) in published_now:
            continue
        base_policy = base_policies[benefit]
        sums = window_sums(view, base_policy, month_m, floating)      # a base is built only if it changed
        before, after = _months(reference.monthly_cents), sums.per_month
        changed = tuple((m, after.get(m, 0) - before.get(m, 0)) for m in sorted(after) if after.get(m, 0) != before.get(m, 0))
        delta = sums.base_cents - reference.base_cents
        if not changed and delta == 0:
            continue
        now = base_of(view, base_policy, as_of, floating, policy_version=policy.version, month_m=month_m,
                      allow_empty=True, sums=sums)
        params = gate.benefits[benefit]
        window = base_policy.window[1] - base_policy.window[0] + 1
        change = BaseChange(
            benefit=benefit, reference_month=month_m, as_of=as_of, base_change_cents=delta, monthly_changes=changed,
            estimated_impact_cents=estimator.impact(benefit, delta, window, params),
            held_by_request=any((person_month in open_requests) for person_month, _ in changed),
            unstable_score=max((unstable.get(m, 0.0) for m, _ in changed), default=0.0),
            months_since_paid=months_between(add_months(month_m, params.paid_months - 1), as_of[:7]))
        rule, kind = next((r, f.detail) for r in rules for f in r.check(change, gate, params))
        added = sorted(set(now.versions_used.split()) - set(reference.versions_used.split()))
        decision_id = _decision_id(view.person_key, benefit, month_m, reference.base_id, now.versions_used, kind,
                                   policy.version)
        previous = last.get((benefit, month_m))
        answer = officer.get(decision_id)
        officer_fields = {"officer": None, "officer_reason": None, "spread_months": None}
        status = "PENDING" if kind in PENDING else "FINAL"
        explain = _sentence(rule, change, base_policy.label)
        rule_id = rule.id
        if answer is not None:
            kind, rule_id, status = OFFICER_KINDS[answer.action], OFFICER_RULE, "FINAL"
            decision_id = _decision_id(decision_id, answer.action, str(answer.spread_months))
            officer_fields = {"officer": answer.officer, "officer_reason": answer.reason,
                              "spread_months": answer.spread_months}
            explain = _officer_sentence(answer, change, base_policy.label)
        if previous is not None and previous.decision_id == decision_id:
            continue                                  # decided already: no second event
        decisions.append(GateDecision(
            decision_id=decision_id, person_key=view.person_key, benefit=benefit, reference_month=month_m, kind=kind,
            status=status, rule_id=rule_id, explain=explain, frozen_base_id=reference.base_id,
            new_base_id=now.base_id, frozen_base_cents=reference.base_cents, new_base_cents=now.base_cents,
            base_change_cents=delta, monthly_changes=" ".join(f"{m}:{d:+d}" for m, d in changed),
            estimated_impact_cents=change.estimated_impact_cents, estimator=estimator.name,
            versions_added=" ".join(added), supersedes=previous.decision_id if previous else None,
            policy_version=policy.version, as_of=as_of, **officer_fields))
        if kind in REFREEZES:
            published.append(now)                      # the regularised base is the new frozen reference
    return published, decisions


def _officer_sentence(answer: OfficerAnswer, change: BaseChange, label: str) -> str:
    what = {"regularise": "le droit est recalculé avec les nouvelles valeurs",
            "keep-frozen": "la base déjà utilisée reste figée et aucun indu n'est réclamé",
            "spread": f"le trop-perçu est étalé sur {answer.spread_months} mois"}[answer.action]
    return (f"Après examen par un agent, {what}. Prestation : {label}, période de référence du mois "
            f"{change.reference_month} ; écart de ressources {euros(change.base_change_cents)}.")
