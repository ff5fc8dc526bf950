"""Floating flags on resource months built from real DSN/PASRAU text."""
from dataclasses import replace
from datetime import date

from fixtures import builders as B
from gateway.validate.registry import Target
from gateway.validate.registry import DEFAULT_RULES
from tests.gateway.versioning.ledger import Ledger

PERSON = B.a_person()
OTHER = B.a_person(nir=B.nir_for(2, date(1990, 7, 2), 69, 123, 7), birth=date(1990, 7, 2), contract="C00002")
SIRET = B.siret_from(B.siren_from(12))
APRIL = date(2025, 4, 1)


def _dsn(run_file, name, *people, **kwargs):
    return run_file(B.a_dsn_file(*people, siret=kwargs.pop("siret", SIRET), **kwargs), name)


def _rules(flags, month="2025-03"):
    return sorted({f.rule_id for f in flags if f.month == month})


def test_a_month_revised_by_annule_et_remplace_is_flagged_with_how_much_and_how_often(run_file):
    """Replaced twice: revised (FLT-001, with the change in euros) and replaced (FLT-002)."""
    ledger = Ledger()
    ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
    ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=198000)]), type_="03", rank=2)],
                  "2025-04-08T08:00:00Z")
    result = ledger.ingest([_dsn(run_file, "m1_ar2.dsn", (PERSON, [B.a_payment(net_social=188000)]), type_="03",
                                 rank=3)], "2025-04-14T22:00:00Z")
    flags = result.derived.flags
    assert _rules(flags) == ["DRM-FLT-001", "DRM-FLT-002"]
    revised = next(f for f in flags if f.rule_id == "DRM-FLT-001")
    assert revised.revisions == 2 and revised.version == 3
    assert "2 fois" in revised.explain and "-200,00 €" in revised.explain and "9 jours" in revised.explain
    assert 0 < revised.score <= 1 and revised.first_known == "2025-04-05T08:00:00Z"


def test_an_annule_et_remplace_received_from_the_15th_of_the_next_month_is_refused_and_flagged(run_file):
    """CT DSN §1.4.3.3: a full replacement is allowed until the eve of the due date. From the 15th of April, a
    March replacement changes nothing (the month keeps what was declared in time) and the month is flagged
    DRM-FLT-009, with a sentence saying it was not taken into account."""
    ledger = Ledger()
    ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
    ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=198000)]), type_="03", rank=2)],
                  "2025-04-08T08:00:00Z")
    result = ledger.ingest([_dsn(run_file, "m1_ar2.dsn", (PERSON, [B.a_payment(net_social=150000)]), type_="03",
                                 rank=3)], "2025-04-15T00:00:00Z")
    assert result.versions == []
    assert [v.net_social_cents for v in ledger.state.versions if v.month == "2025-03"] == [208000, 198000]
    late = next(f for f in result.derived.flags if f.rule_id == "DRM-FLT-009")
    assert "n'a donc pas été prise en compte" in late.explain and "2025-04-15 refused" in late.detail
    assert _rules(result.derived.flags) == ["DRM-FLT-001", "DRM-FLT-002", "DRM-FLT-009"]


def test_a_late_annule_et_remplace_is_kept_when_the_month_has_no_other_declaration(run_file):
    """With nothing received in time for its month, a late replacement is the month's only declaration: kept,
    and flagged late (DRM-FLT-008) rather than refused."""
    ledger = Ledger()
    result = ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=198000)]), type_="03",
                                 rank=2)], "2025-05-02T08:00:00Z")
    assert [(v.net_social_cents, v.cause.value) for v in result.versions] == [(198000, "LATE")]
    assert "DRM-FLT-009" not in _rules(result.derived.flags)


def test_a_bigger_revision_scores_higher(run_file):
    scores = []
    for net_social in (206000, 150000):
        ledger = Ledger()
        ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
        result = ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=net_social)]),
                                     type_="03", rank=2)], "2025-04-08T08:00:00Z")
        scores.append(next(f.score for f in result.derived.flags if f.rule_id == "DRM-FLT-001"))
    assert scores[0] < scores[1] == 1.0


def test_a_month_corrected_by_a_later_regularisation_is_flagged(run_file):
    ledger = Ledger()
    ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
    april = _dsn(run_file, "m2.dsn", (PERSON, [B.a_payment(paid_on=date(2025, 4, 28), period=(APRIL, date(2025, 4, 30)),
                                                        regularisations=[("032025", -5000, -5000)])]), main_month=APRIL)
    result = ledger.ingest([april], "2025-05-05T08:00:00Z")
    assert _rules(result.derived.flags) == ["DRM-FLT-001", "DRM-FLT-003"]
    assert _rules(result.derived.flags, "2025-04") == []


