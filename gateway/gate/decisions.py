"""One person's gate: freeze newly published bases, compare frozen bases with the same bases recomputed
from newer versions, and decide each change once (with the officer's answer when there is one).

What the gate needs comes in as arguments: the person's view, flags and new bases (the register's), the
frozen bases and last decisions, the open correction requests and the officers' answers. The decision
itself is the first applying row of the gate's table (``gateway.gate.table``)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Iterable

from gateway.gate.estimate import Estimator
from gateway.gate.notices import notice_of
from gateway.gate.recovery import plan, sentence as recovery_sentence
from gateway.gate.table import (GATE_RULES, OFFICER_DECISIONS, OFFICER_RULE, Decision, GateRule, Status,
                                first_applying)
from gateway.months import add_months, day_of_instant, month_fr, month_of_instant, months_between
from gateway.policy import BasePolicy, Policy
from gateway.records import BaseChange, FloatingFlag, GateDecision, OfficerAnswer, ReferenceBase
from gateway.values import euros
from gateway.versioning.bases import base_of, paid_months, period_start, window_sums
from gateway.versioning.view import PersonView


def _months(monthly: str) -> dict[str, int]:
    return {month: int(cents) for month, cents in (item.split(":") for item in monthly.split())}


def _sentence(rule: GateRule, change: BaseChange, label: str) -> str:
    months = ", ".join(month for month, _ in change.monthly_changes) or "aucun mois"
    impact = change.estimated_impact_cents
    effect = (f"un trop-perçu estimé de {euros(-impact)}" if impact < 0 else
              f"un rappel estimé de {euros(impact)}" if impact > 0 else "aucun effet estimé")
    return (f"{rule.explain} Prestation : {label}, période de référence du mois {change.reference_month} ; "
            f"mois modifiés : {months} ; écart de ressources {euros(change.base_change_cents)}, soit {effect} "
            "(estimation). Décision prise par un traitement automatisé (CRPA L311-3-1) : vous pouvez en "
            "demander les règles et contester les données auprès de votre caisse.")


def _what_officer_decided(action: str, spread_months: int | None) -> str:
    return {"regularise": "le droit est recalculé avec les nouvelles valeurs",
            "keep-frozen": "la base déjà utilisée reste figée et aucun indu n'est réclamé",
            "spread": f"le trop-perçu est étalé sur {spread_months} mois"}[action]


def _officer_sentence(answer: OfficerAnswer, change: BaseChange, label: str) -> str:
    return (f"Après examen par un agent, {_what_officer_decided(answer.action, answer.spread_months)}. Prestation : "
            f"{label}, période de référence du mois {change.reference_month} ; écart de ressources "
            f"{euros(change.base_change_cents)}.")


ACTION_OF = {decision.value: action for action, decision in OFFICER_DECISIONS.items()}


def _carried_sentence(answered: GateDecision, change: BaseChange, label: str, drift: int) -> str:
    what = _what_officer_decided(ACTION_OF[answered.kind], answered.spread_months)
    return (f"La décision prise par un agent le {day_of_instant(answered.as_of)} est maintenue ({what}) : la nouvelle "
            f"révision ne change l'effet estimé que de {euros(drift)}, moins que le seuil de recouvrement. "
            f"Prestation : {label}, période de référence du mois {change.reference_month} ; écart de ressources "
            f"{euros(change.base_change_cents)}.")


def _requeued_sentence(answered: GateDecision, drift: int) -> str:
    what = _what_officer_decided(ACTION_OF[answered.kind], answered.spread_months)
    return (f"Un agent avait décidé le {day_of_instant(answered.as_of)} que {what} ; une nouvelle révision change "
            f"l'effet estimé de {euros(drift)} : un nouvel examen est nécessaire, avec cette première décision "
            "sous les yeux.")


def _decision_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class _Compared:
    """A frozen base against the same base recomputed now: the change the gate decides on."""

    reference: ReferenceBase
    now: ReferenceBase
    change: BaseChange
    label: str
    paid: tuple[str, ...] = ()                  # the payment period the decision is about
    others: tuple["_Compared", ...] = field(default=())   # other frozen bases paying the same period


def _paying(changes: list[_Compared], start: str) -> _Compared:
    """Of the changed frozen bases that pay one period, the one the decision is taken on: the base computed for
    the period's first month, else the latest (the others were published under an earlier policy)."""
    return next((c for c in changes if c.reference.reference_month == start),
                max(changes, key=lambda c: c.reference.reference_month))


