"""The frozen-effects gate: each decision kind on a hand-computed change of a published RSA base.

Scenario: one person paid 2,080 € net social a month (January to March 2025). A run on 2025-05-05
publishes the RSA base of May (M-4..M-2 = January..March: 6,240 €). Then a later DSN corrects February's
net social amount (S21.G00.58 type 03 over February, attached back to February: an annule-et-remplace is
no longer admitted then, CT DSN §1.4.3.3); the gate compares the recomputed base with the published one.
With the linear estimator, RSA impact = -1.00 x change / 3 months x 3 months paid = -change.
"""
import json
from dataclasses import replace
from datetime import date

import pytest

from fixtures import builders as B
from gateway.errors import ConfigurationError
from gateway.gate.decisions import OfficerAnswer
from gateway.policy import load_policy
from gateway.policy.model import default_policy_path
from tests.gateway.versioning.ledger import Ledger

PERSON = B.a_person()
SIRET = B.siret_from(B.siren_from(12))
FEBRUARY = date(2025, 2, 1)


def _published(run_file, policy=None) -> Ledger:
    ledger = Ledger(policy)
    for number in (1, 2, 3):
        month = date(2025, number, 1)
        end = B.month_end(2025, number)
        outcome = run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=end, period=(month, end))]), siret=SIRET,
                                        main_month=month), f"m{number}.dsn")
        ledger.ingest([outcome], f"2025-{number + 1:02d}-05T08:00:00Z")
    result = ledger.ingest([], "2025-05-05T08:00:00Z")
    assert {(b.benefit, b.reference_month, b.base_cents) for b in result.derived.published
            if b.benefit == "RSA"} == {("RSA", "2025-05", 624000)}
    return ledger


def _february(run_file, net_social: int, *, month: date = date(2025, 4, 1), before: int = 208000):
    """The DSN of ``month`` (its own pay, plus a correction bringing February's net social from ``before`` to
    ``net_social``)."""
    end = B.month_end(month.year, month.month)
    payment = B.a_payment(paid_on=end, period=(month, end),
                          extra_net_social=[(net_social - before, FEBRUARY, date(2025, 2, 28))])
    return run_file(B.a_dsn_file((PERSON, [payment]), siret=SIRET, main_month=month), f"m{month:%Y%m}.dsn")


def _status(kind: str, rule: str) -> str:
    """Held and capped changes wait; an automated overpayment is first notified; the rest is final."""
    return "PENDING" if kind in ("REVIEW_CAP", "HOLD_CORRECTION") else "NOTIFIED" if rule == "DRM-GAT-007" else "FINAL"


def _rsa(result, reference_month="2025-05"):
    return [d for d in result.derived.decisions if d.benefit == "RSA" and d.reference_month == reference_month]