def test_a_month_declared_after_its_due_date_is_flagged_late(run_file):
    result = Ledger().ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-06-10T08:00:00Z")
    assert _rules(result.derived.flags) == ["DRM-FLT-008"]


def test_an_employee_with_an_open_contract_not_declared_once_due_is_expected_missing(run_file):
    """March lists two people with open contracts; April lists one: April is missing for the other, once due."""
    ledger = Ledger()
    ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]), (OTHER, [B.a_payment()]))],
                  "2025-04-05T08:00:00Z")
    april = _dsn(run_file, "m2.dsn", (PERSON, [B.a_payment(paid_on=date(2025, 4, 28), period=(APRIL, date(2025, 4, 30)))]),
                 main_month=APRIL)
    ledger.ingest([april], "2025-05-05T08:00:00Z")
    before_due = [f for f in ledger.at("2025-05-14T23:00:00Z").flags if f.rule_id == "DRM-FLT-005"]
    after_due = [f for f in ledger.at("2025-05-15T08:00:00Z").flags if f.rule_id == "DRM-FLT-005"]
    assert before_due == []
    assert [(f.month, f.version, f.nature) for f in after_due] == [("2025-04", None, "SALARY")]
    months = {v.month for v in ledger.state.versions if v.person_key == after_due[0].person_key}
    assert months == {"2025-03"}                   # the person the April declaration left out


def test_daily_allowances_over_two_months_and_several_payments_are_flagged(run_file):
    body = B.siret_from(B.siren_from(900))
    allowance = B.a_payment(income_class="301", net_paid=None, period=(date(2025, 2, 20), date(2025, 3, 10)))
    pasrau = run_file(B.a_pasrau_file((PERSON, [allowance]), siret=body), "p1.dsn")
    twice = _dsn(run_file, "m1.dsn", (PERSON, [B.a_payment(), B.a_payment(paid_on=date(2025, 3, 29))]))
    result = Ledger().ingest([pasrau, twice], "2025-04-05T08:00:00Z")
    by_declarant = {(f.declarant_id, f.rule_id) for f in result.derived.flags}
    assert (body, "DRM-FLT-006") in by_declarant and (SIRET, "DRM-FLT-007") in by_declarant


def test_a_recent_month_from_a_declarant_that_often_corrects_is_volatile(run_file):
    """Volatility needs the declarant's past: with a low threshold, the first run's revisions make it volatile."""
    ledger = Ledger()
    ledger.policy = replace(ledger.policy, floating=replace(ledger.policy.floating, volatile_declarant_min_months=1))
    ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
    ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=100000)]), type_="03", rank=2)],
                  "2025-04-06T08:00:00Z")
    april = _dsn(run_file, "m2.dsn", (PERSON, [B.a_payment(paid_on=date(2025, 4, 28), period=(APRIL, date(2025, 4, 30)))]),
                 main_month=APRIL)
    result = ledger.ingest([april], "2025-05-05T08:00:00Z")
    assert "DRM-FLT-004" in _rules(result.derived.flags, "2025-04")
    assert "DRM-FLT-004" not in _rules(ledger.at("2025-09-01T00:00:00Z").flags, "2025-04")


def test_a_month_with_one_clean_declaration_has_no_flag(run_file):
    result = Ledger().ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
    assert result.derived.flags == []


def test_every_floating_rule_has_an_id_a_french_sentence_and_a_reference():
    rules = [r for r in DEFAULT_RULES if r.target is Target.FLOATING]
    assert [r.id for r in rules] == [f"DRM-FLT-{n:03d}" for n in range(1, 10)]
    assert all(r.explain.endswith(".") and r.reference for r in rules)


def test_an_annule_et_remplace_is_a_replacement_until_the_14th_and_refused_from_the_15th(run_file):
    """Replacing March is allowed until the eve of the due date (15 April): on the 8th or the 14th it replaces
    (DRM-FLT-002); on the 15th or the 25th it is refused and the month flagged DRM-FLT-009."""
    for day, late in ((8, False), (14, False), (15, True), (25, True)):
        ledger = Ledger()
        ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
        result = ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=198000)]), type_="03",
                                     rank=2)], f"2025-04-{day:02d}T08:00:00Z")
        assert _rules(result.derived.flags) == (["DRM-FLT-009"] if late else ["DRM-FLT-001", "DRM-FLT-002"])
        assert len(result.versions) == (0 if late else 1)
