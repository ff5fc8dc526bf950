import hashlib
import hmac
from datetime import date

import pytest

from fixtures import builders as B
from gateway.records import Cause, ResourceNature


def _by_cause(outcome):
    return {(r.month, r.cause): r for r in outcome.resources}


def test_a_payment_counts_in_the_month_it_was_paid_with_every_amount(run_file):
    """Net social (58 type 03), net taxable, net paid, PAS base/amount and gross land on the payment month."""
    outcome = run_file(B.a_dsn_file((B.a_person(), [B.a_payment()])))
    [record] = outcome.resources
    assert (record.month, record.cause, record.nature) == ("2025-03", Cause.PAYMENT, ResourceNature.SALARY)
    assert (record.net_social_cents, record.net_taxable_cents, record.net_paid_cents) == (208000, 210000, 205000)
    assert (record.pas_base_cents, record.pas_amount_cents, record.gross_cents) == (210000, 9450, 270000)
    assert record.payment_count == 1 and record.payment_date == date(2025, 3, 28)
    assert record.declaration_type == "01" and record.norm_version == "P25V01"


def test_corrections_of_earlier_months_are_attributed_back_with_their_cause(run_file):
    """56 régularisation -> error month; 58 with an earlier period -> that month; 51 back-pay -> its period."""
    payment = B.a_payment(
        regularisations=[("022025", -5000, -5000)],
        extra_net_social=[(-3000, date(2025, 2, 1), date(2025, 2, 28))],
        back_pay=[(10000, date(2025, 1, 1), date(2025, 1, 31))])
    records = _by_cause(run_file(B.a_dsn_file((B.a_person(), [payment]))))
    assert records[("2025-02", Cause.PAS_REGULARISATION)].net_taxable_cents == -5000
    assert records[("2025-02", Cause.PAS_REGULARISATION)].pas_amount_cents == -225
    assert records[("2025-02", Cause.NET_SOCIAL_CORRECTION)].net_social_cents == -3000
    assert records[("2025-01", Cause.BACK_PAY)].gross_cents == 10000
    assert records[("2025-03", Cause.PAYMENT)].net_social_cents == 208000


def test_two_payments_in_one_month_add_up_into_one_record(run_file):
    first = B.a_payment(paid_on=date(2025, 3, 10), net_taxable=100000)
    second = B.a_payment(paid_on=date(2025, 3, 28), net_taxable=50000)
    [record] = run_file(B.a_dsn_file((B.a_person(), [first, second]))).resources
    assert record.payment_count == 2 and record.net_taxable_cents == 150000
    assert record.payment_date == date(2025, 3, 28)


def test_pasrau_income_class_gives_the_nature_and_the_period_is_kept(run_file):
    """A daily allowance (class 301) imputed over two months keeps its period for later flags."""
    payment = B.a_payment(income_class="301", net_paid=None, paid_on=date(2025, 3, 25),
                          period=(date(2025, 2, 15), date(2025, 3, 14)))
    [record] = run_file(B.a_pasrau_file((B.a_person(), [payment]))).resources
    assert record.nature is ResourceNature.DAILY_ALLOWANCE and record.income_class == "301"
    assert (record.period_start, record.period_end) == (date(2025, 2, 15), date(2025, 3, 14))
    assert record.declarant_kind.value == "PAYING_BODY" and record.net_paid_cents is None


def test_person_key_is_a_keyed_pseudonym_stable_across_declarants(run_file):
    """The same NIR gets the same key at two employers, and the key is not the NIR."""
    a = run_file(B.a_dsn_file(siret=B.siret_from(B.siren_from(1))), "a.dsn").resources[0]
    b = run_file(B.a_dsn_file(siret=B.siret_from(B.siren_from(2))), "b.dsn").resources[0]
    assert a.person_key == b.person_key and a.nir not in a.person_key and a.declarant_id != b.declarant_id


def test_lineage_names_the_file_and_lines_of_the_person_block(run_file, tmp_path):
    content = B.a_dsn_file()
    [record] = run_file(content, "lineage.dsn").resources
    lines = content.decode("latin-1").splitlines()
    assert record.file == "lineage.dsn"
    assert lines[record.first_line - 1].startswith("S21.G00.50.001")
    assert lines[record.last_line - 1].startswith("S21.G00.81")


def test_a_signalement_yields_no_resource_and_its_lines_are_ignored(run_file):
    """Nature 07 (FCTU) carries no resource: all its lines are counted as ignored."""
    outcome = run_file(B.a_dsn_file((B.a_person(), [B.a_payment(net_social=None)]), nature="07"))
    assert outcome.quarantine == ()
    assert outcome.resources == () and outcome.counts.balanced and outcome.counts.ignored > 0


@pytest.mark.parametrize("key", [b"a pseudonym key of 16+ bytes", b"k" * 100])
def test_person_key_is_the_hmac_sha256_of_the_person_under_the_run_key(key):
    """The published pseudonym is HMAC-SHA256 of "NIR:<nir>" (else "NTT:<siren>:<ntt>") under the run's key,
    so that a consumer holding the key can recompute it; one key's pseudonyms do not leak into another's."""
    from gateway.pseudonym import Pseudonymiser
    pseudonyms = Pseudonymiser(key)
    for nir, ntt, siren, subject in [("1850375111042", None, "123456789", "NIR:1850375111042"),
                                     (None, "T123", "123456789", "NTT:123456789:T123"),
                                     ("", None, None, "NTT::")]:
        expected = hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:32]
        assert pseudonyms.person_key(nir, ntt, siren) == expected
