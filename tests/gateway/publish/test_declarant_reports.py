"""Declarants' anomaly reports as a declarant needs them: attributed to the SIRET or SIREN read in the flow, with
the declared value, the expected format, the employee's payroll number, the declaration and its date, in
net-entreprises' words, and never personal data; the same page as PDF."""
import io
import json
import re
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from fixtures import builders as B
from gateway.cli import app
from gateway.options import Settings
from gateway.publish.report import report_stem
from gateway.run import run
from tests.conftest import BUNDLED, TEST_KEY

GENERATED = BUNDLED / "generated"
PAYROLL = "S21.G00.30.019,'"


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    run(Settings((str(BUNDLED),), str(out), TEST_KEY))
    return out


def _lines(path: Path) -> list[str]:
    """A file's lines as the norm reads them: ISO-8859-1, one byte a character."""
    return path.read_bytes().decode("latin-1").replace("\r\n", "\n").split("\n")


def _value(line: str) -> str:
    return line.split(",'", 1)[1].rstrip("'") if ",'" in line else ""


def _payroll_of_person_at(lines: list[str], number: int) -> str | None:
    """The payroll number of the person block holding line ``number`` (1-based), read from the file itself: back
    to the individual's block (S21.G00.30), then over its lines."""
    at = number - 1
    while at >= 0 and not lines[at].startswith("S21.G00.30."):
        if lines[at].startswith(("S20.", "S21.G00.06.", "S21.G00.11.", "S10.", "S90.")):
            return None
        at -= 1
    while at > 0 and lines[at - 1].startswith("S21.G00.30."):
        at -= 1
    while at < len(lines) and lines[at].startswith("S21.G00.30."):
        if lines[at].startswith(PAYROLL):
            return _value(lines[at])
        at += 1
    return None


def _personal_values() -> tuple[set[str], set[str]]:
    """Every NIR, birth date and name of the bundled flows (to prove no report holds one)."""
    values, names = set(), set()
    for path in BUNDLED.rglob("*.dsn"):
        for line in _lines(path):
            if line.startswith(("S21.G00.30.001,", "S21.G00.30.006,", "S21.G00.30.020,")):
                values.add(_value(line))
            elif line.startswith(("S21.G00.30.002,", "S21.G00.30.004,")):
                names.add(_value(line))
    return {v for v in values if len(v) >= 8}, {n for n in names if len(n) >= 3}


