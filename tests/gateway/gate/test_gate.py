"""The frozen-effects gate: each decision kind on a hand-computed change of a published RSA base.

Scenario: one person paid 2,080 € net social a month (March to May 2025). A run on 2025-07-05 publishes the
RSA base of the third quarter (M = July, M-4..M-2 = March..May: 6,240 €; it pays July to September). Then a
later DSN corrects April's net social amount (S21.G00.58 type 03 over April, attached back to April: an
annule-et-remplace is no longer admitted then, CT DSN §1.4.3.3); the gate compares the recomputed base with the
published one. With the linear estimator, RSA impact = -1.00 x change / 3 months x 3 months paid = -change.
"""
import json
import re
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
APRIL = date(2025, 4, 1)


def _published(run_file, policy=None) -> Ledger:
    ledger = Ledger(policy)
    for number in (3, 4, 5):
        month = date(2025, number, 1)
        end = B.month_end(2025, number)
        outcome = run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=end, period=(month, end))]), siret=SIRET,
                                        main_month=month), f"m{number}.dsn")
        ledger.ingest([outcome], f"2025-{number + 1:02d}-05T08:00:00Z")
    result = ledger.ingest([], "2025-07-05T08:00:00Z")
    assert {(b.benefit, b.reference_month, b.base_cents) for b in result.derived.published
            if b.benefit == "RSA"} == {("RSA", "2025-07", 624000)}
    return ledger


def _april(run_file, net_social: int, *, month: date = date(2025, 6, 1), before: int = 208000):
    """The DSN of ``month`` (its own pay, plus a correction bringing February's net social from ``before`` to
    ``net_social``)."""
    end = B.month_end(month.year, month.month)
    payment = B.a_payment(paid_on=end, period=(month, end),
                          extra_net_social=[(net_social - before, APRIL, date(2025, 4, 28))])
    return run_file(B.a_dsn_file((PERSON, [payment]), siret=SIRET, main_month=month), f"m{month:%Y%m}.dsn")


def _status(kind: str, rule: str) -> str:
    """Held and capped changes wait; an automated overpayment is first notified; the rest is final."""
    return "PENDING" if kind in ("REVIEW_CAP", "HOLD_CORRECTION") else "NOTIFIED" if rule == "DRM-GAT-007" else "FINAL"