def _period_sentence(compared: _Compared) -> str:
    paid = compared.paid
    first = month_fr(paid[0])
    of_first = f"d'{first}" if first[0] in "aeiou" else f"de {first}"      # d'avril, d'août, d'octobre
    text = (f"Cette décision vaut pour les mois payés {of_first} à {month_fr(paid[-1])}" if len(paid) > 1
            else f"Cette décision vaut pour le mois payé {of_first}")
    if compared.others:
        months = ", ".join(other.reference.reference_month for other in compared.others)
        text += (f" ; elle tient compte aussi des bases publiées pour la même période (mois {months}), qui ne font "
                 "pas l'objet d'une décision séparée")
    return f"{text}."


def _unstable_months(flags: Iterable[FloatingFlag], unstable_rules: tuple[str, ...]) -> dict[str, float]:
    """The highest score of a "still moving" flag, per month."""
    unstable: dict[str, float] = {}
    for flag in flags:
        if flag.rule_id in unstable_rules:
            unstable[flag.month] = max(unstable.get(flag.month, 0.0), flag.score)
    return unstable


def _compare(view: PersonView, reference: ReferenceBase, base_policy: BasePolicy, *, policy: Policy, as_of: str,
             floating: set, unstable: dict[str, float], open_requests: set[str],
             estimator: Estimator) -> _Compared | None:
    """The change of a frozen base, or None when the base recomputed now is the same."""
    month_m = reference.reference_month
    sums = window_sums(view, base_policy, month_m, floating)      # a base is built only if it changed
    before, after = _months(reference.monthly_cents), sums.per_month
    changed = tuple((m, after.get(m, 0) - before.get(m, 0)) for m in sorted(after) if after.get(m, 0) != before.get(m, 0))
    delta = sums.base_cents - reference.base_cents
    if not changed and delta == 0:
        return None
    now = base_of(view, base_policy, as_of, floating, policy_version=policy.version, month_m=month_m,
                  allow_empty=True, sums=sums)
    params = policy.gate.benefits[reference.benefit]
    window = base_policy.window[1] - base_policy.window[0] + 1
    change = BaseChange(
        benefit=reference.benefit, reference_month=month_m, as_of=as_of, base_change_cents=delta,
        monthly_changes=changed, estimated_impact_cents=estimator.impact(reference.benefit, delta, window, params),
        held_by_request=any(month in open_requests for month, _ in changed),
        unstable_score=max((unstable.get(m, 0.0) for m, _ in changed), default=0.0),
        months_since_paid=months_between(add_months(month_m, params.paid_months - 1), month_of_instant(as_of)))
    return _Compared(reference, now, change, base_policy.label)


def _same_change(previous: GateDecision | None, reference: ReferenceBase, added: str) -> bool:
    """Whether ``previous`` decided on this very change (same frozen base, same versions added)."""
    return previous is not None and previous.frozen_base_id == reference.base_id and previous.versions_added == added


def _decided_already(previous: GateDecision | None, reference: ReferenceBase, decision: GateDecision) -> bool:
    """The same change was decided the same way, or an officer decided it: nothing new to say."""
    return _same_change(previous, reference, decision.versions_added) and (
        (previous.kind, previous.officer, previous.status) == (decision.kind, decision.officer, decision.status)
        or previous.rule_id == OFFICER_RULE.id)