def _entries(out: Path) -> list[tuple[str, dict]]:
    found = []
    for path in (out / "report" / "declarants").glob("*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        found += [(report["declarant_id"], entry) for entry in report["anomalies"] + report["warnings"]]
    return found


def test_every_bundled_defect_is_reported_with_the_declared_value_the_expected_one_and_the_payroll_number(bundled_run):
    """Each injected defect is in its declarant's report; where it names a rubric the value is the file's own,
    where the value breaks the norm the expected format is given, and a finding about an employee names them by
    payroll number."""
    truth = json.loads((GENERATED / "ground_truth.json").read_text())
    entries = _entries(bundled_run)
    checked = {"value": 0, "expected": 0, "payroll": 0}
    for defect in truth["defects"]:
        mine = [(who, e) for who, e in entries if e["rule_id"] == defect["rule_id"] and e["file"] == defect["file"].split("/")[-1]]
        assert mine, defect
        lines = _lines(GENERATED / defect["file"])
        for who, entry in mine:
            assert who != "inconnu" or defect["kind"] in ("binary_file", "empty_file"), (defect, who)
            if who != "inconnu" and defect["kind"] not in ("bad_siren", "bad_siret"):   # those: as declared
                assert defect["declarant_id"].startswith(who), (defect, who)     # the SIRET, or its SIREN
            line = lines[entry["line"] - 1] if 0 < entry["line"] <= len(lines) else ""
            if entry["declared_value"] is not None:
                assert line.startswith(entry["rubric"] + ",") and entry["declared_value"] == _value(line)[:80]
                checked["value"] += 1
            if entry["expected"]:
                checked["expected"] += 1
            if entry["person_key"] and entry["rubric"]:
                assert entry["payroll_number"] == _payroll_of_person_at(lines, entry["line"]), (defect, entry)
                checked["payroll"] += entry["payroll_number"] is not None
    assert checked["value"] >= 20 and checked["expected"] >= 3 and checked["payroll"] >= 10, checked


def test_a_format_defect_says_what_was_declared_and_what_the_norm_expects(bundled_run):
    """The amount written with a comma: the report shows « 1227,66 »-like text, the expected format, the
    employee's payroll number, the declaration and its date, in net-entreprises' words."""
    truth = json.loads((GENERATED / "ground_truth.json").read_text())
    defect = next(d for d in truth["defects"] if d["kind"] == "bad_amount_format")
    report = json.loads((bundled_run / "report" / "declarants" / f"{defect['declarant_id']}.json").read_text())
    [entry] = [e for e in report["anomalies"] if e["rule_id"] == "DRM-AMT-006"]
    assert "," in entry["declared_value"] and "deux décimales" in entry["expected"]
    assert re.fullmatch(r"M\d{5}", entry["payroll_number"])
    assert entry["declaration_id"].startswith(defect["declarant_id"]) and re.fullmatch(r"\d\d/\d\d/20\d\d",
                                                                                     entry["declaration_date"])
    assert entry["blocking"] == "Anomalie bloquante" and entry["file"] == defect["file"].split("/")[-1]
    assert entry["declared_value"] in entry["to_correct"] and entry["payroll_number"] in entry["to_correct"]
    html = (bundled_run / "report" / "declarants" / f"{defect['declarant_id']}.html").read_text(encoding="utf-8")
    assert entry["declared_value"] in html and "Anomalies non bloquantes" in html and "generated/" not in html


def test_a_declaration_without_its_establishment_is_reported_to_its_company_siren(bundled_run):
    """The SIREN is readable though the SIRET is not: the findings go to the SIREN's report, not 'inconnu'."""
    truth = json.loads((GENERATED / "ground_truth.json").read_text())
    defect = next(d for d in truth["defects"] if d["kind"] == "no_establishment")
    report = json.loads((bundled_run / "report" / "declarants" / f"{defect['declarant_id'][:9]}.json").read_text())
    assert "DRM-STR-008" in {e["rule_id"] for e in report["anomalies"]}
    unknown = bundled_run / "report" / "declarants" / "inconnu.json"
    blocking = json.loads(unknown.read_text())["anomalies"] if unknown.exists() else []
    assert [e["rule_id"] for e in blocking] == ["DRM-FIL-001"]        # the binary file: nothing readable in it


def test_no_report_holds_a_nir_a_name_or_a_birth_date(bundled_run):
    """Identity rubrics are never echoed: not as declared values, not anywhere in the report pages."""
    values, names = _personal_values()
    assert values and names
    for who, entry in _entries(bundled_run):
        if entry["rubric"].startswith(("S21.G00.30", "S21.G00.31")) and entry["rubric"] != "S21.G00.30.019":
            assert entry["declared_value"] is None, entry
    for path in (bundled_run / "report" / "declarants").iterdir():
        text = path.read_text(encoding="utf-8")
        assert not [v for v in values if v in text], path
        assert not [n for n in names if re.search(rf"(?<![\w']){re.escape(n)}(?![\w'])", text)], path


def test_the_report_as_pdf_holds_the_same_findings(bundled_run, tmp_path):
    """`report declarant --pdf` writes the page as PDF; its text names the rule, the value and the payroll number."""
    truth = json.loads((GENERATED / "ground_truth.json").read_text())
    declarant = next(d for d in truth["defects"] if d["kind"] == "bad_amount_format")["declarant_id"]
    result = CliRunner().invoke(app, ["report", "declarant", declarant, "--out", str(tmp_path), "--run",
                                      str(bundled_run), "--pdf"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / f"{declarant}.json").read_text())
    [entry] = [e for e in report["anomalies"] if e["rule_id"] == "DRM-AMT-006"]
    pdf = (tmp_path / f"{declarant}.pdf").read_bytes()
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", "", text)
    assert "Bilan d'anomalies" in text and "DRM-AMT-006" in flat
    assert entry["declared_value"] in flat and entry["payroll_number"] in flat


HOSTILE = "<img src=x onerror=alert(1)>'\"&../../etc"


def test_a_hostile_declared_value_is_shown_as_text_in_the_page_and_the_pdf(tmp_path):
    """A value read from a file is data: escaped in the HTML, inert in the PDF, never a path."""
    person = B.a_person(payroll_number="<b>M1</b>")
    lines = [(rubric, HOSTILE if rubric == "S21.G00.40.007" else value)
             for rubric, value in B.dsn_person_lines(person, [B.a_payment()])]
    siret = B.siret_from(B.siren_from(5))
    flows = tmp_path / "in" / "2025-04"
    flows.mkdir(parents=True)
    (flows / "hostile.dsn").write_bytes(B.render(B.envoi_lines(
        [B.declaration_lines(siret=siret, main_month=B.date(2025, 3, 1), people_lines=lines)], emitter_siret=siret)))
    out = tmp_path / "out"
    run(Settings((str(tmp_path / "in"),), str(out), TEST_KEY))
    report = json.loads((out / "report" / "declarants" / f"{report_stem(siret)}.json").read_text())
    [entry] = [e for e in report["anomalies"] if e["rubric"] == "S21.G00.40.007"]
    assert entry["declared_value"] == HOSTILE and entry["payroll_number"] == "<b>M1</b>" and entry["expected"]
    html = (out / "report" / "declarants" / f"{siret}.html").read_text(encoding="utf-8")
    assert "<img" not in html and "<b>M1" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    result = CliRunner().invoke(app, ["report", "declarant", siret, "--out", str(tmp_path / "pdf"), "--run", str(out),
                                      "--pdf"])
    assert result.exit_code == 0, result.output
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "pdf" / f"{siret}.pdf").pages)
    assert "onerror" in re.sub(r"\s+", "", text)
    assert sorted(p.name for p in (tmp_path / "pdf").iterdir()) == [f"{siret}.html", f"{siret}.json", f"{siret}.pdf"]
