"""The cahier technique's controls that decide whether a resource may reach a benefit, each with failing and
passing examples: withholding-tax régularisations (S21.G00.56), net-social periods, contracts and payment
numbers, dates after the declared month, the norm version of the month, and test envois."""
from datetime import date

import pytest

from fixtures import builders as B
from tests.conftest import rule_ids

SIRET = B.siret_from(B.siren_from(41))
MARCH = date(2025, 3, 1)


def _dsn(person_lines, *, main_month=MARCH, norm="P25V01", test=False) -> bytes:
    declaration = B.declaration_lines(siret=SIRET, main_month=main_month, people_lines=person_lines)
    return B.render(B.envoi_lines([declaration], emitter_siret=SIRET, norm=norm, test=test))


def _person(payment=None, person=None, main_month=MARCH):
    paid_on = date(main_month.year, main_month.month, 28)
    payment = payment or B.a_payment(paid_on=paid_on, period=(main_month, B.month_end(main_month.year,
                                                                                     main_month.month)))
    return B.dsn_person_lines(person or B.a_person(), [payment])


def _regularised(error_month="022025", kind="01", change=None, main_month=MARCH):
    """A person whose payment carries one régularisation of type ``kind``; ``change`` sets (or, with None,
    removes) rubrics of its S21.G00.56 block."""
    paid_on = date(main_month.year, main_month.month, 28)
    payment = B.a_payment(paid_on=paid_on, period=(main_month, B.month_end(main_month.year, main_month.month)),
                          regularisations=[(error_month, 10000, 10000)])
    lines = B.dsn_person_lines(B.a_person(), [payment])
    start = next(i for i, (rubric, _) in enumerate(lines) if rubric.startswith("S21.G00.56."))
    end = start + sum(rubric.startswith("S21.G00.56.") for rubric, _ in lines)
    block = dict(lines[start:end]) | {"S21.G00.56.002": kind}
    for number, value in (change or {}).items():
        if value is None:
            block.pop(f"S21.G00.56.{number}", None)
        else:
            block[f"S21.G00.56.{number}"] = value
    return lines[:start] + sorted(block.items()) + lines[end:]


@pytest.mark.parametrize("kind, change, rule", [
    ("01", {"006": None, "010": None}, "DRM-REG-001"),          # CCH-11: .003, .006, .010 required
    ("02", {"003": None, "006": None, "010": None}, "DRM-REG-001"),   # CCH-12: .005 and .015 required
    ("04", {"003": None}, "DRM-REG-001"),                         # CCH-26
    ("01", {"005": "1.00"}, "DRM-REG-002"),                       # CCH-15: no rate change with type 01
    ("02", {"005": "1.00", "015": "2100.00"}, "DRM-REG-002"),     # CCH-18: type 02 keeps .003/.006/.010 out
    ("03", {}, "DRM-REG-003"),                                    # CCH-14: positive amounts in an overpayment
    ("04", {"006": None, "007": "4.50"}, "DRM-REG-003"),          # CCH-27: type 04 withholds 0.00
])
def test_a_regularisation_that_breaks_its_type_rules_takes_the_person_out(kind, change, rule, run_file):
    outcome = run_file(_dsn(_regularised(kind=kind, change=change)))
    assert rule in rule_ids(outcome) and not outcome.resources and outcome.counts.balanced


@pytest.mark.parametrize("kind, change", [
    ("01", {}),
    ("02", {"003": None, "006": None, "010": None, "005": "1.00", "015": "2100.00"}),
    ("03", {"003": "-100.00", "010": "-100.00", "007": "-4.50"}),
    ("04", {"006": None, "007": "0.00"}),
])
def test_a_regularisation_that_follows_its_type_rules_is_accepted(kind, change, run_file):
    outcome = run_file(_dsn(_regularised(kind=kind, change=change)))
    assert not {r for r in rule_ids(outcome) if r.startswith("DRM-REG")} and outcome.resources


def test_a_may_dsn_cannot_regularise_november_of_the_year_before(run_file):
    """CCH-16: a November 2024 error month in a May 2025 DSN creates no 2024-11 month."""
    may = date(2025, 5, 1)
    outcome = run_file(_dsn(_regularised(error_month="112024", main_month=may), main_month=may))
    assert "DRM-REG-004" in rule_ids(outcome)
    assert not [r for r in outcome.resources if r.month == "2024-11"]


