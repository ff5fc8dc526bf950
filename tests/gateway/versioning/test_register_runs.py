"""The register through real runs: incremental runs equal one run over all the flows."""
import json

from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY

FIELDS = ("person_key", "declarant_id", "nature", "month", "version", "transaction_time", "cause",
          "net_social_cents", "net_taxable_cents", "declaration_digest")


def _versions(out):
    rows = store.load_all(out / "history" / "register", "versions")
    return sorted(tuple(row[f] for f in FIELDS) for row in rows)


def test_consecutive_incremental_runs_give_the_register_of_one_run_over_everything(tmp_path):
    flows = tmp_path / "flows"
    generate(flows, people=60, employers=4, bodies=2, months=4, seed=17,
             rates=Rates(late=0.2, replacement=0.3, regularisation=0.1, back_pay=0.1, net_social_correction=0.1))
    run(Settings((str(flows),), str(tmp_path / "batch"), TEST_KEY))
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        run(Settings((str(folder),), str(tmp_path / "incremental"), TEST_KEY))
    batch, incremental = _versions(tmp_path / "batch"), _versions(tmp_path / "incremental")
    assert batch == incremental and len(batch) > 100
    causes = {row[6] for row in batch}
    assert {"INITIAL", "REPLACEMENT", "PAS_REGULARISATION", "LATE"} <= causes


def test_rerunning_a_run_adds_nothing_to_the_register(tmp_path):
    flows = tmp_path / "flows"
    generate(flows, people=20, employers=2, bodies=1, months=2, seed=3)
    first = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY))
    before = _versions(tmp_path / "out")
    again = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY))
    assert again.manifest["register"] == first.manifest["register"]
    assert _versions(tmp_path / "out") == before
    assert len(before) == first.manifest["register"]["versions_added"]
    assert json.loads((tmp_path / "out" / "run.json").read_text())["register"]["versions_added"] > 0


def test_history_prints_a_persons_versions_with_the_nir_masked(tmp_path):
    from typer.testing import CliRunner

    from fixtures import builders as B
    from gateway.cli import app
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "m1.dsn").write_bytes(B.a_dsn_file())
    (flows / "m1_ar.dsn").write_bytes(B.a_dsn_file((B.a_person(), [B.a_payment(net_social=200000)]), type_="03", rank=2))
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(flows), "--out", str(tmp_path / "out"), "--insecure-demo-key",
                               "--as-of", "2025-04-05T08:00:00Z"]).exit_code == 0
    nir = B.a_person().nir
    result = runner.invoke(app, ["history", "--nir", nir, "--out", str(tmp_path / "out"), "--insecure-demo-key"],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert nir not in result.output and "1 85 03 ** *** ***" in result.output
    assert "INITIAL" in result.output and "REPLACEMENT" in result.output and "2000.00" in result.output


def test_a_replacement_dropping_people_versions_their_month_even_when_nothing_else_arrives_for_them(tmp_path):
    """A later run holding only an "annule et remplace" that lists one person of eight: the seven others,
    in buckets nothing else of that run touches, lose the month's amounts (a new version each)."""
    from fixtures.generator import replacement_keeping_first_person
    flows = tmp_path / "flows"
    generate(flows, people=8, employers=1, bodies=0, months=1, seed=5, rates=Rates(0, 0, 0, 0, 0, 0, 0))
    [january] = flows.rglob("dsn_*_202501_1.dsn")
    run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY))
    replacement = tmp_path / "later" / "replacement.dsn"
    replacement.parent.mkdir()
    replacement.write_bytes(replacement_keeping_first_person(january.read_bytes(), rank=2))
    later = run(Settings((str(replacement.parent),), str(tmp_path / "out"), TEST_KEY, as_of="2025-02-12T08:00:00Z"))
    assert later.manifest["lines_quarantined"] == 0
    versions = _versions(tmp_path / "out")
    people = {row[0] for row in versions}
    emptied = {row[0] for row in versions if row[4] == 2 and row[7] is None and row[6] == "REPLACEMENT"}
    assert len(people) == 8 and len(emptied) == 7


def test_a_register_made_with_fewer_buckets_holds_the_same_versions_and_gives_the_same_flags(tmp_path):
    """``--buckets`` sets a new register's person buckets and declaration shards; an existing register keeps its
    own. A run over everything gives the same outputs whatever the count (a monthly run re-derives the people of
    the buckets it touches: with fewer buckets, more of them)."""
    import pyarrow.dataset as ds
    flows = tmp_path / "flows"
    generate(flows, people=40, employers=3, bodies=1, months=2, seed=31,
             rates=Rates(late=0.2, replacement=0.3, regularisation=0.1, net_social_correction=0.1))
    months = sorted(p for p in flows.iterdir() if p.is_dir())
    for out, buckets in (("sixteen", 16), ("four", 4)):
        run(Settings((str(flows),), str(tmp_path / out), TEST_KEY, buckets=buckets))
    register = tmp_path / "four" / "history" / "register"
    assert store.buckets_of(register) == 4 and store.buckets_of(tmp_path / "sixteen" / "history" / "register") == 16
    assert {p.name for p in (register / "versions").iterdir() if p.is_dir() and p.name.startswith("bucket=")} <= {
        f"bucket={b:02d}" for b in range(4)}
    assert _versions(tmp_path / "four") == _versions(tmp_path / "sixteen")
    for dataset in ("flags", "bases"):
        rows = [sorted(map(str, ds.dataset(str(tmp_path / out / dataset)).to_table().to_pylist()))
                for out in ("four", "sixteen")]
        assert rows[0] == rows[1] and rows[0], dataset
    run(Settings((str(months[-1]),), str(tmp_path / "four"), TEST_KEY, buckets=8))
    assert store.buckets_of(register) == 4
