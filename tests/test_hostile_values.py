"""Hostile values from files never reach a path, a page or a chart label, and never stop a run: traversal,
absolute paths, markup, math text and overlong identifiers, a file name that is not UTF-8, a symbolic link
out of the input folder. Each such file is quarantined or refused with its rule, conservation holds, and
nothing outside --out changes."""
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds

from fixtures import builders as B
from fixtures.hostile import HOSTILE_IDENTIFIERS, hostile_value_files
from tests.conftest import TEST_KEY

ENV = {**os.environ, "DRM_GATEWAY_PSEUDONYM_KEY": TEST_KEY.decode()}
SAFE_REPORT_NAME = re.compile(r"([0-9]{9}|[0-9]{14}|inconnu|autre-[0-9a-f]{16})\.(json|html)")
ODD_NAME = os.fsdecode(b"d\xe9claration.dsn")


def _snapshot(root: Path, skip: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and skip not in path.parents and not path.is_symlink():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _flows(tmp_path: Path) -> Path:
    flows = tmp_path / "flows"
    hostile_value_files(flows)
    (flows / ODD_NAME).write_bytes(B.a_dsn_file())
    sibling = tmp_path / "sibling"
    sibling.mkdir()
    (sibling / "run.json").write_text('{"run_id": "another run"}')
    (sibling / "secret.dsn").write_bytes(B.a_dsn_file())
    os.symlink(sibling / "secret.dsn", flows / "link.dsn")
    return flows


def test_hostile_values_reach_no_path_page_or_label_and_every_file_is_quarantined_or_refused(tmp_path):
    flows = _flows(tmp_path)
    out = tmp_path / "out"
    before, elsewhere = _snapshot(tmp_path, out), sorted(glob.glob("/tmp/drm-gateway-hostile*"))
    result = subprocess.run([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(out)],
                            capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert _snapshot(tmp_path, out) == before
    assert sorted(glob.glob("/tmp/drm-gateway-hostile*")) == elsewhere

    manifest = json.loads((out / "run.json").read_text())
    assert manifest["conservation_holds"] and manifest["files"] == len(HOSTILE_IDENTIFIERS) + 2
    rows = ds.dataset(out / "quarantine", format="parquet").to_table(columns=["file", "rule_id"]).to_pylist()
    rules: dict[str, set[str]] = {}
    for row in rows:
        rules.setdefault(row["file"], set()).add(row["rule_id"])
    for kind in HOSTILE_IDENTIFIERS:
        assert rules.get(f"{kind}.dsn"), f"{kind}.dsn was neither quarantined nor refused"
    assert rules["d\\xe9claration.dsn"] == {"DRM-FIL-005"}
    assert rules["link.dsn"] == {"DRM-FIL-006"}

    reports = sorted(p.name for p in (out / "report" / "declarants").iterdir())
    assert reports and all(SAFE_REPORT_NAME.fullmatch(name) for name in reports), reports
    pages = [p.read_text(encoding="utf-8") for p in (out / "report").rglob("*.html")]
    for raw in ("<svg onload", "<script>alert", "<b onmouseover"):
        assert not any(raw in page for page in pages), raw
    links = [name for page in pages for name in re.findall(r'href="(?:\.\./)?declarants/([^"]*)"', page)]
    assert links and all(SAFE_REPORT_NAME.fullmatch(name) for name in links), links    # a link is a report's name
    assert all(re.fullmatch(r"DRM-[A-Z]{2,3}-[0-9]{3}\.html", p.name) for p in (out / "report" / "rules").iterdir())


def test_a_declarant_report_asked_for_a_hostile_id_is_written_inside_its_folder(tmp_path):
    """``drm-gateway report declarant ../../x`` writes under --out, whatever the id says."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "f.dsn").write_bytes(B.a_dsn_file())
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(out)], check=True,
                   capture_output=True, env=ENV)
    target = tmp_path / "a" / "b"
    elsewhere = sorted(glob.glob("/tmp/drm-gateway-hostile-report*"))
    for hostile in ("../../x", "/tmp/drm-gateway-hostile-report", "x\x01y"):
        result = subprocess.run([sys.executable, "-m", "gateway", "report", "declarant", hostile, "--out",
                                 str(target), "--run", str(out)], capture_output=True, text=True, env=ENV)
        assert result.returncode == 0, result.stderr
    assert not (tmp_path / "x.json").exists() and sorted(glob.glob("/tmp/drm-gateway-hostile-report*")) == elsewhere
    assert all(p.parent == target and SAFE_REPORT_NAME.fullmatch(p.name) for p in target.rglob("*"))


def test_a_badly_named_file_in_the_watched_folder_does_not_stop_the_good_ones(tmp_path):
    """Watch mode: the file whose name is not UTF-8 is quarantined under DRM-FIL-005, the good files beside
    it give their resources, and a restart processes nothing twice."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / ODD_NAME).write_bytes(B.a_dsn_file())
    (inbox / "good.dsn").write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(77))))
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "gateway", "run", "--watch", str(inbox), "--once", "--out",
                                 str(out)], capture_output=True, text=True, env=ENV)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    [batch] = (out / "batches").iterdir()
    manifest = json.loads((batch / "run.json").read_text())
    assert manifest["files"] == 2 and manifest["resources"] == 1 and manifest["conservation_holds"]
    rows = ds.dataset(batch / "quarantine", format="parquet").to_table(columns=["rule_id"]).to_pylist()
    assert [row["rule_id"] for row in rows] == ["DRM-FIL-005"]
