"""The console sees every run of an output folder, whether a batch run wrote it or watch mode (batches/N/),
through the history's index of runs."""
import re

from typer.testing import CliRunner

from console.app import ConsoleConfig, create_app
from console.users import add_user
from corrections.cli import open_store
from fastapi.testclient import TestClient
from fixtures import builders as B
from gateway.cli import app
from gateway.pseudonym import DEMO_KEY
from tests.console.conftest import PASSWORDS, csrf_of

runner = CliRunner()


def _console(out):
    store = open_store(out, None)
    add_user(store, "olga", PASSWORDS["olga"], "officer")
    client = TestClient(create_app(ConsoleConfig(out=out, store=store, pseudonym_key=DEMO_KEY, secret="s")),
                        follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"username": "olga", "password": PASSWORDS["olga"], "csrf": token}).status_code == 303
    return client


def test_watch_mode_batches_show_on_the_dashboard_the_runs_page_and_the_quarantine(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    for number in range(3):
        (inbox / f"f{number}.dsn").write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(40 + number))))
        (inbox / "broken.dsn").write_bytes(b"S10.G00.00.001,'x'\n") if number == 2 else None
        assert runner.invoke(app, ["run", "--watch", str(inbox), "--out", str(out), "--once",
                                   "--insecure-demo-key"]).exit_code == 0
    client = _console(out)
    dashboard = client.get("/").text
    assert 'id="no-run"' not in dashboard and "batches/000003" in dashboard
    runs = client.get("/runs").text
    assert len(re.findall(r"<tr><td>[0-9]+</td>", runs)) == 3 and "batches/000001" in runs
    assert re.search(r"DRM-[A-Z]{3}-[0-9]{3}", client.get("/quarantine").text)    # the broken file of batch 3


def test_batch_runs_each_appear_once_in_the_index_with_french_rates(tmp_path):
    out = tmp_path / "out"
    for number, as_of in enumerate(("2025-04-05T08:00:00Z", "2025-05-05T08:00:00Z")):
        flows = tmp_path / f"flows{number}"
        flows.mkdir()
        (flows / "a.dsn").write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(60 + number))))
        assert runner.invoke(app, ["run", str(flows), "--out", str(out), "--as-of", as_of,
                                   "--insecure-demo-key"]).exit_code == 0
    runs = _console(out).get("/runs").text
    assert len(re.findall(r"<tr><td>[0-9]+</td>", runs)) == 2 and "2025-05-05" in runs and "0,0\u00a0%" in runs


def test_an_empty_folder_says_no_run_happened(tmp_path):
    client = _console(tmp_path / "out")
    assert 'id="no-run"' in client.get("/").text and 'id="no-runs"' in client.get("/runs").text