@pytest.mark.parametrize("error_month, allowed", [("122024", True), ("112024", True), ("112023", False),
                                                  ("012025", False)])
def test_a_january_dsn_regularises_only_the_year_before(error_month, allowed, run_file):
    """CCH-17 (and CCH-11: never after the main month)."""
    january = date(2025, 1, 1)
    outcome = run_file(_dsn(_regularised(error_month=error_month, main_month=january), main_month=january))
    assert ("DRM-REG-004" not in rule_ids(outcome)) is allowed


@pytest.mark.parametrize("end, allowed", [(date(2025, 4, 30), True), (date(2025, 5, 31), False)])
def test_a_net_social_period_may_end_in_the_next_month_but_not_later(end, allowed, run_file):
    """S21.G00.58.002 CCH-12: at most the last day of the month after the main month."""
    payment = B.a_payment(extra_net_social=[(10000, date(end.year, end.month, 1), end)])
    outcome = run_file(_dsn(_person(payment)))
    assert ("DRM-PER-006" not in rule_ids(outcome)) is allowed


def test_a_contract_starting_after_the_month_is_flagged_but_its_pay_is_kept(run_file):
    """CT §4.4.12: not blocking: a warning, the resources stay."""
    late = B.a_person(contract_start=date(2025, 4, 10))
    outcome = run_file(_dsn(_person(person=late)))
    assert "DRM-PER-007" in {w.rule_id for w in outcome.warnings} and outcome.resources
    assert "DRM-PER-007" not in rule_ids(run_file(_dsn(_person())))


def test_a_remuneration_for_an_undeclared_contract_takes_the_person_out(run_file):
    lines = [(r, "C99999" if r == "S21.G00.51.010" else v) for r, v in _person()]
    outcome = run_file(_dsn(lines))
    assert "DRM-CTR-001" in rule_ids(outcome) and not outcome.resources


@pytest.mark.parametrize("numbers, allowed", [((None, None), False), (("01", "01"), False), (("01", "02"), True)])
def test_several_payments_need_distinct_payment_numbers(numbers, allowed, run_file):
    payments = [B.a_payment(paid_on=date(2025, 3, 14)), B.a_payment(paid_on=date(2025, 3, 28))]
    lines = [line for line in B.dsn_person_lines(B.a_person(), payments) if line[0] != "S21.G00.50.003"]
    out, seen = [], 0
    for rubric, value in lines:
        out.append((rubric, value))
        if rubric == "S21.G00.50.002" and numbers[seen] is not None:
            out.append(("S21.G00.50.003", numbers[seen]))
        seen += rubric == "S21.G00.50.002"
    outcome = run_file(_dsn(out))
    assert ("DRM-CTR-002" not in rule_ids(outcome)) is allowed
    assert bool(outcome.resources) is allowed


@pytest.mark.parametrize("norm, month, allowed", [("P25V01", date(2025, 3, 1), True),
                                                  ("P26V01", date(2025, 3, 1), False),
                                                  ("P24V01", date(2026, 2, 1), False),
                                                  ("P26V01", date(2026, 2, 1), True)])
def test_the_norm_version_must_be_the_one_of_the_declared_month(norm, month, allowed, run_file):
    outcome = run_file(_dsn(_person(main_month=month), main_month=month, norm=norm))
    assert ("DRM-STR-013" not in rule_ids(outcome)) is allowed
    assert bool(outcome.resources) is allowed


def test_a_test_envoi_is_checked_and_reported_but_publishes_nothing(run_file):
    """S10.G00.00.005 = 01: its anomalies are reported, its lines counted, no resource nor summary leaves."""
    bad_contract = [(r, "C99999" if r == "S21.G00.51.010" else v) for r, v in _person()]
    outcome = run_file(_dsn(_person() + bad_contract, test=True))
    assert "DRM-ENV-002" in {w.rule_id for w in outcome.warnings}
    assert "DRM-CTR-001" in {q.rule_id for q in outcome.quarantine}
    assert outcome.resources == () and outcome.summaries == () and outcome.allowances == ()
    assert outcome.counts.balanced and outcome.counts.used == 0 and outcome.counts.ignored > 0
    real = run_file(_dsn(_person()))
    assert real.resources and "DRM-ENV-002" not in rule_ids(real)
