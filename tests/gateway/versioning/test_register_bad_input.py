"""Bad input to the register: each case has a defined outcome and leaves the register consistent."""
from datetime import date

from fixtures import builders as B
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.register import VersionCause
from tests.conftest import TEST_KEY
from tests.gateway.versioning.ledger import Ledger

PERSON = B.a_person()
SIRET = B.siret_from(B.siren_from(12))
APRIL = date(2025, 4, 1)


def _dsn(run_file, name, *people, **kwargs):
    return run_file(B.a_dsn_file(*people, siret=SIRET, **kwargs), name)


def _april_with_regularisation_of(run_file, month: str):
    payment = B.a_payment(paid_on=date(2025, 4, 28), period=(APRIL, date(2025, 4, 30)),
                          regularisations=[(month, -5000, -5000)])
    return _dsn(run_file, "m2.dsn", (PERSON, [payment]), main_month=APRIL)


def test_a_regularisation_of_a_month_never_declared_creates_that_month_as_a_correction(run_file):
    """The error month had no declaration: its first version carries the régularisation, flagged FLT-003."""
    result = Ledger().ingest([_april_with_regularisation_of(run_file, "012025")], "2025-05-05T08:00:00Z")
    january = [v for v in result.versions if v.month == "2025-01"]
    assert [(v.version, v.cause, v.net_taxable_cents) for v in january] == [
        (1, VersionCause.PAS_REGULARISATION, -5000)]
    assert {f.rule_id for f in result.derived.flags if f.month == "2025-01"} == {"DRM-FLT-003"}


def test_an_annule_et_remplace_with_nothing_to_replace_becomes_the_first_declaration_of_its_month(run_file):
    result = Ledger().ingest([_dsn(run_file, "ar.dsn", (PERSON, [B.a_payment()]), type_="03", rank=2)],
                             "2025-04-05T08:00:00Z")
    assert [(v.version, v.cause) for v in result.versions] == [(1, VersionCause.INITIAL)]
    assert result.derived.flags == []


def test_two_replacements_of_one_month_in_one_run_apply_in_rank_order_and_the_highest_wins(run_file):
    ledger = Ledger()
    ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-05T08:00:00Z")
    third = _dsn(run_file, "m1_ar3.dsn", (PERSON, [B.a_payment(net_social=150000)]), type_="03", rank=3)
    second = _dsn(run_file, "m1_ar2.dsn", (PERSON, [B.a_payment(net_social=190000)]), type_="03", rank=2)
    result = ledger.ingest([third, second], "2025-04-10T08:00:00Z")
    assert [(v.version, v.cause, v.net_social_cents) for v in result.versions] == [
        (2, VersionCause.REPLACEMENT, 190000), (3, VersionCause.REPLACEMENT, 150000)]


def test_an_older_declaration_arriving_after_a_newer_one_adds_no_version_but_is_kept(run_file):
    ledger = Ledger()
    ledger.ingest([_dsn(run_file, "m1_ar.dsn", (PERSON, [B.a_payment(net_social=150000)]), type_="03", rank=2)],
                  "2025-04-05T08:00:00Z")
    result = ledger.ingest([_dsn(run_file, "m1.dsn", (PERSON, [B.a_payment()]))], "2025-04-20T08:00:00Z")
    assert result.versions == [] and len(ledger.declarations) == 2
    assert [b.monthly_cents.split()[0] for b in ledger.at("2025-07-05T08:00:00Z").bases if b.benefit == "RSA"] == [
        "2025-03:150000"]                               # M = July: March..May


def test_the_same_file_twice_in_one_run_and_again_later_adds_nothing(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "a.dsn").write_bytes(B.a_dsn_file())
    (flows / "copy.dsn").write_bytes(B.a_dsn_file())
    first = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY, as_of="2025-04-05T08:00:00Z"))
    assert first.manifest["register"]["versions_added"] == 1 and first.manifest["register"]["declarations_added"] == 1
    [version] = store.load_all_versions(tmp_path / "out" / "history" / "register")
    assert version.net_social_cents == 208000 and version.file == "a.dsn"      # counted once, first copy
    later = tmp_path / "later"
    later.mkdir()
    (later / "again.dsn").write_bytes(B.a_dsn_file())
    second = run(Settings((str(later),), str(tmp_path / "out"), TEST_KEY, as_of="2025-04-20T08:00:00Z"))
    assert second.manifest["register"] == {"declarations_added": 0, "versions_added": 0}


def test_rerunning_an_older_run_after_later_ones_changes_nothing(tmp_path):
    """Run A, then run B replacing A's month, then A again: the register keeps B's value and every part."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "m1.dsn").write_bytes(B.a_dsn_file())
    (second / "m1_ar.dsn").write_bytes(B.a_dsn_file((PERSON, [B.a_payment(net_social=150000)]), type_="03", rank=2))
    out = tmp_path / "out"
    run(Settings((str(first),), str(out), TEST_KEY, as_of="2025-04-05T08:00:00Z"))
    run(Settings((str(second),), str(out), TEST_KEY, as_of="2025-04-09T08:00:00Z"))
    register = out / "history" / "register"
    parts = sorted((p.relative_to(register), p.read_bytes()) for p in register.rglob("*.parquet"))
    run(Settings((str(first),), str(out), TEST_KEY, as_of="2025-04-05T08:00:00Z"))
    assert sorted((p.relative_to(register), p.read_bytes()) for p in register.rglob("*.parquet")) == parts
    versions = store.load_all_versions(register)
    assert [(v.version, v.net_social_cents) for v in sorted(versions, key=lambda v: v.version)] == [
        (1, 208000), (2, 150000)]
    assert len(store.commits(register)) == 2
