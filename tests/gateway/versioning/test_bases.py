"""Reference-period bases: windows, amounts, deduction, flooring, counting daily allowances once, floating share."""
from dataclasses import asdict, replace
from datetime import date

from fixtures import builders as B
from fixtures.generator import generate
from gateway.months import add_months
from gateway.options import Settings
from gateway.policy import load_policy
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.bases import base_of, bucket_bases, reference_month, window_sums
from gateway.versioning.view import people_as_of
from tests.conftest import TEST_KEY
from tests.gateway.versioning.ledger import Ledger

PERSON = B.a_person()
SIRET = B.siret_from(B.siren_from(12))
BODY = B.siret_from(B.siren_from(900))


def _month(run_file, ledger, month: date, when: str, **payment):
    end = B.month_end(month.year, month.month)
    values = dict(paid_on=end, period=(month, end))
    values.update(payment)
    outcome = run_file(B.a_dsn_file((PERSON, [B.a_payment(**values)]), siret=SIRET, main_month=month),
                       f"m{month:%Y%m}.dsn")
    return ledger.ingest([outcome], when)


def _bases(result):
    return {b.benefit: b for b in result.derived.bases}


def test_the_reference_month_is_the_first_month_of_the_quarter_for_housing_aid_rsa_and_pa():
    """The quarterly declaration fixes RSA and PA for three months, as housing aid is: one base per quarter."""
    ledger = Ledger()
    for name in ("AL", "RSA", "PA"):
        policy = next(b for b in ledger.policy.bases if b.benefit == name)
        assert reference_month("2025-05-20T00:00:00Z", policy) == "2025-04"
        assert reference_month("2025-07-01T00:00:00Z", policy) == "2025-07"


def test_rsa_and_pa_use_net_social_over_m4_to_m2_and_al_net_taxable_less_ten_percent(run_file):
    ledger = Ledger()
    for number in (3, 4, 5, 6):
        result = _month(run_file, ledger, date(2025, number, 1), f"2025-{number + 1:02d}-05T08:00:00Z")
    bases = _bases(result)                          # as of 2025-07-05: M = 2025-07 for every benefit
    rsa = bases["RSA"]
    assert (rsa.window_first, rsa.window_last) == ("2025-03", "2025-05")
    assert rsa.total_cents == 3 * 208000 and rsa.base_cents == 3 * 208000 and rsa.months_declared == 3
    assert rsa.monthly_cents == "2025-03:208000 2025-04:208000 2025-05:208000"
    assert len(rsa.versions_used.split()) == 3
    assert (bases["RSA_M3_M1"].window_first, bases["RSA_M3_M1"].window_last) == ("2025-04", "2025-06")
    assert bases["RSA_M3_M1"].total_cents == 3 * 208000
    al = bases["AL"]                                 # M-13..M-2 of July 2025: 2024-06..2025-05
    assert (al.window_first, al.window_last) == ("2024-06", "2025-05")
    assert al.total_cents == 3 * 210000 and al.deduction_cents == 3 * 21000 and al.base_cents == 3 * 189000


def test_a_negative_month_counts_as_zero_for_rsa(run_file):
    ledger = Ledger()
    _month(run_file, ledger, date(2025, 1, 1), "2025-02-05T08:00:00Z", net_social=-50000)
    _month(run_file, ledger, date(2025, 2, 1), "2025-03-05T08:00:00Z")
    rsa = next(b for b in ledger.at("2025-05-05T08:00:00Z").bases if b.benefit == "RSA")   # M = April
    assert rsa.monthly_cents == "2024-12:0 2025-01:0 2025-02:208000" and rsa.total_cents == 208000


def test_the_floating_share_is_the_part_of_the_base_from_flagged_months(run_file):
    ledger = Ledger()
    _month(run_file, ledger, date(2025, 1, 1), "2025-02-05T08:00:00Z")
    _month(run_file, ledger, date(2025, 2, 1), "2025-03-05T08:00:00Z")
    replaced = run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=date(2025, 2, 28), period=(date(2025, 2, 1),
                        date(2025, 2, 28)), net_social=100000)]), siret=SIRET, main_month=date(2025, 2, 1),
                        type_="03", rank=2), "m202502_ar.dsn")
    ledger.ingest([replaced], "2025-03-06T08:00:00Z")
    result = _month(run_file, ledger, date(2025, 3, 1), "2025-04-05T08:00:00Z")
    assert [v.month for v in result.versions] == ["2025-03"]
    rsa = next(b for b in ledger.at("2025-05-05T08:00:00Z").bases if b.benefit == "RSA")
    assert rsa.total_cents == 208000 + 100000                   # M = April: December..February
    assert rsa.floating_cents == 100000 and rsa.floating_share == round(100000 / 308000, 4)


