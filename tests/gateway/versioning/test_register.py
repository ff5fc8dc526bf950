from datetime import date

from fixtures import builders as B
from gateway.versioning.columns import merge_columns
from gateway.versioning.register import VersionCause, as_of, contributions_of, declaration_of, merge

PERSON = B.a_person()
OTHER = B.a_person(nir=B.nir_for(2, date(1990, 7, 2), 69, 123, 7), birth=date(1990, 7, 2), contract="C00002")
SIRET = B.siret_from(B.siren_from(12))


def _records(run_file, name, *people, **kwargs):
    return list(run_file(B.a_dsn_file(*people, siret=SIRET, **kwargs), name).resources)


def _ingest(register, records, when, run_id):
    known, contributions, versions = register
    arriving = [declaration_of(r, when) for r in records]
    fresh, added, new_versions = merge(known=known, contributions=contributions, versions=versions,
                                       arriving=arriving, new_contributions=contributions_of(records), run_id=run_id)
    # the merge over columns, the run's, gives the same: every scenario below is one of its proofs
    assert merge_columns(known=known, contributions=contributions, versions=versions, arriving=arriving,
                         new_contributions=contributions_of(records), run_id=run_id) == (fresh, added, new_versions)
    return (known + fresh, contributions + added, versions + new_versions), new_versions


def _salary_versions(versions, person_key, month):
    return [v for v in versions if v.person_key == person_key and v.month == month]


def test_every_revision_of_a_month_is_a_new_version_with_its_cause(run_file):
    """Initial declaration, annule-et-remplace, then a régularisation in next month's DSN: three versions."""
    register = ([], [], [])
    march = _records(run_file, "m1.dsn", (PERSON, [B.a_payment()]), (OTHER, [B.a_payment()]))
    register, _ = _ingest(register, march, "2025-04-05T00:00:00", "r1")
    replaced = _records(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=200000)]),
                        (OTHER, [B.a_payment()]), type_="03", rank=2)
    register, new = _ingest(register, replaced, "2025-04-12T00:00:00", "r2")
    assert [(v.cause, v.net_social_cents) for v in new] == [(VersionCause.REPLACEMENT, 200000)]
    april = _records(run_file, "m2.dsn", (PERSON, [B.a_payment(paid_on=date(2025, 4, 28), period=(date(2025, 4, 1),
                     date(2025, 4, 30)), regularisations=[("032025", -5000, -5000)])]), main_month=date(2025, 4, 1))
    register, _ = _ingest(register, april, "2025-05-05T00:00:00", "r3")
    key = march[0].person_key
    history = _salary_versions(register[2], key, "2025-03")
    assert [(v.version, v.cause) for v in history] == [
        (1, VersionCause.INITIAL), (2, VersionCause.REPLACEMENT), (3, VersionCause.PAS_REGULARISATION)]
    assert history[2].net_taxable_cents == 210000 - 5000 and history[2].net_social_cents == 200000


def test_ingesting_the_same_declaration_twice_adds_nothing(run_file):
    records = _records(run_file, "m1.dsn", (PERSON, [B.a_payment()]))
    register, first = _ingest(([], [], []), records, "2025-04-05T00:00:00", "r1")
    register, again = _ingest(register, records, "2025-04-06T00:00:00", "r2")
    assert len(first) == 1 and again == [] and len(register[0]) == 1 and len(register[1]) == 1


def test_a_replacement_that_drops_a_person_ends_that_persons_month(run_file):
    """Annule et remplace replaces the whole declaration: a person it no longer lists has no amount left."""
    register, _ = _ingest(([], [], []), _records(run_file, "m1.dsn", (PERSON, [B.a_payment()]),
                                                  (OTHER, [B.a_payment()])), "2025-04-05T00:00:00", "r1")
    dropped = _records(run_file, "m1_ar.dsn", (PERSON, [B.a_payment()]), type_="03", rank=2)
    register, new = _ingest(register, dropped, "2025-04-12T00:00:00", "r2")
    [version] = new
    assert version.cause is VersionCause.REPLACEMENT and version.net_social_cents is None and version.version == 2