def _contradictory(decision: Decision, rule: GateRule, change: BaseChange, previous: GateDecision | None,
                   reference: ReferenceBase, added: str, policy: Policy, as_of: str) -> tuple[Status, str]:
    """The status of a decision and what to add to its sentence: an automated overpayment is NOTIFIED first and
    FINAL once the policy's contradictory period has passed with the same change (CSS R133-9-2: 20 days to ask
    for the data to be corrected; a correction request opened meanwhile holds it: DRM-GAT-001)."""
    days = policy.gate.contradictory_days
    if not (days and decision is Decision.REGULARISE and rule.id != OFFICER_RULE.id
            and change.estimated_impact_cents < 0):
        return decision.status, ""
    notified = (previous is not None and previous.status == Status.NOTIFIED.value
                and previous.kind == decision.value and _same_change(previous, reference, added))
    today = date.fromisoformat(day_of_instant(as_of))
    if not notified:
        deadline = today + timedelta(days=days)
        return Status.NOTIFIED, (
            f"Ce trop-perçu vous est d'abord notifié : vous avez jusqu'au {deadline:%d/%m/%Y} ({days} jours) pour "
            "demander la correction des données à l'employeur ou à l'organisme qui les a déclarées (CSS R133-9-2) ; "
            "une demande ouverte suspend la régularisation. Sans demande, elle deviendra définitive à cette date.")
    since = date.fromisoformat(day_of_instant(previous.as_of))
    if (today - since).days < days:
        return Status.NOTIFIED, ""
    return Status.FINAL, (f"Le délai de {days} jours ouvert le {since:%d/%m/%Y} pour demander la correction des "
                          "données est écoulé sans demande : la régularisation notifiée devient définitive.")


@dataclass
class _Choice:
    """What a decision is being made of: the row (or the officer) that decides, its id and its sentence."""

    rule: GateRule
    decision: Decision
    decision_id: str
    explain: str
    officer: dict


NO_OFFICER = {"officer": None, "officer_reason": None, "spread_months": None}


def _carry(choice: _Choice, answered_before: GateDecision | None, compared: _Compared, policy: Policy) -> None:
    """An officer already answered a change of this very base (kept it frozen): a newer revision keeps the
    answer when it moves the effect by less than the de minimis, and goes back to an officer otherwise."""
    reference, change = compared.reference, compared.change
    if choice.decision is not Decision.REVIEW_CAP or answered_before is None \
            or answered_before.frozen_base_id != reference.base_id:
        return
    drift = abs(change.estimated_impact_cents - answered_before.estimated_impact_cents)
    if drift >= policy.gate.benefits[reference.benefit].de_minimis_cents:
        choice.explain = f"{choice.explain} {_requeued_sentence(answered_before, drift)}"
        return
    choice.rule, choice.decision = OFFICER_RULE, Decision(answered_before.kind)
    choice.decision_id = _decision_id(choice.decision_id, "carried", answered_before.decision_id)
    choice.officer = {"officer": answered_before.officer, "officer_reason": answered_before.officer_reason,
                      "spread_months": answered_before.spread_months}
    choice.explain = _carried_sentence(answered_before, change, compared.label, drift)


def _answered(choice: _Choice, answer: OfficerAnswer, compared: _Compared) -> None:
    choice.rule, choice.decision = OFFICER_RULE, OFFICER_DECISIONS[answer.action]
    choice.decision_id = _decision_id(choice.decision_id, answer.action, str(answer.spread_months))
    choice.officer = {"officer": answer.officer, "officer_reason": answer.reason, "spread_months": answer.spread_months}
    choice.explain = _officer_sentence(answer, compared.change, compared.label)