def _rsa(result, reference_month="2025-07"):
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
    [decision] = _rsa(ledger.ingest([_april(run_file, net_social)], "2025-07-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id, decision.estimated_impact_cents) == (kind, rule, impact)
    assert decision.base_change_cents == net_social - 208000
    assert decision.monthly_changes == f"2025-04:{net_social - 208000:+d}"
    assert decision.estimator == "linear-v1" and "estimation" in decision.explain
    # An automated overpayment is first notified (20 days to ask for the data to be corrected), the rest final.
    assert decision.status == _status(kind, rule)


def test_an_open_correction_request_on_a_changed_month_holds_the_change(run_file):
    ledger = _published(run_file)
    ledger.open_requests = {ledger.state.versions[0].person_key: frozenset({"2025-04"})}
    [decision] = _rsa(ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id, decision.status) == ("HOLD_CORRECTION", "DRM-GAT-001", "PENDING")
    ledger.open_requests = {}
    [follow_up] = _rsa(ledger.ingest([], "2025-07-25T08:00:00Z"))
    assert follow_up.kind == "REVIEW_CAP" and follow_up.supersedes == decision.decision_id


def test_a_change_on_months_still_moving_is_held_as_unstable(run_file):
    ledger = _published(run_file)
    ledger.policy = replace(ledger.policy, gate=replace(ledger.policy.gate, unstable_rules=("DRM-FLT-003",)))
    [decision] = _rsa(ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id) == ("HOLD_UNSTABLE", "DRM-GAT-002")


def test_a_change_of_a_base_paid_more_than_two_years_ago_has_lapsed(run_file):
    ledger = _published(run_file)
    [decision] = _rsa(ledger.ingest([_april(run_file, 288000)], "2027-11-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id) == ("LAPSED", "DRM-GAT-003")


def test_a_decision_is_taken_once_and_a_regularised_base_becomes_the_new_reference(run_file):
    """A 200 € overpayment, notified on 20 July: nothing new on 21 July, final on 9 August (20 days later) and
    only then the new frozen reference: a later revision is measured from 6,440 €."""
    ledger = _published(run_file)
    [first] = _rsa(ledger.ingest([_april(run_file, 228000)], "2025-07-20T08:00:00Z"))
    assert (first.kind, first.status) == ("REGULARISE", "NOTIFIED")
    assert "jusqu'au 09/08/2025 (20 jours)" in first.explain
    assert _rsa(ledger.ingest([], "2025-07-21T08:00:00Z")) == []           # nothing new: no second event
    assert _rsa(ledger.ingest([], "2025-08-08T08:00:00Z")) == []           # 19 days: still notified
    [final] = _rsa(ledger.ingest([], "2025-08-09T08:00:00Z"))
    assert (final.kind, final.status, final.supersedes) == ("REGULARISE", "FINAL", first.decision_id)
    assert "devient définitive" in final.explain and final.decision_id != first.decision_id
    [second] = _rsa(ledger.ingest([_april(run_file, 238000, month=date(2025, 7, 1), before=228000)],
                                  "2025-08-12T08:00:00Z"))
    assert second.frozen_base_cents == 624000 + 20000 and second.base_change_cents == 10000


def test_a_correction_request_opened_during_the_contradictory_period_holds_the_overpayment(run_file):
    """Notified on 20 July; the claimant asks in August for April to be corrected: the gate holds it instead of
    making it final, and notifies it afresh once the request is closed."""
    ledger = _published(run_file)
    person = ledger.state.versions[0].person_key
    [first] = _rsa(ledger.ingest([_april(run_file, 228000)], "2025-07-20T08:00:00Z"))
    ledger.open_requests = {person: frozenset({"2025-04"})}
    [held] = _rsa(ledger.ingest([], "2025-08-10T08:00:00Z"))
    assert (held.kind, held.status, held.supersedes) == ("HOLD_CORRECTION", "PENDING", first.decision_id)
    ledger.open_requests = {}
    [again] = _rsa(ledger.ingest([], "2025-08-20T08:00:00Z"))
    assert (again.kind, again.status) == ("REGULARISE", "NOTIFIED") and "jusqu'au 09/09/2025" in again.explain


def test_an_overpayment_above_the_cap_leaves_the_gate_only_with_an_officer_decision(run_file):
    ledger = _published(run_file)
    [review] = _rsa(ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z"))
    assert review.kind == "REVIEW_CAP" and _rsa(ledger.ingest([], "2025-07-21T08:00:00Z")) == []
    ledger.officer = {review.decision_id: OfficerAnswer(review.decision_id, "spread", 6, "Étalement demandé par "
                                                        "l'allocataire", "agent-12", "2025-07-22T10:00:00Z")}
    [answer] = _rsa(ledger.ingest([], "2025-07-23T08:00:00Z"))
    assert (answer.kind, answer.rule_id, answer.spread_months, answer.officer) == (
        "OFFICER_SPREAD", "DRM-GAT-008", 6, "agent-12")
    assert answer.supersedes == review.decision_id and "6 mois" in answer.explain


def test_a_comparison_base_is_reported_but_never_published_nor_decided(run_file):
    """RSA_M3_M1 (policy ``comparison: true``) is in the bases dataset, not in the liquidation feed, and a
    revision that changes it raises no decision for it (issue 25: no comparison item in the review queue)."""
    ledger = Ledger()
    for number in (3, 4, 5):
        month = date(2025, number, 1)
        end = B.month_end(2025, number)
        ledger.ingest([run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=end, period=(month, end))]), siret=SIRET,
                                             main_month=month), f"m{number}.dsn")], f"2025-{number + 1:02d}-05T08:00:00Z")
    first = ledger.ingest([], "2025-07-05T08:00:00Z")
    assert "RSA_M3_M1" in {b.benefit for b in first.derived.bases}
    assert "RSA_M3_M1" not in {b.benefit for b in first.derived.published}
    revised = ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z")
    assert revised.derived.decisions and "RSA_M3_M1" not in {d.benefit for d in revised.derived.decisions}