def test_an_older_rank_arriving_after_a_newer_one_changes_nothing(run_file):
    newer = _records(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=200000)]), type_="03", rank=2)
    older = _records(run_file, "m1.dsn", (PERSON, [B.a_payment()]))
    register, _ = _ingest(([], [], []), newer, "2025-04-05T00:00:00", "r1")
    register, new = _ingest(register, older, "2025-04-20T00:00:00", "r2")
    assert new == [] and len(register[0]) == 2


def test_a_declaration_arriving_after_month_plus_one_is_late(run_file):
    _, new = _ingest(([], [], []), _records(run_file, "m1.dsn", (PERSON, [B.a_payment()])), "2025-06-10T00:00:00", "r1")
    assert [v.cause for v in new] == [VersionCause.LATE]


def test_as_of_gives_what_was_known_at_a_past_time(run_file):
    register, _ = _ingest(([], [], []), _records(run_file, "m1.dsn", (PERSON, [B.a_payment()])), "2025-04-05T00:00:00", "r1")
    replaced = _records(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=200000)]), type_="03", rank=2)
    register, _ = _ingest(register, replaced, "2025-04-12T00:00:00", "r2")
    assert [v.net_social_cents for v in as_of(register[2], "2025-04-10").values()] == [208000]
    assert [v.net_social_cents for v in as_of(register[2], "2025-05-01").values()] == [200000]
    assert as_of(register[2], "2025-04-01") == {}


def test_a_declarations_records_for_one_key_add_up_into_one_contribution_and_a_second_copy_counts_once(run_file):
    """Two records of one declaration for the same person, declarant, nature and month (a payment and a back-pay):
    one contribution, amounts summed (an amount neither declares stays None), causes sorted and joined, payments
    counted; the same declaration received again in another file adds nothing."""
    from dataclasses import replace

    from gateway.records import Cause
    march = _records(run_file, "m1.dsn", (PERSON, [B.a_payment()]), (OTHER, [B.a_payment()]))
    payment = next(r for r in march if r.person_key == march[0].person_key)
    back_pay = replace(payment, record_id="x" * 32, cause=Cause.BACK_PAY, net_taxable_cents=None, gross_cents=1000,
                       pas_amount_cents=None, payment_count=0, first_line=payment.first_line + 1)
    march = [replace(r, pas_amount_cents=None) if r is payment else r for r in march]
    payment = next(r for r in march if r.person_key == payment.person_key)
    copy = [replace(r, file="z-copy.dsn") for r in march]     # after the first: not the copy kept
    found = contributions_of([*march, back_pay, *copy])
    assert len(found) == 2
    mine = next(c for c in found if c.person_key == payment.person_key)
    assert mine.causes == "BACK_PAY+PAYMENT"
    assert mine.gross_cents == payment.gross_cents + 1000
    assert mine.net_taxable_cents == payment.net_taxable_cents
    assert mine.pas_amount_cents is None
    assert mine.payment_count == payment.payment_count
    other = next(c for c in found if c.person_key != payment.person_key)
    assert other.causes == "PAYMENT" and other.gross_cents == next(r for r in march if r is not payment and
                                                                    r.person_key == other.person_key).gross_cents
    assert contributions_of([*copy, *march]) == contributions_of(march)


def test_an_older_rank_received_in_the_same_run_after_a_newer_one_gives_nothing_to_the_people_only_it_lists(run_file):
    """The replacement (rank 2) and the original (rank 1) arrive in one run, the replacement first: the original is
    never current, so the person only it lists gets no version at all (not an empty one)."""
    newer = _records(run_file, "a_ar.dsn", (PERSON, [B.a_payment(net_social=200000)]), type_="03", rank=2)
    older = _records(run_file, "m1.dsn", (PERSON, [B.a_payment()]), (OTHER, [B.a_payment()]))
    register, new = _ingest(([], [], []), newer + older, "2025-04-05T00:00:00", "r1")
    assert [(v.person_key, v.net_social_cents) for v in new] == [(newer[0].person_key, 200000)]
    assert len(register[0]) == 2 and {c.person_key for c in register[1]} == {r.person_key for r in older}