def test_a_daily_allowance_paid_through_payroll_and_by_the_paying_body_counts_once(run_file):
    """DRM-XFL-001: the employer's net social includes the subrogated allowance the paying body also declares."""
    march = date(2026, 3, 1)            # type 10 of S21.G00.58 exists from norm P26V01 (2026 months) on
    paid = B.a_payment(subrogated_allowance=84000, paid_on=date(2026, 3, 28), period=(march, date(2026, 3, 31)))
    dsn = run_file(B.a_dsn_file((PERSON, [paid]), siret=SIRET, norm="P26V01", main_month=march), "dsn.dsn")
    ij = B.a_payment(income_class="301", net_paid=None, net_social=84000, paid_on=date(2026, 3, 28),
                     period=(date(2026, 3, 2), date(2026, 3, 20)))
    pasrau = run_file(B.a_pasrau_file((PERSON, [ij]), siret=BODY, main_month=march), "pasrau.dsn")
    ledger = Ledger()
    ledger.ingest([dsn, pasrau], "2026-04-05T08:00:00Z")
    bases = {b.benefit: b for b in ledger.at("2026-07-05T08:00:00Z").bases}
    assert bases["RSA"].double_counted_cents == 84000
    assert bases["RSA"].monthly_cents.split()[0] == f"2026-03:{208000 + 84000 - 84000}"   # M = July: March..May
    al = next(b for b in ledger.at("2026-07-05T08:00:00Z").bases if b.benefit == "AL")
    assert al.double_counted_cents == 0              # net taxable excludes subrogated allowances


def test_a_base_computed_again_at_the_same_date_is_identical_and_later_shows_the_revision(run_file):
    ledger = Ledger()
    for number in (1, 2, 3):
        _month(run_file, ledger, date(2025, number, 1), f"2025-{number + 1:02d}-05T08:00:00Z")
    before = [b for b in ledger.at("2025-05-05T08:00:00Z").bases if b.benefit == "RSA"]
    other = B.siret_from(B.siren_from(13))          # a second employer declares February late
    late = run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=date(2025, 2, 28), period=(date(2025, 2, 1),
                    date(2025, 2, 28)), net_social=100000)]), siret=other, main_month=date(2025, 2, 1)), "o202502.dsn")
    ledger.ingest([late], "2025-05-20T08:00:00Z")
    assert [b for b in ledger.at("2025-05-05T08:00:00Z").bases if b.benefit == "RSA"] == before
    later = next(b for b in ledger.at("2025-05-21T08:00:00Z").bases if b.benefit == "RSA")
    assert later.total_cents == before[0].total_cents + 100000 and later.versions_used != before[0].versions_used


def test_daily_allowances_get_the_housing_aid_deduction_like_pay(run_file):
    """AL counts net taxable income after the 10 % deduction, which applies to daily allowances taxed as salary
    (CGI art. 80 quinquies and 83 3°, CCH R822-4). March 2025: 2 100.00 of pay and 500.00 of sickness allowances
    (PASRAU class 301): total 2 600.00, deduction 260.00, base 2 340.00 (it was 2 390.00: 10 % of the pay only)."""
    march = date(2025, 3, 1)
    pay = run_file(B.a_dsn_file((PERSON, [B.a_payment(paid_on=date(2025, 3, 31))]), siret=SIRET, main_month=march),
                   "dsn.dsn")
    ij = B.a_payment(income_class="301", net_paid=None, net_taxable=50000, pas_base=50000, net_social=50000,
                     gross=50000, paid_on=date(2025, 3, 25), period=(date(2025, 3, 2), date(2025, 3, 20)))
    allowance = run_file(B.a_pasrau_file((PERSON, [ij]), siret=BODY, main_month=march), "ij.dsn")
    ledger = Ledger()
    ledger.ingest([pay, allowance], "2025-04-05T08:00:00Z")
    al = next(b for b in ledger.at("2025-07-05T08:00:00Z").bases if b.benefit == "AL")
    assert (al.total_cents, al.deduction_cents, al.base_cents) == (260000, 26000, 234000)