def _decide(compared: _Compared, person_key: str, previous: GateDecision | None, *, policy: Policy, as_of: str,
            officer: dict[str, OfficerAnswer], rules: tuple[GateRule, ...], estimator: Estimator,
            seen: frozenset[str] = frozenset(), answered_before: GateDecision | None = None) -> GateDecision:
    """The decision on one change: the table's first applying row, or the officer's answer to it. ``seen``: the
    ids of the person's earlier decisions: a decision that comes back after another (held, then capped again)
    gets an id of its own, so that a trail never holds two decisions under one id. ``answered_before``: the
    latest officer decision on this base (carried forward or shown again, never lost)."""
    reference, now, change = compared.reference, compared.now, compared.change
    rule = first_applying(change, policy.gate, policy.gate.benefits[reference.benefit], rules)
    added = " ".join(sorted(set(now.versions_used.split()) - set(reference.versions_used.split())))
    decision_id = _decision_id(person_key, reference.benefit, reference.reference_month, reference.base_id,
                               now.versions_used, rule.decision.value, policy.version)
    if decision_id in seen and previous is not None and previous.decision_id != decision_id:
        decision_id = _decision_id(decision_id, previous.decision_id)
    choice = _Choice(rule, rule.decision, decision_id, _sentence(rule, change, compared.label), dict(NO_OFFICER))
    # The officer answers the REVIEW_CAP decision they were shown: the previous one when it was on this change.
    answer = officer.get(previous.decision_id if _same_change(previous, reference, added)
                         and previous.kind == Decision.REVIEW_CAP.value else decision_id)
    if answer is not None:
        _answered(choice, answer, compared)
    else:
        _carry(choice, answered_before, compared, policy)
    status, notice = _contradictory(choice.decision, choice.rule, change, previous, reference, added, policy, as_of)
    if status is Status.FINAL and notice:
        choice.decision_id = _decision_id(choice.decision_id, "final")
    explain = f"{choice.explain} {_period_sentence(compared)}" if compared.paid else choice.explain
    explain = f"{explain} {notice}" if notice else explain
    recovery = None
    if choice.decision.refreezes and change.estimated_impact_cents < 0 and policy.recovery is not None:
        recovery = plan(-change.estimated_impact_cents, policy.recovery, choice.officer["spread_months"])
        explain = f"{explain} {recovery_sentence(recovery, policy.recovery)}"
    return GateDecision(
        decision_id=choice.decision_id, person_key=person_key, benefit=reference.benefit,
        reference_month=reference.reference_month, kind=choice.decision.value, status=status.value,
        rule_id=choice.rule.id, explain=explain, frozen_base_id=reference.base_id, new_base_id=now.base_id,
        frozen_base_cents=reference.base_cents, new_base_cents=now.base_cents,
        base_change_cents=change.base_change_cents,
        monthly_changes=" ".join(f"{m}:{d:+d}" for m, d in change.monthly_changes),
        estimated_impact_cents=change.estimated_impact_cents, estimator=estimator.name,
        versions_added=added, supersedes=previous.decision_id if previous else None,
        policy_version=policy.version, as_of=as_of, **choice.officer,
        recovery_monthly_cents=recovery.monthly_cents if recovery else None,
        recovery_months=recovery.months if recovery else None)


def paying_benefits(policy: Policy, as_of: str) -> set[str]:
    """The benefits whose bases the gate publishes and gates at ``as_of``: none before the gate's effective date;
    never a comparison base (policy ``comparison: true``: computed and reported only). A person with no frozen
    base gets each new base of these published as it is (``gate_person``)."""
    if day_of_instant(as_of) < policy.gate.effective_from:
        return set()
    return {base_policy.benefit for base_policy in policy.bases if not base_policy.comparison}


