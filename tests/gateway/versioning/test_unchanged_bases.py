"""The frozen bases the gate does not compare one by one: those found over the columns to be the same recomputed now
(``bases.unchanged_bases``) are exactly those its comparison (``decisions._compare``, the oracle) finds unchanged,
but for the periods it leaves to the comparison (daily allowances a paying body declared: possibly counted twice)."""
from dataclasses import replace
from datetime import date

import pytest

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.bucket import _by_person, _latest
from gateway.gate.decisions import _compare
from gateway.gate.estimate import estimator_named
from gateway.options import Settings
from gateway.policy import load_policy
from gateway.records import Flow, ResourceNature
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.bases import _window, current_versions, unchanged_bases
from gateway.versioning.horizon import open_from, within
from gateway.versioning.view import people_as_of
from tests.conftest import TEST_KEY
from tests.gateway.versioning.ledger import Ledger


@pytest.fixture(scope="module")
def monthly(tmp_path_factory):
    """Eight months of generated flows with revisions of every kind, run month by month into one bucket."""
    root = tmp_path_factory.mktemp("unchanged-bases")
    generate(root / "flows", people=50, employers=4, bodies=2, months=8, seed=61,
             rates=Rates(replacement=0.3, late=0.2, regularisation=0.2, back_pay=0.1, net_social_correction=0.2,
                         pasrau=0.5))
    out = root / "out"
    runs = [run(Settings((str(folder),), str(out), TEST_KEY, buckets=1))
            for folder in sorted(path for path in (root / "flows").iterdir() if path.is_dir())]
    path = out / "history" / "register"
    return path, [commit.run_id for commit in store.commits(path)], [result.manifest["as_of"] for result in runs]


def _paying_body_allowance(view, policy, month_m: str) -> bool:
    """Whether the period of ``month_m`` counts a daily allowance a paying body declared (net social amounts)."""
    return policy.amount == "net_social_cents" and any(
        key[2] == ResourceNature.DAILY_ALLOWANCE.value and view.flows.get(key[1]) == Flow.PASRAU.value
        and getattr(view.versions[key][-1], policy.amount) is not None
        for month in _window(month_m, policy.window) for key in view.keys_of(month))


@pytest.mark.parametrize("frozen_by", ["third-run", "sixth-run", "last-run"])
@pytest.mark.parametrize("as_of", ["last-run", "2026-01-12T08:00:00Z"])
def test_frozen_bases_told_unchanged_over_columns_are_those_the_gate_finds_unchanged(monthly, frozen_by, as_of):
    """The bases published by a run (frozen then), compared with the amounts known at the last run or in a later
    quarter: every base told unchanged is one the comparison finds unchanged; every other base the comparison finds
    unchanged counts a paying body's daily allowance; bases of both kinds, and changed ones, are met."""
    path, committed, dates = monthly
    as_of = dates[-1] if as_of == "last-run" else as_of
    until = {"third-run": dates[2], "sixth-run": dates[5], "last-run": dates[-1]}[frozen_by]
    policy = load_policy()
    policies = {base_policy.benefit: base_policy for base_policy in policy.bases}
    estimator = estimator_named(policy.gate.estimator)
    state = within(store.load_bucket(path, 0, committed), open_from(policy, as_of))
    frozen = _by_person(_latest([base for base in state.frozen if base.as_of <= until],
                                lambda b: (b.person_key, b.benefit, b.reference_month), lambda b: b.as_of))
    views = people_as_of(state, store.load_declarations(path, committed), as_of)
    unchanged = unchanged_bases(current_versions(state.versions, as_of, views, {}), policy.bases, frozen)
    told = left = changed = 0
    for person_key, bases in frozen.items():
        for (benefit, month_m), reference in bases.items():
            found = _compare(views[person_key], reference, policies[benefit], policy=policy, as_of=as_of,
                             floating=set(), unstable={}, open_requests=set(), estimator=estimator)
            if (benefit, month_m) in unchanged.get(person_key, ()):
                assert found is None, (benefit, month_m)
                told += 1
            elif found is None:
                assert _paying_body_allowance(views[person_key], policies[benefit], month_m), (benefit, month_m)
                left += 1
            else:
                changed += 1
    assert told > 50 and left > 0 and changed > 0


