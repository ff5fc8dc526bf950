import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures import builders as B
from gateway.cli import app
from gateway.options import Settings
from gateway.run import run
from tests.conftest import BUNDLED, TEST_KEY


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    run(Settings((str(BUNDLED),), str(out), TEST_KEY))
    return out


def test_the_run_report_shows_rates_rules_and_charts(bundled_run):
    html = (bundled_run / "report" / "index.html").read_text(encoding="utf-8")
    metrics = json.loads((bundled_run / "report" / "metrics.json").read_text(encoding="utf-8"))
    assert html.count("<svg") >= 3 and "Taux d'acceptation" in html
    # French: decimal commas, spaces between thousands, labels rather than keys, severity in words and colour.
    assert f"{100 * metrics['rates']['quarantine']:.1f}".replace(".", ",") + "\u00a0%" in html
    assert f"{metrics['volumes']['lines_read']:,}".replace(",", "\u202f") in html
    assert "lignes écartées (quarantaine)" in html and "lines_read" not in html
    assert '<tr class="quarantine">' in html and "bloquant (donnée écartée)" in html
    assert 0 < metrics["rates"]["quarantine"] < 1
    assert {"DRM-STR-002", "DRM-ID-009"} <= {r["rule_id"] for r in metrics["by_rule"]}
    assert metrics["top_failing_declarants"][0]["lines_quarantined"] > 0


def test_each_declarant_gets_an_anomaly_report_saying_what_to_correct(bundled_run):
    truth = json.loads((BUNDLED / "generated" / "ground_truth.json").read_text())
    defect = next(d for d in truth["defects"] if d["rule_id"] == "DRM-FMT-001")
    report = json.loads((bundled_run / "report" / "declarants" / f"{defect['declarant_id']}.json").read_text())
    [anomaly] = [a for a in report["anomalies"] if a["rule_id"] == "DRM-FMT-001"]
    assert anomaly["file"] == defect["file"].split("/")[-1] and anomaly["rubric"] == "S20.G00.05.003"
    assert anomaly["rubric_label"] == "Numéro de fraction de déclaration" and "Corriger" in anomaly["to_correct"]
    html = (bundled_run / "report" / "declarants" / f"{defect['declarant_id']}.html").read_text(encoding="utf-8")
    assert "DRM-FMT-001" in html and "Bilan d'anomalies" in html