def gate_person(view: PersonView, flags: Iterable[FloatingFlag], new_bases: list[ReferenceBase],
                frozen: dict[tuple[str, str], ReferenceBase], last: dict[tuple[str, str], GateDecision], *,
                policy: Policy, as_of: str, open_requests: set[str], officer: dict[str, OfficerAnswer],
                estimator: Estimator, rules: tuple[GateRule, ...] = GATE_RULES, seen: frozenset[str] = frozenset(),
                answered: dict[tuple[str, str], GateDecision] | None = None,
                unchanged: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
                ) -> tuple[list[ReferenceBase], list[GateDecision], list[dict]]:
    """(bases published now, decisions taken now, the claimant's notices of them) for one person. ``frozen``/``last``/``answered`` (the latest
    officer decision): by (benefit, month M); ``open_requests``: the months of this person with a correction
    request open; ``unchanged``: (benefit, month M) of frozen bases known to be the same recomputed now
    (``gateway.versioning.bases.unchanged_bases``): not compared again (``_compare`` would find no change)."""
    gate = policy.gate
    paying = paying_benefits(policy, as_of)
    if not paying:
        return [], [], []
    base_policies = {base_policy.benefit: base_policy for base_policy in policy.bases}
    published = [base for base in new_bases
                 if base.benefit in paying and (base.benefit, base.reference_month) not in frozen]
    published_now = {(base.benefit, base.reference_month) for base in published}   # nothing to compare yet
    flags = list(flags)
    unstable = _unstable_months(flags, gate.unstable_rules)
    floating = {flag.key for flag in flags}
    decisions: list[GateDecision] = []
    notices: list[dict] = []
    for (benefit, start), references in _periods(frozen, published_now, base_policies, gate.benefits, paying):
        references = [reference for reference in references if (benefit, reference.reference_month) not in unchanged]
        if not references:
            continue
        compared = _period_change(references, start, base_policies[benefit], view=view, policy=policy, as_of=as_of,
                                  floating=floating, unstable=unstable, open_requests=open_requests,
                                  estimator=estimator)
        if compared is None:
            continue
        reference, key = compared.reference, (benefit, compared.reference.reference_month)
        previous = last.get(key)
        decision = _decide(compared, view.person_key, previous, policy=policy, as_of=as_of, officer=officer,
                           rules=rules, estimator=estimator, seen=seen, answered_before=(answered or {}).get(key))
        if _decided_already(previous, reference, decision):
            continue                                  # no second event
        decisions.append(decision)
        notice = notice_of(decision, reference, compared.now, view, compared.label, gate.contradictory_days)
        if notice is not None:
            notices.append(notice)
        if Decision(decision.kind).refreezes and decision.status == Status.FINAL.value:
            # The regularised base is the new frozen reference (and so are the period's other bases, decided with it).
            published.extend([compared.now, *(other.now for other in compared.others)])
    return published, decisions, notices


def _periods(frozen: dict[tuple[str, str], ReferenceBase], published_now: set[tuple[str, str]],
             base_policies: dict[str, BasePolicy], gated: dict, paying: set[str],
             ) -> list[tuple[tuple[str, str], list[ReferenceBase]]]:
    """The frozen bases to re-examine, by (benefit, first month of the payment period they pay): one decision per
    benefit and period (a period holds several bases only when an earlier policy published them more often)."""
    periods: dict[tuple[str, str], list[ReferenceBase]] = {}
    for (benefit, month_m), reference in sorted(frozen.items()):
        if benefit in gated and benefit in paying and (benefit, month_m) not in published_now:
            periods.setdefault((benefit, period_start(month_m, base_policies[benefit])), []).append(reference)
    return sorted(periods.items())


def _period_change(references: list[ReferenceBase], start: str, base_policy: BasePolicy, *, view: PersonView,
                   **compare) -> _Compared | None:
    """The change the period's decision is taken on, with the other changed bases of the period, or None."""
    changes = [compared for compared in (_compare(view, reference, base_policy, **compare) for reference in references)
               if compared is not None]
    if not changes:
        return None
    compared = _paying(changes, start)
    return replace(compared, paid=paid_months(start, base_policy),
                   others=tuple(other for other in changes if other is not compared))
