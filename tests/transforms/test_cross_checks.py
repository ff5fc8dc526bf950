"""Cross-declaration rules see the register: an annule-et-remplace whose original arrived in an earlier run
is not reported as "without original"; one with no original anywhere still is."""
import pyarrow.dataset as ds
import pytest

from fixtures import builders as B
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY

SIRET = B.siret_from(B.siren_from(61))


def _warnings(out) -> set[str]:
    folder = out / "warnings"
    if not folder.exists():
        return set()
    return {row["rule_id"] for row in ds.dataset(folder, format="parquet").to_table(columns=["rule_id"]).to_pylist()}


def _two_runs(tmp_path, replacement_at: str, net_social: int = 150000, main_month=B.date(2025, 3, 1)):
    """A March original in a first run (3 April), then a replacement of ``main_month`` at ``replacement_at``."""
    first, second, out = tmp_path / "m1", tmp_path / "m2", tmp_path / "out"
    first.mkdir()
    second.mkdir()
    (first / "original.dsn").write_bytes(B.a_dsn_file(siret=SIRET))
    (second / "replacement.dsn").write_bytes(B.a_dsn_file(
        (B.a_person(), [B.a_payment(net_social=net_social)]), siret=SIRET, type_="03", rank=2, main_month=main_month))
    run(Settings((str(first),), str(out), TEST_KEY, as_of="2025-04-03T00:00:00Z"))
    return run(Settings((str(second),), str(out), TEST_KEY, as_of=replacement_at)), out


def test_a_replacement_whose_original_is_in_the_register_has_an_original(tmp_path):
    _, out = _two_runs(tmp_path, "2025-04-04T00:00:00Z", net_social=199000)
    assert "DRM-XDC-001" not in _warnings(out)


def test_a_replacement_with_no_original_anywhere_is_reported(tmp_path):
    _, out = _two_runs(tmp_path, "2025-05-04T00:00:00Z", main_month=B.date(2025, 4, 1))
    assert "DRM-XDC-001" in _warnings(out)


def test_a_replacement_received_from_the_15th_of_the_next_month_is_refused_with_a_warning_to_the_declarant(tmp_path):
    """CT DSN §1.4.3.3: the March declaration may be replaced until 14 April. On the 20th the replacement is
    reported to the declarant (DRM-XDC-006) and changes nothing in the register (no new version)."""
    later, out = _two_runs(tmp_path, "2025-04-20T00:00:00Z")
    assert "DRM-XDC-006" in _warnings(out) and "DRM-XDC-001" not in _warnings(out)
    assert later.manifest["register"]["versions_added"] == 0 and later.manifest["lines_quarantined"] == 0


def test_a_replacement_received_on_the_14th_replaces_without_warning(tmp_path):
    later, out = _two_runs(tmp_path, "2025-04-14T23:00:00Z")
    assert "DRM-XDC-006" not in _warnings(out)
    assert later.manifest["register"]["versions_added"] == 1


@pytest.mark.parametrize("replacement_name", ["replacement.dsn", "a_replacement.dsn"])
def test_a_late_replacement_and_its_original_in_one_run_keep_the_original(tmp_path, replacement_name):
    """Both arrive together after the due date: the original (a late declaration) is the month's value, the
    replacement is reported; in whichever order their files sort, the month gets one version."""
    flows, out = tmp_path / "flows", tmp_path / "out"
    flows.mkdir()
    (flows / "original.dsn").write_bytes(B.a_dsn_file(siret=SIRET))
    (flows / replacement_name).write_bytes(B.a_dsn_file(
        (B.a_person(), [B.a_payment(net_social=150000)]), siret=SIRET, type_="03", rank=2))
    result = run(Settings((str(flows),), str(out), TEST_KEY, as_of="2025-05-02T00:00:00Z"))
    assert "DRM-XDC-006" in _warnings(out)
    versions = store.load_all(out / "history" / "register", "versions")
    assert [(v["net_social_cents"], v["cause"]) for v in versions] == [(B.a_payment().net_social, "LATE")]
    assert result.manifest["register"]["versions_added"] == 1
