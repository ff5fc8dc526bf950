"""Cross-declaration rules see the register: an annule-et-remplace whose original arrived in an earlier run
is not reported as "without original"; one with no original anywhere still is."""
import pyarrow.dataset as ds

from fixtures import builders as B
from gateway.options import Settings
from gateway.run import run
from tests.conftest import TEST_KEY

SIRET = B.siret_from(B.siren_from(61))


def _warnings(out) -> set[str]:
    folder = out / "warnings"
    if not folder.exists():
        return set()
    return {row["rule_id"] for row in ds.dataset(folder, format="parquet").to_table(columns=["rule_id"]).to_pylist()}


def test_a_replacement_whose_original_is_in_the_register_has_an_original(tmp_path):
    first, second, out = tmp_path / "m1", tmp_path / "m2", tmp_path / "out"
    first.mkdir()
    second.mkdir()
    (first / "original.dsn").write_bytes(B.a_dsn_file(siret=SIRET))
    (second / "replacement.dsn").write_bytes(B.a_dsn_file(
        (B.a_person(), [B.a_payment(net_social=199000)]), siret=SIRET, type_="03", rank=2))
    run(Settings((str(first),), str(out), TEST_KEY, as_of="2025-04-03T00:00:00Z"))
    run(Settings((str(second),), str(out), TEST_KEY, as_of="2025-04-04T00:00:00Z"))
    assert "DRM-XDC-001" not in _warnings(out)


def test_a_replacement_with_no_original_anywhere_is_reported(tmp_path):
    first, second, out = tmp_path / "m1", tmp_path / "m2", tmp_path / "out"
    first.mkdir()
    second.mkdir()
    (first / "original.dsn").write_bytes(B.a_dsn_file(siret=SIRET))
    (second / "replacement.dsn").write_bytes(B.a_dsn_file(siret=SIRET, type_="03", rank=2,
                                                          main_month=B.date(2025, 4, 1)))
    run(Settings((str(first),), str(out), TEST_KEY, as_of="2025-04-03T00:00:00Z"))
    run(Settings((str(second),), str(out), TEST_KEY, as_of="2025-05-04T00:00:00Z"))
    assert "DRM-XDC-001" in _warnings(out)
