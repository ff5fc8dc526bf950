"""Recovery plans: the CSS D553-1 III scale of the shipped policy, computed by hand, and the reste à vivre.

Scale (2019 tranches): 48 € flat, then 25 % of 262..390 €, 35 % of 390..584 €, 45 % of 584..780 €, 60 % above
780 €. For the assumed RMP of 1,167 €: 48 + 0.25 x 128 + 0.35 x 194 + 0.45 x 196 + 0.60 x 387
= 48 + 32 + 67.90 + 88.20 + 232.20 = 468.30 € a month; the policy's reste à vivre (600 €) leaves 567 € to take.
"""
from dataclasses import replace

from hypothesis import given, settings, strategies as st

from gateway.gate.decisions import OfficerAnswer
from gateway.gate.recovery import plan, scale_deduction
from gateway.policy import load_policy
from tests.gateway.gate.test_gate import _april, _published, _rsa

RECOVERY = load_policy().recovery


def test_the_scale_takes_468_euros_30_a_month_from_the_assumed_income():
    assert scale_deduction(RECOVERY) == 46830


def test_an_overpayment_is_recovered_by_the_scale_amount_the_last_deduction_the_remainder():
    recovery = plan(100000, RECOVERY)                      # 1,000 €: 468.30 + 468.30 + 63.40
    assert (recovery.monthly_cents, recovery.months, recovery.last_cents) == (46830, 3, 6340)
    assert recovery.instalments() == [46830, 46830, 6340]
    assert plan(20000, RECOVERY).instalments() == [20000]  # less than a month's deduction: at once


def test_a_deduction_never_leaves_less_than_the_reste_a_vivre():
    tight = replace(RECOVERY, reste_a_vivre_cents=100000)  # 1,167 - 1,000 = 167 € a month at most
    assert plan(80000, tight).instalments() == [16700, 16700, 16700, 16700, 13200]
    none = plan(80000, replace(RECOVERY, reste_a_vivre_cents=120000))   # above the RMP: nothing to take
    assert (none.months, none.instalments()) == (0, [])


def test_an_officers_spread_asks_less_a_month_but_never_more_than_the_scale():
    assert plan(80000, RECOVERY, spread_months=6).instalments() == [13334] * 5 + [13330]
    assert plan(200000, RECOVERY, spread_months=2).monthly_cents == 46830     # 1,000 € a month is above it


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5_000_000), st.integers(1, 500_000), st.integers(0, 500_000), st.none() | st.integers(2, 12))
def test_every_plan_recovers_the_overpayment_exactly_and_no_month_goes_below_the_floor(overpayment, rmp, floor,
                                                                                     spread):
    policy = replace(RECOVERY, rmp_cents=rmp, reste_a_vivre_cents=floor)
    recovery = plan(overpayment, policy, spread)
    if recovery.months:       # checked by arithmetic: a 1-cent ceiling makes millions of instalments
        assert recovery.monthly_cents * (recovery.months - 1) + recovery.last_cents == overpayment
        assert 0 < recovery.last_cents <= recovery.monthly_cents <= min(rmp - floor, scale_deduction(policy))
    else:
        assert min(rmp - floor, scale_deduction(policy)) <= 0


def test_a_regularised_overpayment_carries_its_plan_in_the_decision_and_its_sentence(run_file):
    """+200 € of February resources: -200 € of RSA, regularised, recovered at once (less than a month's 468.30 €);
    an officer's spread of an 800 € overpayment over 6 months: 133.34 € a month, the last 133.30 €."""
    ledger = _published(run_file)
    [decision] = _rsa(ledger.ingest([_april(run_file, 228000)], "2025-07-20T08:00:00Z"))
    assert (decision.kind, decision.recovery_monthly_cents, decision.recovery_months) == ("REGULARISE", 20000, 1)
    assert "une seule retenue de 200,00 €" in decision.explain and "D553-1" in decision.explain
    ledger = _published(run_file)
    [review] = _rsa(ledger.ingest([_april(run_file, 288000)], "2025-07-20T08:00:00Z"))
    assert review.recovery_months is None                  # an officer decides first: no plan yet
    ledger.officer = {review.decision_id: OfficerAnswer(review.decision_id, "spread", 6, "Étalement demandé",
                                                        "agent-12", "2025-07-22T10:00:00Z")}
    [spread] = _rsa(ledger.ingest([], "2025-07-23T08:00:00Z"))
    assert (spread.recovery_monthly_cents, spread.recovery_months) == (13334, 6)
    assert "la dernière de 133,30 €" in spread.explain


def test_arrears_and_frozen_changes_carry_no_plan(run_file):
    for net_social, kind in ((108000, "REGULARISE"), (210000, "FREEZE_DE_MINIMIS")):
        ledger = _published(run_file)
        [decision] = _rsa(ledger.ingest([_april(run_file, net_social)], "2025-07-20T08:00:00Z"))
        assert decision.kind == kind and decision.recovery_months is None and "retenue" not in decision.explain