def test_reports_and_quarantine_hold_no_clear_nir(bundled_run):
    nirs = {line.split(b",'")[1][:-1] for path in BUNDLED.rglob("*.dsn") for line in path.read_bytes().splitlines()
            if line.startswith(b"S21.G00.30.001,'") and len(line) > 20}
    assert nirs
    for path in list((bundled_run / "report").rglob("*")) + list((bundled_run / "quarantine").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            assert not [nir for nir in nirs if nir in data], path


def test_report_declarant_regenerates_the_report_from_stored_results(bundled_run, tmp_path):
    declarant = json.loads((bundled_run / "report" / "metrics.json").read_text())["top_failing_declarants"][0]["declarant_id"]
    result = CliRunner().invoke(app, ["report", "declarant", declarant, "--out", str(tmp_path), "--run", str(bundled_run)])
    assert result.exit_code == 0, result.output
    stored = json.loads((bundled_run / "report" / "declarants" / f"{declarant}.json").read_text())
    stored.pop("history_anomalies")
    assert json.loads((tmp_path / f"{declarant}.json").read_text()) == stored and stored["anomalies"]
    assert (tmp_path / f"{declarant}.html").exists()


def test_a_declarant_whose_headcount_halves_is_flagged_against_its_history(tmp_path):
    siret = B.siret_from(B.siren_from(55))
    people = [(B.a_person(nir=B.nir_for(1, B.date(1980, 1, 1), 75, 100, n), birth=B.date(1980, 1, 1),
                          contract=f"C{n:05d}"), [B.a_payment()]) for n in range(1, 9)]
    full, half = tmp_path / "full", tmp_path / "half"
    full.mkdir(), half.mkdir()
    (full / "m1.dsn").write_bytes(B.a_dsn_file(*people, siret=siret, main_month=B.date(2025, 3, 1)))
    (half / "m2.dsn").write_bytes(B.a_dsn_file(*people[:3], siret=siret, main_month=B.date(2025, 4, 1)))
    out = tmp_path / "out"
    run(Settings((str(full),), str(out), TEST_KEY))
    second = run(Settings((str(half),), str(out), TEST_KEY))
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert {a["rule_id"] for a in metrics["history_anomalies"]} == {"DRM-HIS-001", "DRM-HIS-002"}
    assert second.manifest["history"]["sequence"] == 2
    assert "DRM-HIS-001" in (out / "report" / "index.html").read_text(encoding="utf-8")



def test_runs_keep_their_place_in_a_history_written_without_the_sequence_index(tmp_path):
    """A history from before the index (or a crash between a run's metrics and the index) is numbered from
    the runs' own files: a rerun keeps its number and the next run follows."""
    flows = []
    for month in (3, 4, 5):
        folder = tmp_path / f"m{month}"
        folder.mkdir()
        (folder / "f.dsn").write_bytes(B.a_dsn_file(main_month=B.date(2025, month, 1)))
        flows.append(folder)
    out = tmp_path / "out"
    first = run(Settings((str(flows[0]),), str(out), TEST_KEY))
    run(Settings((str(flows[1]),), str(out), TEST_KEY))
    (out / "history" / "metrics" / "_sequences.json").unlink()
    again = run(Settings((str(flows[0]),), str(out), TEST_KEY))
    third = run(Settings((str(flows[2]),), str(out), TEST_KEY))
    assert [first.manifest["history"]["sequence"], again.manifest["history"]["sequence"],
            third.manifest["history"]["sequence"]] == [1, 1, 3]

def test_rules_writes_the_declarants_documentation_page(tmp_path):
    result = CliRunner().invoke(app, ["rules", "--format", "md", "--out", str(tmp_path / "rules.md")])
    text = (tmp_path / "rules.md").read_text(encoding="utf-8")
    assert result.exit_code == 0 and text.count("| DRM-") >= 60


def test_the_pipeline_computes_the_metrics_and_writes_the_reports_the_datasets_give(tmp_path):
    """Metrics are summed and declarants' reports written by the workers (the driver loads no dataset): the same
    metrics and byte-identical reports as computing them in one process from the published datasets, on a
    second run whose declarants have a history (anomalies in their reports), hostile declarant identifiers and
    the bundled flows with their defects."""
    import filecmp
    import shutil
    from fixtures.hostile import hostile_value_files
    from gateway.publish.history import compared
    from gateway.publish.metrics import run_metrics
    from gateway.publish.report import write_reports
    siret = B.siret_from(B.siren_from(55))
    people = [(B.a_person(nir=B.nir_for(1, B.date(1980, 1, 1), 75, 100, n), birth=B.date(1980, 1, 1),
                          contract=f"C{n:05d}"), [B.a_payment()]) for n in range(1, 9)]
    full, later = tmp_path / "full", tmp_path / "later"
    full.mkdir()
    (full / "m1.dsn").write_bytes(B.a_dsn_file(*people, siret=siret, main_month=B.date(2025, 3, 1)))
    shutil.copytree(BUNDLED / "generated", later / "generated")
    hostile_value_files(later / "hostile")
    (later / "m2.dsn").write_bytes(B.a_dsn_file(*people[:3], siret=siret, main_month=B.date(2025, 4, 1)))
    out = tmp_path / "out"
    run(Settings((str(full),), str(out), TEST_KEY))
    manifest = run(Settings((str(later),), str(out), TEST_KEY)).manifest
    reference = tmp_path / "reference"
    shutil.copytree(out, reference, ignore=shutil.ignore_patterns("report", "history"))
    metrics = run_metrics(reference, manifest)
    history = compared(out / "history", manifest["run_id"], metrics["by_declarant"])
    write_reports(reference, manifest, history, metrics)
    written = json.loads((out / "report" / "metrics.json").read_text())
    assert written == json.loads((reference / "report" / "metrics.json").read_text())
    assert written["history_anomalies"] and any(name.startswith("autre-")
                                                for name in os.listdir(out / "report" / "declarants"))
    names = sorted(os.listdir(reference / "report" / "declarants"))
    assert sorted(os.listdir(out / "report" / "declarants")) == names and len(names) > 20
    assert filecmp.cmpfiles(out / "report" / "declarants", reference / "report" / "declarants", names,
                            shallow=False)[0] == names
    assert json.loads((out / "report" / "declarants" / f"{siret}.json").read_text())["history_anomalies"]


def test_each_rule_of_the_run_report_has_a_pass_rate_and_a_page_listing_its_records(bundled_run):
    """Drill-down: the rule's row says the share of declarations (files for file rules) it passed and links to a
    page listing each of its records (file, line, declarant) as the quarantine dataset holds them."""
    import pyarrow.dataset as ds
    metrics = json.loads((bundled_run / "report" / "metrics.json").read_text(encoding="utf-8"))
    html = (bundled_run / "report" / "index.html").read_text(encoding="utf-8")
    declarations, files = metrics["volumes"]["declarations"], metrics["volumes"]["files"]
    quarantine = ds.dataset(bundled_run / "quarantine", format="parquet").to_table().to_pylist()
    for rule in metrics["by_rule"]:
        assert 0 <= rule["pass_rate"] < 1 and rule["units_failed"] >= 1
        assert rule["units_checked"] == (files if rule["family"] in ("file", "envoi") else
                                         len(metrics["by_declarant"]) if rule["family"] == "history" else declarations)
        assert f'href="rules/{rule["rule_id"]}.html"' in html
    rule = next(r for r in metrics["by_rule"] if r["rule_id"] == "DRM-STR-002")
    page = (bundled_run / "report" / "rules" / "DRM-STR-002.html").read_text(encoding="utf-8")
    mine = [r for r in quarantine if r["rule_id"] == "DRM-STR-002"]
    assert len(mine) == rule["records"] and f"{len(mine)} enregistrement(s)" in page
    for record in mine:
        assert f'<td>{record["file"].rsplit("/", 1)[-1]}</td><td class="num">{record["line"]}</td>' in page
        assert f'../declarants/{record["declarant_id"]}.html' in page
    assert rule["pass_rate"] == round(1 - len({(r["file"], r["declaration_id"]) for r in mine}) / declarations, 4)
    assert "66.7 %" not in html and "%" in html


def test_the_run_report_shows_the_trend_of_the_runs_of_its_history(tmp_path):
    """Two runs into one output: the second report lists both runs with their quarantine rates, and a chart."""
    out = tmp_path / "out"
    first = run(Settings((str(BUNDLED / "generated" / "2025-02"),), str(out), TEST_KEY)).manifest
    html_first = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Première exécution de cet historique" in html_first
    second = run(Settings((str(BUNDLED / "generated" / "2025-03"),), str(out), TEST_KEY)).manifest
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    section = html[html.index("Tendance des dernières exécutions"):html.index("<h2>Volumes")]
    assert section.count("<svg") == 1 and section.count('<tr><td class="num">') == 2
    for manifest in (first, second):
        rate = 100 * manifest["lines_quarantined"] / manifest["lines_read"]
        assert f"{rate:.1f}".replace(".", ",") + "\u00a0%" in section
        assert f"{manifest['lines_read']:,}".replace(",", "\u202f") in section