def _rsa(run_file, dsn: bytes, ij_paid: date, ingested: str, as_of: str):
    """The RSA base of PERSON at ``as_of`` after a DSN and a paying body's 840.00 of sickness allowances (PASRAU
    class 301, for 2 to 20 March) paid on ``ij_paid``."""
    main = date(ij_paid.year, 3, 1)
    ij = B.a_payment(income_class="301", net_paid=None, net_taxable=84000, pas_base=84000, net_social=84000,
                     gross=84000, paid_on=ij_paid, period=(date(main.year, 3, 2), date(main.year, 3, 20)))
    pasrau = run_file(B.a_pasrau_file((PERSON, [ij]), siret=BODY, main_month=date(ij_paid.year, ij_paid.month, 1)),
                      "ij.dsn")
    ledger = Ledger()
    ledger.ingest([run_file(dsn, "dsn.dsn"), pasrau], ingested)
    return next(b for b in ledger.at(as_of).bases if b.benefit == "RSA")


def _march_dsn(year: int, *, subrogation: bool, type_10: int = 0, norm: str = "P25V01") -> bytes:
    march = date(year, 3, 1)
    person = B.a_person(subrogation=(date(year, 3, 2), date(year, 3, 20)) if subrogation else None)
    pay = B.a_payment(paid_on=date(year, 3, 31), period=(march, date(year, 3, 31)), subrogated_allowance=type_10)
    return B.a_dsn_file((person, [pay]), siret=SIRET, main_month=march, norm=norm)


def test_under_p25v01_a_subrogation_period_counts_the_paying_bodys_allowances_once(run_file):
    """No S21.G00.58 type 10 before P26V01: the subrogation period (S21.G00.60.004-.006) is enough. March 2025:
    the employer's 2 080.00 of net social (the maintained salary) + the body's 840.00 paid to the employer
    = 2 080.00, not 2 920.00."""
    rsa = _rsa(run_file, _march_dsn(2025, subrogation=True), date(2025, 3, 25), "2025-04-05T08:00:00Z",
               "2025-07-05T08:00:00Z")
    assert rsa.monthly_cents.split()[0] == "2025-03:208000" and rsa.double_counted_cents == 84000


def test_allowances_the_body_pays_the_month_after_a_subrogated_month_are_counted_once(run_file):
    """The body pays on 10 April for the March absence: April loses the 840.00 (paid to the employer), March
    keeps the salary. RSA at 5 July 2025 (M-4..M-2 = March..May): March 2 080.00, April 0."""
    rsa = _rsa(run_file, _march_dsn(2025, subrogation=True), date(2025, 4, 10), "2025-04-15T08:00:00Z",
               "2025-07-05T08:00:00Z")
    assert rsa.monthly_cents.split()[:2] == ["2025-03:208000", "2025-04:0"] and rsa.double_counted_cents == 84000


def test_a_type_10_amount_matches_the_bodys_allowances_of_the_next_month_too(run_file):
    """P26V01: the employer declares 840.00 of subrogated allowances inside March's net social; the body pays
    them on 10 April 2026: April 0, March 2 080.00."""
    dsn = _march_dsn(2026, subrogation=False, type_10=84000, norm="P26V01")
    rsa = _rsa(run_file, dsn, date(2026, 4, 10), "2026-04-15T08:00:00Z", "2026-07-05T08:00:00Z")
    assert rsa.monthly_cents.split()[:2] == ["2026-03:208000", "2026-04:0"] and rsa.double_counted_cents == 84000


def test_allowances_without_subrogation_are_the_claimants_own_income(run_file):
    """No subrogation: the body paid the claimant: March 2 080.00 + 840.00 = 2 920.00."""
    rsa = _rsa(run_file, _march_dsn(2025, subrogation=False), date(2025, 3, 25), "2025-04-05T08:00:00Z",
               "2025-07-05T08:00:00Z")
    assert rsa.monthly_cents.split()[0] == "2025-03:292000" and rsa.double_counted_cents == 0