@pytest.mark.parametrize("net_social, kind, rule, impact", [
    (210000, "FREEZE_DE_MINIMIS", "DRM-GAT-005", -2000),      # +20 € of resources: -20 € < 27 € de minimis
    (228000, "REGULARISE", "DRM-GAT-007", -20000),            # +200 €: an overpayment under the 500 € cap
    (288000, "REVIEW_CAP", "DRM-GAT-006", -80000),            # +800 €: above the cap, an officer decides
    (108000, "REGULARISE", "DRM-GAT-004", 100000),            # -1,000 €: arrears in the claimant's favour pass
])
def test_a_revision_of_a_published_base_gets_the_decision_of_the_first_rule_that_applies(run_file, net_social, kind,
                                                                                          rule, impact):
    ledger = _published(run_file)
    [decision] = _rsa(ledger.ingest([_february(run_file, net_social)], "2025-05-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id, decision.estimated_impact_cents) == (kind, rule, impact)
    assert decision.base_change_cents == net_social - 208000
    assert decision.monthly_changes == f"2025-02:{net_social - 208000:+d}"
    assert decision.estimator == "linear-v1" and "estimation" in decision.explain
    # An automated overpayment is first notified (20 days to ask for the data to be corrected), the rest final.
    assert decision.status == _status(kind, rule)


def test_an_open_correction_request_on_a_changed_month_holds_the_change(run_file):
    ledger = _published(run_file)
    ledger.open_requests = {ledger.state.versions[0].person_key: frozenset({"2025-02"})}
    [decision] = _rsa(ledger.ingest([_february(run_file, 288000)], "2025-05-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id, decision.status) == ("HOLD_CORRECTION", "DRM-GAT-001", "PENDING")
    ledger.open_requests = {}
    [follow_up] = _rsa(ledger.ingest([], "2025-05-25T08:00:00Z"))
    assert follow_up.kind == "REVIEW_CAP" and follow_up.supersedes == decision.decision_id


def test_a_change_on_months_still_moving_is_held_as_unstable(run_file):
    ledger = _published(run_file)
    ledger.policy = replace(ledger.policy, gate=replace(ledger.policy.gate, unstable_rules=("DRM-FLT-003",)))
    [decision] = _rsa(ledger.ingest([_february(run_file, 288000)], "2025-05-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id) == ("HOLD_UNSTABLE", "DRM-GAT-002")


def test_a_change_of_a_base_paid_more_than_two_years_ago_has_lapsed(run_file):
    ledger = _published(run_file)
    [decision] = _rsa(ledger.ingest([_february(run_file, 288000)], "2027-09-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id) == ("LAPSED", "DRM-GAT-003")


def test_a_decision_is_taken_once_and_a_regularised_base_becomes_the_new_reference(run_file):
    """A 200 € overpayment, notified on 20 May: nothing new on 21 May, final on 9 June (20 days later) and only
    then the new frozen reference: a later revision is measured from 6,440 €."""
    ledger = _published(run_file)
    [first] = _rsa(ledger.ingest([_february(run_file, 228000)], "2025-05-20T08:00:00Z"))
    assert (first.kind, first.status) == ("REGULARISE", "NOTIFIED")
    assert "jusqu'au 09/06/2025 (20 jours)" in first.explain
    assert _rsa(ledger.ingest([], "2025-05-21T08:00:00Z")) == []           # nothing new: no second event
    assert _rsa(ledger.ingest([], "2025-06-08T08:00:00Z")) == []           # 19 days: still notified
    [final] = _rsa(ledger.ingest([], "2025-06-09T08:00:00Z"))
    assert (final.kind, final.status, final.supersedes) == ("REGULARISE", "FINAL", first.decision_id)
    assert "devient définitive" in final.explain and final.decision_id != first.decision_id
    [second] = _rsa(ledger.ingest([_february(run_file, 238000, month=date(2025, 5, 1), before=228000)],
                                  "2025-06-12T08:00:00Z"))
    assert second.frozen_base_cents == 624000 + 20000 and second.base_change_cents == 10000


def test_a_correction_request_opened_during_the_contradictory_period_holds_the_overpayment(run_file):
    """Notified on 20 May; the claimant asks on 1 June for February to be corrected: the gate holds it instead of
    making it final, and notifies it afresh once the request is closed."""
    ledger = _published(run_file)
    person = ledger.state.versions[0].person_key
    [first] = _rsa(ledger.ingest([_february(run_file, 228000)], "2025-05-20T08:00:00Z"))
    ledger.open_requests = {person: frozenset({"2025-02"})}
    [held] = _rsa(ledger.ingest([], "2025-06-10T08:00:00Z"))
    assert (held.kind, held.status, held.supersedes) == ("HOLD_CORRECTION", "PENDING", first.decision_id)
    ledger.open_requests = {}
    [again] = _rsa(ledger.ingest([], "2025-06-20T08:00:00Z"))
    assert (again.kind, again.status) == ("REGULARISE", "NOTIFIED") and "jusqu'au 10/07/2025" in again.explain


def test_an_overpayment_above_the_cap_leaves_the_gate_only_with_an_officer_decision(run_file):
    ledger = _published(run_file)
    [review] = _rsa(ledger.ingest([_february(run_file, 288000)], "2025-05-20T08:00:00Z"))
    assert review.kind == "REVIEW_CAP" and _rsa(ledger.ingest([], "2025-05-21T08:00:00Z")) == []
    ledger.officer = {review.decision_id: OfficerAnswer(review.decision_id, "spread", 6, "Étalement demandé par "
                                                        "l'allocataire", "agent-12", "2025-05-22T10:00:00Z")}
    [answer] = _rsa(ledger.ingest([], "2025-05-23T08:00:00Z"))
    assert (answer.kind, answer.rule_id, answer.spread_months, answer.officer) == (
        "OFFICER_SPREAD", "DRM-GAT-008", 6, "agent-12")
    assert answer.supersedes == review.decision_id and "6 mois" in answer.explain


def test_a_comparison_base_is_reported_but_never_published_nor_decided(run_file):
    """RSA_M3_M1 (policy ``comparison: true``) is in the bases dataset, not in the liquidation feed, and a
    revision that changes it raises no decision for it (issue 25: no comparison item in the review queue)."""
    ledger = Ledger()
    for number in (1, 2, 3):
        month = date(2025, number, 1)
        end = B.month_end(2025, number)
        ledger.ingest([run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=end, period=(month, end))]), siret=SIRET,
                                             main_month=month), f"m{number}.dsn")], f"2025-{number + 1:02d}-05T08:00:00Z")
    first = ledger.ingest([], "2025-05-05T08:00:00Z")
    assert "RSA_M3_M1" in {b.benefit for b in first.derived.bases}
    assert "RSA_M3_M1" not in {b.benefit for b in first.derived.published}
    revised = ledger.ingest([_february(run_file, 288000)], "2025-05-20T08:00:00Z")
    assert revised.derived.decisions and "RSA_M3_M1" not in {d.benefit for d in revised.derived.decisions}


def test_a_decision_that_comes_back_after_a_hold_gets_its_own_id_and_its_answer_is_applied(run_file):
    """Capped, held by a request, capped again: the trail holds three decisions under three ids, and the
    officer's answer to the latest is applied on the next run (it was lost when both caps shared one id)."""
    ledger = _published(run_file)
    person = ledger.state.versions[0].person_key
    [first] = _rsa(ledger.ingest([_february(run_file, 288000)], "2025-05-20T08:00:00Z"))
    ledger.open_requests = {person: frozenset({"2025-02"})}
    [held] = _rsa(ledger.ingest([], "2025-05-21T08:00:00Z"))
    ledger.open_requests = {}
    [again] = _rsa(ledger.ingest([], "2025-05-22T08:00:00Z"))
    assert [d.kind for d in (first, held, again)] == ["REVIEW_CAP", "HOLD_CORRECTION", "REVIEW_CAP"]
    assert len({first.decision_id, held.decision_id, again.decision_id}) == 3 and again.supersedes == held.decision_id
    ledger.officer = {again.decision_id: OfficerAnswer(again.decision_id, "keep-frozen", None, "Erreur manifeste "
                                                       "de l'employeur", "agent-7", "2025-05-22T10:00:00Z")}
    [answer] = _rsa(ledger.ingest([], "2025-05-23T08:00:00Z"))
    assert (answer.kind, answer.officer, answer.supersedes) == ("OFFICER_KEEP_FROZEN", "agent-7", again.decision_id)
    assert _rsa(ledger.ingest([], "2025-05-24T08:00:00Z")) == []            # decided: no second event


DROITS_FIGES = default_policy_path().parent / "examples" / "igas-droits-figes-n-1.yaml"


@pytest.mark.parametrize("net_social, kind, rule, impact", [
    (288000, "DROITS_FIGES", "DRM-GAT-009", -80000),      # +800 €: -800 € beyond the 300 € threshold: no indu
    (108000, "DROITS_FIGES", "DRM-GAT-009", 100000),      # -1,000 €: +1,000 € beyond it: no rappel either
    (228000, "REGULARISE", "DRM-GAT-007", -20000),        # +200 €: -200 € within it: the overpayment is regularised
    (178000, "REGULARISE", "DRM-GAT-004", 30000),         # -300 €: +300 €, not beyond it: the arrears are paid
    (210000, "FREEZE_DE_MINIMIS", "DRM-GAT-005", -2000),  # +20 €: under the 27 € de minimis, as before
])
def test_droits_figes_leave_changes_beyond_the_threshold_unregularised_both_ways(run_file, net_social, kind, rule,
                                                                                 impact):
    """The IGAS report's policy (§[164], §[167]): beyond 300 € of estimated effect neither the overpayment nor the
    arrears is regularised, the RSA base of May stays at 6,240 € (RSA impact = -change, see the module text)."""
    ledger = _published(run_file, load_policy(DROITS_FIGES))
    [decision] = _rsa(ledger.ingest([_february(run_file, net_social)], "2025-05-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id, decision.estimated_impact_cents, decision.status) == (
        kind, rule, impact, _status(kind, rule))
    if kind == "DROITS_FIGES":
        assert "aucun indu" in decision.explain and "aucun rappel" in decision.explain
        # The base already used stays the reference: a later small revision is measured from 6,240 €.
        end = B.month_end(2025, 5)
        later = B.a_payment(paid_on=end, period=(date(2025, 5, 1), end),
                            extra_net_social=[(1000, FEBRUARY, date(2025, 2, 28))])
        [next_one] = _rsa(ledger.ingest([run_file(B.a_dsn_file((PERSON, [later]), siret=SIRET,
                                                                main_month=date(2025, 5, 1)), "m202505.dsn")],
                                         "2025-05-25T08:00:00Z"))
        assert next_one.frozen_base_cents == 624000 and next_one.base_change_cents == net_social - 208000 + 1000


def test_a_policy_in_droits_figes_mode_needs_a_threshold_above_the_de_minimis(tmp_path):
    text = DROITS_FIGES.read_text(encoding="utf-8")
    for broken, message in ((text.replace(", droits_figes_cents: 30000}", "}"), "droits_figes_cents: missing"),
                            (text.replace("droits_figes_cents: 30000", "droits_figes_cents: 2000"),
                             "above the de minimis"),
                            (text.replace("mode: droits_figes", "mode: figés"), "expected one of review, droits_figes")):
        path = tmp_path / "policy.yaml"
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(ConfigurationError, match=message):
            load_policy(path)


@pytest.mark.parametrize("recompute, month, expected", [
    ("monthly", "2025-08", "2025-08"), ("quarterly", "2025-08", "2025-07"), ("half_yearly", "2025-08", "2025-07"),
    ("half_yearly", "2025-05", "2025-01"), ("yearly", "2025-08", "2025-01"), ("yearly", "2025-12", "2025-01"),
])
def test_a_base_is_computed_for_the_first_month_of_its_update_period(recompute, month, expected):
    from gateway.versioning.bases import reference_month
    policy = next(b for b in load_policy(DROITS_FIGES).bases if b.benefit == "AL")
    assert reference_month(f"{month}-20T08:00:00Z", replace(policy, recompute=recompute)) == expected


def test_housing_aid_over_the_calendar_year_n_1_sums_january_to_december_of_the_year_before(run_file):
    """AL in the report's policy: window [-12, -1] recomputed yearly, so in 2026 the base is M = January 2026 over
    January..December 2025. Twelve months of 2,080 € net social (1,800 € net taxable here): 12 x 1,800 € less
    the 10 % deduction = 19,440 €."""
    ledger = Ledger(load_policy(DROITS_FIGES))
    for number in range(1, 13):
        month = date(2025, number, 1)
        end = B.month_end(2025, number)
        payment = B.a_payment(paid_on=end, period=(month, end), net_taxable=180000)
        ledger.ingest([run_file(B.a_dsn_file((PERSON, [payment]), siret=SIRET, main_month=month),
                                f"m{number}.dsn")], f"{2025 + number // 12}-{number % 12 + 1:02d}-05T08:00:00Z")
    result = ledger.ingest([], "2026-03-10T08:00:00Z")
    [base] = [b for b in result.derived.bases if b.benefit == "AL"]
    assert (base.reference_month, base.base_cents) == ("2026-01", 12 * 180000 - 12 * 18000)


def _kept_frozen(run_file):
    """+800 € of February resources (-800 € of RSA, above the cap), answered "keep frozen" by agent-7."""
    ledger = _published(run_file)
    [review] = _rsa(ledger.ingest([_february(run_file, 288000)], "2025-05-20T08:00:00Z"))
    ledger.officer = {review.decision_id: OfficerAnswer(review.decision_id, "keep-frozen", None, "Erreur manifeste "
                                                        "de l'employeur", "agent-7", "2025-05-21T10:00:00Z")}
    [kept] = _rsa(ledger.ingest([], "2025-05-22T08:00:00Z"))
    assert (kept.kind, kept.officer) == ("OFFICER_KEEP_FROZEN", "agent-7")
    return ledger, kept


def test_an_officers_answer_survives_a_new_small_revision_of_the_same_base(run_file):
    """February +10 € more (2,890 € instead of 2,880 €): -810 € of RSA against the same frozen 6,240 €, 10 € from
    the -800 € the officer answered, under the 27 € de minimis: the answer is carried forward, not re-queued."""
    ledger, kept = _kept_frozen(run_file)
    [carried] = _rsa(ledger.ingest([_february(run_file, 289000, month=date(2025, 5, 1), before=288000)],
                                   "2025-05-25T08:00:00Z"))
    assert (carried.kind, carried.rule_id, carried.officer, carried.officer_reason) == (
        "OFFICER_KEEP_FROZEN", "DRM-GAT-008", "agent-7", "Erreur manifeste de l'employeur")
    assert (carried.estimated_impact_cents, carried.frozen_base_cents, carried.supersedes) == (
        -81000, 624000, kept.decision_id)
    assert "est maintenue" in carried.explain and "10,00 €" in carried.explain
    assert _rsa(ledger.ingest([], "2025-05-26T08:00:00Z")) == []            # decided: no second event


def test_a_larger_revision_of_an_answered_base_goes_back_to_an_officer_with_the_first_answer_shown(run_file):
    """February +300 € more: -1,100 € of RSA, 300 € from the answered -800 €: a new REVIEW_CAP that says what the
    officer decided before."""
    ledger, kept = _kept_frozen(run_file)
    [again] = _rsa(ledger.ingest([_february(run_file, 318000, month=date(2025, 5, 1), before=288000)],
                                 "2025-05-25T08:00:00Z"))
    assert (again.kind, again.estimated_impact_cents, again.officer) == ("REVIEW_CAP", -110000, None)
    assert "Un agent avait décidé le 2025-05-22" in again.explain and "300,00 €" in again.explain


def test_an_overpayment_notice_tells_the_claimant_who_declared_what_and_how_to_dispute_it(run_file, tmp_path):
    """The 200 € overpayment of the RSA of May: the employer and the cause, February before and after, the
    effect, the plan, the date until which the data can be disputed (20 days after 20 May), the appeal route;
    written as JSON, HTML and text named by the decision's id."""
    from gateway.publish.notices import write_notices
    from gateway.values import euros
    ledger = _published(run_file)
    result = ledger.ingest([_february(run_file, 228000)], "2025-05-20T08:00:00Z")
    [decision] = _rsa(result)
    [notice] = [n for n in result.derived.notices if n["decision_id"] == decision.decision_id]
    assert notice["subject"] == "Trop-perçu (revenu de solidarité active) pour mai 2025 après une révision de vos " \
                                "ressources"
    [source] = notice["sources"]
    assert (source["declarant_id"], source["kind"], source["months"]) == (SIRET, "employeur", ["février 2025"])
    assert "PNDS" in source["how_to_dispute"]
    assert notice["months"] == [{"month": "2025-02", "label": "février 2025", "before_cents": 208000,
                                 "after_cents": 228000, "before": "2\u202f080,00 €", "after": "2\u202f280,00 €"}]
    assert notice["effect"] == "un trop-perçu (indu) estimé de 200,00 €" and notice["dispute_deadline"] == "2025-06-09"
    assert notice["recovery"] == {"monthly_cents": 20000, "months": 1, "last_cents": 20000,
                                  "monthly": euros(20000), "last": euros(20000)}
    assert "commission de recours amiable" in notice["appeal"] and "R133-9-2" in notice["legal_basis"]
    write_notices(str(tmp_path), result.derived.notices)
    stem = tmp_path / "notices" / decision.decision_id
    html, text = stem.with_suffix(".html").read_text(), stem.with_suffix(".txt").read_text()
    assert "avant le 09/06/2025" in html and "2\u202f280,00 €" in text and PERSON.nir not in html + text
    assert json.loads(stem.with_suffix(".json").read_text())["decision_id"] == decision.decision_id


def test_no_notice_for_a_change_that_waits_or_changes_nothing(run_file):
    for net_social in (288000, 210000):               # capped for an officer; under the de minimis
        ledger = _published(run_file)
        result = ledger.ingest([_february(run_file, net_social)], "2025-05-20T08:00:00Z")
        assert _rsa(result) and not [n for n in result.derived.notices if n["benefit"] == "RSA"]