def _told(state, declarations, as_of: str, policy, references) -> set[tuple[str, str, str]]:
    """(person, benefit, month M) of ``references`` (frozen bases) told unchanged at ``as_of``."""
    views = people_as_of(state, declarations, as_of)
    frozen = _by_person({(b.person_key, b.benefit, b.reference_month): b for b in references})
    found = unchanged_bases(current_versions(state.versions, as_of, views, {}), policy.bases, frozen)
    return {(person_key, *key) for person_key, keys in found.items() for key in keys}


def test_an_amount_moved_to_another_month_of_the_period_is_a_change_though_the_base_is_the_same(monthly):
    """A frozen base whose months hold the same total differently spread (what a regularisation moving pay to the
    month it belonged to does) is compared: the gate decides on the months that changed."""
    path, committed, dates = monthly
    policy = load_policy()
    state = store.load_bucket(path, 0, committed)
    declarations = store.load_declarations(path, committed)
    reference = next(base for base in state.frozen if base.benefit == "RSA"
                     and len({item.split(":")[1] for item in base.monthly_cents.split()}) > 1
                     and _told(state, declarations, dates[-1], policy, [base]))
    months = [item.split(":") for item in reference.monthly_cents.split()]
    at = next(place for place in range(1, len(months)) if months[place][1] != months[0][1])
    (first, a), (second, b) = months[0], months[at]
    swapped = {first: b, second: a}
    moved = replace(reference, monthly_cents=" ".join(f"{m}:{swapped.get(m, c)}" for m, c in months))
    assert moved.base_cents == reference.base_cents
    assert not _told(state, declarations, dates[-1], policy, [moved])
    view = people_as_of(state, declarations, dates[-1])[reference.person_key]
    change = _compare(view, moved, next(p for p in policy.bases if p.benefit == "RSA"), policy=policy,
                      as_of=dates[-1], floating=set(), unstable={}, open_requests=set(),
                      estimator=estimator_named(policy.gate.estimator)).change
    assert change.base_change_cents == 0 and [month for month, _ in change.monthly_changes] == [first, second]


def test_a_negative_month_frozen_at_zero_is_told_unchanged(run_file):
    """RSA counts a negative month as zero: a base frozen so is the same recomputed from the same versions."""
    person, siret = B.a_person(), B.siret_from(B.siren_from(12))
    ledger = Ledger()
    for month, amounts in ((date(2025, 1, 1), {"net_social": -50000}), (date(2025, 2, 1), {})):
        end = B.month_end(month.year, month.month)
        outcome = run_file(B.a_dsn_file((person, [B.a_payment(paid_on=end, period=(month, end), **amounts)]),
                                        siret=siret, main_month=month), f"m{month:%Y%m}.dsn")
        ledger.ingest([outcome], f"2025-{month.month + 1:02d}-05T08:00:00Z")
    bases = ledger.at("2025-05-05T08:00:00Z").bases
    rsa = next(base for base in bases if base.benefit == "RSA")
    assert rsa.monthly_cents.startswith("2024-12:0 2025-01:0 ")
    told = _told(ledger.state, ledger.declarations, "2025-05-06T08:00:00Z", ledger.policy, list(bases))
    assert (rsa.person_key, "RSA", rsa.reference_month) in told
    assert {benefit for _, benefit, _ in told} >= {"AL", "RSA", "PA"}


@pytest.mark.parametrize("cents", ["99999999999999999999", str(1 << 62), "not-a-number"])
def test_a_frozen_amount_that_cannot_be_read_as_a_number_leaves_its_bases_to_the_comparison(monthly, cents):
    """A frozen month beyond int64 (or not a number at all): its base, and the bases read with it, are compared one
    by one, never told unchanged."""
    path, committed, dates = monthly
    policy = load_policy()
    state = store.load_bucket(path, 0, committed)
    declarations = store.load_declarations(path, committed)
    told = [base for base in state.frozen if base.benefit == "AL" and _told(state, declarations, dates[-1], policy,
                                                                             [base])][:3]
    month = told[0].monthly_cents.split()[0].split(":")[0]
    odd = replace(told[0], monthly_cents=" ".join([f"{month}:{cents}", *told[0].monthly_cents.split()[1:]]))
    found = _told(state, declarations, dates[-1], policy, [odd, *told[1:]])
    assert (odd.person_key, "AL", odd.reference_month) not in found
    assert len(told) == 3 and found <= {(base.person_key, "AL", base.reference_month) for base in told[1:]}
