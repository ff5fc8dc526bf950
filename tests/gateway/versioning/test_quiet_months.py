"""Months no floating rule can flag (``rules.floating.quiet``) are not looked at by the register: every floating
rule is silent on every quiet month (the rules are the oracle), and monthly registers give the same flags, bases
and decisions whether quiet months are skipped or every month goes through every rule."""
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import gateway.bucket
from fixtures.generator import Rates, generate
from gateway.bucket import GateInputs, committed, process_bucket
from gateway.gate.estimate import LinearEstimator
from gateway.ingest import process_file
from gateway.policy import load_policy
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.records import Flow, MonthHistory, VersionCause, VersionPoint
from gateway.validate.registry import DEFAULT_RULES, Target
from gateway.validate.rules.floating import SILENT_WHEN_QUIET, quiet
from gateway.versioning.register import BucketState, contributions_of, declaration_of_summary, mentions_of

POLICY = load_policy()
FLOATING = DEFAULT_RULES.for_target(Target.FLOATING)
_INSTANTS = st.sampled_from(["2025-03-02T00:00:00Z", "2025-03-20T00:00:00Z", "2025-05-01T00:00:00Z",
                             "2026-01-01T00:00:00Z"])
_POINTS = st.builds(VersionPoint, st.integers(1, 4), _INSTANTS,
                    st.one_of(st.just("INITIAL"), st.sampled_from([c.value for c in VersionCause])),
                    st.one_of(st.none(), st.integers(-10 ** 6, 10 ** 6)), st.just("f.dsn"), st.integers(1, 99))
_VERSIONS = st.one_of(st.lists(_POINTS, min_size=1, max_size=1), st.lists(_POINTS, max_size=3))   # mostly one


def test_the_quiet_rules_are_the_floating_rules_of_the_catalogue():
    """A floating rule added to the catalogue is not skipped on quiet months until it is proven silent there."""
    assert SILENT_WHEN_QUIET == {rule.id for rule in FLOATING}


@settings(max_examples=400, deadline=None)
@given(_VERSIONS, st.integers(0, 3), st.booleans(), st.booleans(), st.sampled_from(["", "2025-04-20"]),
       st.floats(0, 1), st.integers(0, 30), _INSTANTS)
@example([VersionPoint(1, "2025-05-01T00:00:00Z", "INITIAL", 100, "f.dsn", 1)], 1, False, False, "", 0.9, 30,
         "2025-05-01T00:00:00Z")                      # a declarant that often corrects (DRM-FLT-004)
@example([VersionPoint(1, "2025-03-02T00:00:00Z", "INITIAL", 100, "f.dsn", 1)], 1, False, False, "", 0.0, 0,
         "2025-03-02T00:00:00Z")
@example([VersionPoint(1, "2025-03-02T00:00:00Z", "FORCED", None, "f.dsn", 1)], 0, False, False, "", 0.9, 3,
         "2025-05-01T00:00:00Z")
def test_no_floating_rule_flags_a_quiet_month(versions, payments, spanning, missing, late_replacement, rate, months,
                                             as_of):
    history = MonthHistory(declarant_id="12345678900011", flow=Flow.DSN, nature="SALARY", month="2025-02",
                           as_of=as_of, versions=tuple(versions), payment_count=payments, spanning_allowance=spanning,
                           expected_missing=missing, late_replacement=late_replacement,
                           declarant_revision_rate=rate, declarant_months=months)
    floating = POLICY.floating
    if quiet(len(versions), versions[0].cause if versions else "", payments, spanning, missing, late_replacement,
             rate, months, floating):
        assert [rule.id for rule in FLOATING for _ in rule.check(history, floating)] == []


def _monthly(folder: Path) -> list:
    """Each month of ``folder`` merged at the first of the month into the register of the months before (one
    bucket), as monthly runs do; the derived flags, bases, published bases and decisions of every month."""
    registry, pseudonyms = DEFAULT_RULES, Pseudonymiser(DEMO_KEY)
    gate = GateInputs({}, {}, LinearEstimator())
    state, known, derived = BucketState(), [], []
    for month in sorted(p for p in folder.iterdir() if p.is_dir()):
        as_of = f"{month.name[:7]}-01T00:00:00Z"
        outcomes = [process_file(str(path), registry, pseudonyms) for path in sorted(month.rglob("*.dsn"))]
        arriving = sorted((declaration_of_summary(s, as_of) for o in outcomes for s in o.summaries),
                          key=lambda d: (d.transaction_time, d.file, d.first_line))
        result = process_bucket(state, known=list(known), arriving=arriving,
                                contributions=[c for o in outcomes for c in contributions_of(o.resources)],
                                mentions=[m for o in outcomes for m in mentions_of(o)], run_id=f"run-{month.name}",
                                as_of=as_of, policy=POLICY, rules=FLOATING, declarant_rows=[], gate=gate)
        state = committed(state, result)
        known.extend(arriving)
        derived.append((result.derived.flags, result.derived.bases, result.derived.published,
                        result.derived.decisions))
    return derived


@pytest.mark.parametrize("seed", [3, 8])
def test_monthly_registers_derive_the_same_with_quiet_months_skipped(tmp_path, monkeypatch, seed):
    """Eight months of flows with late declarations, replacements, régularisations, back pay, net social
    corrections, several employers and paying bodies, and defects: the same outputs month after month."""
    generate(tmp_path, people=40, employers=3, bodies=2, months=8, seed=seed,
             rates=Rates(late=0.15, replacement=0.15, regularisation=0.1, back_pay=0.1, net_social_correction=0.1,
                         defects=0.1))
    skipping = _monthly(tmp_path)
    flags = [flag for month in skipping for flag in month[0]]
    assert flags and {flag.rule_id for flag in flags} >= {"DRM-FLT-001", "DRM-FLT-003", "DRM-FLT-008"}
    monkeypatch.setattr(gateway.bucket, "SILENT_WHEN_QUIET", frozenset())       # every month through every rule
    assert _monthly(tmp_path) == skipping