def test_a_decision_that_comes_back_after_a_hold_gets_its_own_id_and_its_answer_is_applied(run_file):
    """Capped, held by a request, capped again: the trail holds three decisions under three ids, and the
    officer's answer to the latest is applied on the next run (it was lost when both caps shared one id)."""
    ledger = _published(run_file)
    person = ledger.state.versions[0].person_key
    [first] = _rsa(ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z"))
    ledger.open_requests = {person: frozenset({"2025-04"})}
    [held] = _rsa(ledger.ingest([], "2025-07-21T08:00:00Z"))
    ledger.open_requests = {}
    [again] = _rsa(ledger.ingest([], "2025-07-22T08:00:00Z"))
    assert [d.kind for d in (first, held, again)] == ["REVIEW_CAP", "HOLD_CORRECTION", "REVIEW_CAP"]
    assert len({first.decision_id, held.decision_id, again.decision_id}) == 3 and again.supersedes == held.decision_id
    ledger.officer = {again.decision_id: OfficerAnswer(again.decision_id, "keep-frozen", None, "Erreur manifeste "
                                                       "de l'employeur", "agent-7", "2025-07-22T10:00:00Z")}
    [answer] = _rsa(ledger.ingest([], "2025-07-23T08:00:00Z"))
    assert (answer.kind, answer.officer, answer.supersedes) == ("OFFICER_KEEP_FROZEN", "agent-7", again.decision_id)
    assert _rsa(ledger.ingest([], "2025-07-24T08:00:00Z")) == []            # decided: no second event


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
    arrears is regularised, the RSA base of July stays at 6,240 € (RSA impact = -change, see the module text)."""
    ledger = _published(run_file, load_policy(DROITS_FIGES))
    [decision] = _rsa(ledger.ingest([_april(run_file, net_social)], "2025-07-20T08:00:00Z"))
    assert (decision.kind, decision.rule_id, decision.estimated_impact_cents, decision.status) == (
        kind, rule, impact, _status(kind, rule))
    if kind == "DROITS_FIGES":
        assert "aucun indu" in decision.explain and "aucun rappel" in decision.explain
        # The base already used stays the reference: a later small revision is measured from 6,240 €.
        end = B.month_end(2025, 7)
        later = B.a_payment(paid_on=end, period=(date(2025, 7, 1), end),
                            extra_net_social=[(1000, APRIL, date(2025, 4, 28))])
        [next_one] = _rsa(ledger.ingest([run_file(B.a_dsn_file((PERSON, [later]), siret=SIRET,
                                                                main_month=date(2025, 7, 1)), "m202505.dsn")],
                                         "2025-07-25T08:00:00Z"))
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
    """+800 € of April resources (-800 € of RSA, above the cap), answered "keep frozen" by agent-7."""
    ledger = _published(run_file)
    [review] = _rsa(ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z"))
    ledger.officer = {review.decision_id: OfficerAnswer(review.decision_id, "keep-frozen", None, "Erreur manifeste "
                                                        "de l'employeur", "agent-7", "2025-07-21T10:00:00Z")}
    [kept] = _rsa(ledger.ingest([], "2025-07-22T08:00:00Z"))
    assert (kept.kind, kept.officer) == ("OFFICER_KEEP_FROZEN", "agent-7")
    return ledger, kept


def test_an_officers_answer_survives_a_new_small_revision_of_the_same_base(run_file):
    """April +10 € more (2,890 € instead of 2,880 €): -810 € of RSA against the same frozen 6,240 €, 10 € from
    the -800 € the officer answered, under the 27 € de minimis: the answer is carried forward, not re-queued."""
    ledger, kept = _kept_frozen(run_file)
    [carried] = _rsa(ledger.ingest([_april(run_file, 289000, month=date(2025, 7, 1), before=288000)],
                                   "2025-07-25T08:00:00Z"))
    assert (carried.kind, carried.rule_id, carried.officer, carried.officer_reason) == (
        "OFFICER_KEEP_FROZEN", "DRM-GAT-008", "agent-7", "Erreur manifeste de l'employeur")
    assert (carried.estimated_impact_cents, carried.frozen_base_cents, carried.supersedes) == (
        -81000, 624000, kept.decision_id)
    assert "est maintenue" in carried.explain and "10,00 €" in carried.explain
    assert _rsa(ledger.ingest([], "2025-07-26T08:00:00Z")) == []            # decided: no second event


def test_a_larger_revision_of_an_answered_base_goes_back_to_an_officer_with_the_first_answer_shown(run_file):
    """April +300 € more: -1,100 € of RSA, 300 € from the answered -800 €: a new REVIEW_CAP that says what the
    officer decided before."""
    ledger, kept = _kept_frozen(run_file)
    [again] = _rsa(ledger.ingest([_april(run_file, 318000, month=date(2025, 7, 1), before=288000)],
                                 "2025-07-25T08:00:00Z"))
    assert (again.kind, again.estimated_impact_cents, again.officer) == ("REVIEW_CAP", -110000, None)
    assert "Un agent avait décidé le 2025-07-22" in again.explain and "300,00 €" in again.explain


def test_an_overpayment_notice_tells_the_claimant_who_declared_what_and_how_to_dispute_it(run_file, tmp_path):
    """The 200 € overpayment of the RSA of July: the employer and the cause, April before and after, the
    effect, the plan, the date until which the data can be disputed (20 days after 20 July), the appeal route;
    written as JSON, HTML and text named by the decision's id."""
    from gateway.publish.notices import write_notices
    from gateway.values import euros
    ledger = _published(run_file)
    result = ledger.ingest([_april(run_file, 228000)], "2025-07-20T08:00:00Z")
    [decision] = _rsa(result)
    [notice] = [n for n in result.derived.notices if n["decision_id"] == decision.decision_id]
    assert notice["subject"] == "Trop-perçu (revenu de solidarité active) pour juillet 2025 après une révision de vos " \
                                "ressources"
    [source] = notice["sources"]
    assert (source["declarant_id"], source["kind"], source["months"]) == (SIRET, "employeur", ["avril 2025"])
    assert "PNDS" in source["how_to_dispute"]
    assert notice["months"] == [{"month": "2025-04", "label": "avril 2025", "before_cents": 208000,
                                 "after_cents": 228000, "before": "2\u202f080,00 €", "after": "2\u202f280,00 €"}]
    assert notice["effect"] == "un trop-perçu (indu) estimé de 200,00 €" and notice["dispute_deadline"] == "2025-08-09"
    assert notice["recovery"] == {"monthly_cents": 20000, "months": 1, "last_cents": 20000,
                                  "monthly": euros(20000), "last": euros(20000)}
    assert "commission de recours amiable" in notice["appeal"] and "R133-9-2" in notice["legal_basis"]
    write_notices(str(tmp_path), result.derived.notices)
    stem = tmp_path / "notices" / decision.decision_id
    html, text = stem.with_suffix(".html").read_text(), stem.with_suffix(".txt").read_text()
    assert "avant le 09/08/2025" in html and "2\u202f280,00 €" in text and PERSON.nir not in html + text
    assert json.loads(stem.with_suffix(".json").read_text())["decision_id"] == decision.decision_id


def test_no_notice_for_a_change_that_waits_or_changes_nothing(run_file):
    for net_social in (288000, 210000):               # capped for an officer; under the de minimis
        ledger = _published(run_file)
        result = ledger.ingest([_april(run_file, net_social)], "2025-07-20T08:00:00Z")
        assert _rsa(result) and not [n for n in result.derived.notices if n["benefit"] == "RSA"]


def test_a_revision_in_every_rsa_window_gives_one_decision_per_paying_benefit_for_the_quarter(run_file):
    """April +800 € of net social resources is in the windows of RSA M-4..M-2 (March..May), of RSA M-3..M-1 (April..June,
    for comparison) and of PA (March..May) for the quarter paid from July. One decision for RSA (-800 €, above the
    500 € cap: for an officer), one for PA (-0.39 x 800 € = -312 €: notified), none for the comparison base, and
    none on another reference month: the quarter's base is the only one that pays July to September. (Net social
    only: housing aid counts net taxable income, which does not change.)"""
    ledger = _published(run_file)
    result = ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z")
    decisions = sorted((d.benefit, d.reference_month, d.kind, d.estimated_impact_cents)
                       for d in result.derived.decisions)
    assert decisions == [("PA", "2025-07", "REGULARISE", -31200), ("RSA", "2025-07", "REVIEW_CAP", -80000)]
    assert all("Cette décision vaut pour les mois payés de juillet 2025 à septembre 2025." in d.explain
               for d in result.derived.decisions)


def test_bases_published_monthly_under_an_earlier_policy_are_decided_once_per_quarter(run_file, tmp_path):
    """A register whose RSA bases were published every month (May, June, July: an earlier policy) then read under
    the quarterly policy: a +200 € revision of March changes all three, but May and June pay the second quarter
    and July the third, so there are two RSA decisions, not three. The second quarter's is taken on June's base
    (the latest; no base was computed for April) and names May's; each is -200 € (-1.00 x 200 € / 3 x 3)."""
    text = default_policy_path().read_text(encoding="utf-8")
    monthly = re.sub(r"recompute: quarterly +# the quarterly declaration \(DTR\).*", "recompute: monthly", text)
    assert monthly != text
    (tmp_path / "monthly.yaml").write_text(monthly, encoding="utf-8")
    ledger = Ledger(load_policy(tmp_path / "monthly.yaml"))
    for number in (1, 2, 3, 4, 5):
        month, end = date(2025, number, 1), B.month_end(2025, number)
        ledger.ingest([run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=end, period=(month, end))]), siret=SIRET,
                                             main_month=month), f"m{number}.dsn")], f"2025-{number + 1:02d}-05T08:00:00Z")
    ledger.ingest([], "2025-07-05T08:00:00Z")
    assert {b.reference_month for b in ledger.state.frozen if b.benefit == "RSA"} >= {"2025-05", "2025-06", "2025-07"}
    ledger.policy = load_policy()
    end = B.month_end(2025, 7)
    payment = B.a_payment(paid_on=end, period=(date(2025, 7, 1), end),
                          extra_net_social=[(20000, date(2025, 3, 1), date(2025, 3, 31))])
    result = ledger.ingest([run_file(B.a_dsn_file((PERSON, [payment]), siret=SIRET, main_month=date(2025, 7, 1)),
                                     "m202507.dsn")], "2025-07-20T08:00:00Z")
    rsa = sorted((d for d in result.derived.decisions if d.benefit == "RSA"), key=lambda d: d.reference_month)
    assert [(d.reference_month, d.estimated_impact_cents) for d in rsa] == [("2025-06", -20000), ("2025-07", -20000)]
    assert "mois payés d'avril 2025 à juin 2025" in rsa[0].explain and "(mois 2025-05)" in rsa[0].explain
    assert "mois payés de juillet 2025 à septembre 2025" in rsa[1].explain and "(mois" not in rsa[1].explain
    # Both overpayments are notified, final 20 days later; then the period's bases are all the new reference: the
    # second quarter is not decided again on May's base.
    assert [d.status for d in rsa] == ["NOTIFIED", "NOTIFIED"]
    final = ledger.ingest([], "2025-08-10T08:00:00Z")
    assert sorted((d.reference_month, d.status) for d in final.derived.decisions if d.benefit == "RSA") == [
        ("2025-06", "FINAL"), ("2025-07", "FINAL")]
    assert [d for d in ledger.ingest([], "2025-08-11T08:00:00Z").derived.decisions if d.benefit == "RSA"] == []


def test_a_base_cannot_pay_longer_than_its_update_period(tmp_path):
    """A base recomputed monthly that paid three months would overlap the next two bases: one revision would be
    decided three times. The policy file is refused, naming the field."""
    text = default_policy_path().read_text(encoding="utf-8")
    broken = re.sub(r"recompute: quarterly +# the quarterly declaration \(DTR\).*", "recompute: monthly",
                    text.replace("RSA: {impact_rate: 1.00,", "RSA: {impact_rate: 1.00, paid_months: 3,"))
    path = tmp_path / "policy.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"gate.benefits.RSA.paid_months.*expected 1"):
        load_policy(path)