def test_sums_shared_between_benefits_counted_alike_equal_the_sums_added_up_afresh(tmp_path):
    """The bases and the gate ask a person's view for the same period of several benefits; benefits that count it
    alike (RSA and PA) share the sums once added up. Over a generated history with revisions of every cause and
    allowances, every period of every benefit (and of an RSA counted on the net taxable, which must not share
    RSA's) equals the sums added up on a view that never computed any."""
    flows = tmp_path / "flows"
    generate(flows, people=40, employers=3, bodies=2, months=6, seed=31)
    result = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY))
    register = tmp_path / "out" / "history" / "register"
    committed = [c.run_id for c in store.commits(register)]
    state = store.load_bucket(register, 0, committed)
    declarations = store.load_declarations(register, committed)
    as_of = result.manifest["as_of"]
    policies = list(load_policy().bases)
    rsa = next(p for p in policies if p.benefit == "RSA")
    policies.append(replace(rsa, benefit="RSA_TAXABLE", amount="net_taxable_cents"))
    shared, fresh = people_as_of(state, declarations, as_of), people_as_of(state, declarations, as_of)
    months = [add_months("2025-01", offset) for offset in range(9)]
    compared = differing = 0
    for person, view in sorted(shared.items()):
        for month in months:
            # none floating, then every key of the window's first months (the same period, other sums)
            for floating in (set(), {key for key in view.versions if key[3] <= month}):
                for policy in policies:
                    got = window_sums(view, policy, month, floating)
                    fresh[person].sums.clear()
                    expected = window_sums(fresh[person], policy, month, floating)
                    assert asdict(got) == asdict(expected), (person, policy.benefit, month)
                    compared += 1
                rsa_sums = window_sums(view, rsa, month, floating)
                differing += asdict(window_sums(view, policies[-1], month, floating)) != asdict(rsa_sums)
    assert compared > 1000 and differing > 0
    assert any(len(view.sums) < len(months) * len(policies) for view in shared.values())    # some were shared


def test_a_buckets_bases_made_over_columns_are_each_persons_bases_added_up_one_by_one(tmp_path):
    """``bucket_bases`` (the run's: every person of a bucket at once, over the columns of its versions, kept as
    columns) gives what ``base_of`` gives person by person, in person then policy order: over a generated history with revisions of every cause and daily
    allowances of paying bodies, on several days, with no month floating, every month floating and one in three,
    for every benefit of the policy, an RSA counted on the net taxable and one recomputed monthly."""
    flows = tmp_path / "flows"
    generate(flows, people=60, employers=3, bodies=2, months=7, seed=41)
    result = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY, buckets=2))
    register = tmp_path / "out" / "history" / "register"
    committed = [c.run_id for c in store.commits(register)]
    declarations = store.load_declarations(register, committed)
    policies = list(load_policy().bases)
    rsa = next(p for p in policies if p.benefit == "RSA")
    policies += [replace(rsa, benefit="RSA_TAXABLE", amount="net_taxable_cents"),
                 replace(rsa, benefit="RSA_MONTHLY", recompute="monthly", floor_month_at_zero=False)]
    compared = 0
    for bucket in range(2):
        state = store.load_bucket(register, bucket, committed)
        for as_of in ("2025-03-20T00:00:00Z", "2025-06-02T00:00:00Z", result.manifest["as_of"]):
            views = people_as_of(state, declarations, as_of)
            for share in (0, 1, 3):
                floating = {person: {key for index, key in enumerate(sorted(view.versions))
                                     if share and index % share == 0} for person, view in views.items()}
                found = bucket_bases(views, state.versions, policies, as_of, floating, policy_version="v")
                # person by person in key order, each person's in policy order
                expected = [base for person, view in sorted(views.items()) for policy in policies
                            if (base := base_of(view, policy, as_of, floating[person], policy_version="v")) is not None]
                assert found == expected, (bucket, as_of, share)
                compared += len(expected)
    # (allowances counted once, left to base_of: the tests above, through derive, the run's path)
    assert compared > 1000
