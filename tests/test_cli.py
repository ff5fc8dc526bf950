import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from fixtures import builders as B
from gateway.cli import app
from tests.conftest import BUNDLED, TEST_KEY

runner = CliRunner()
ENV = {"DRM_GATEWAY_PSEUDONYM_KEY": TEST_KEY.decode()}


def test_run_on_the_bundled_flows_prints_a_summary_and_writes_the_manifest(tmp_path):
    result = runner.invoke(app, ["run", "--out", str(tmp_path / "out"), "--insecure-demo-key"])
    assert result.exit_code == 0, result.output
    assert "conservation" in result.output and "holds" in result.output
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["conservation_holds"] and manifest["resources"] > 0 and manifest["lines_quarantined"] > 0
    assert {"resources", "avro", "quarantine", "warnings"} <= set(manifest["outputs"])


def test_an_unreadable_path_fails_with_one_line_and_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gateway", "run", str(tmp_path / "missing"), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, env={**os.environ, **ENV})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "missing" in result.stderr and "Traceback" not in result.stderr


def test_a_run_without_a_pseudonym_key_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.delenv("DRM_GATEWAY_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("DRM_GATEWAY_PSEUDONYM_KEY_FILE", raising=False)
    result = runner.invoke(app, ["run", str(BUNDLED / "edge"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and not (tmp_path / "out").exists()


def test_fixtures_generate_is_deterministic(tmp_path):
    for name in ("a", "b"):
        result = runner.invoke(app, ["fixtures", "generate", "--out", str(tmp_path / name), "--people", "20",
                                     "--employers", "2", "--bodies", "1", "--months", "2", "--seed", "5"])
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_rules_prints_the_catalogue_in_markdown():
    result = runner.invoke(app, ["rules", "--format", "md"])
    assert result.exit_code == 0 and "| DRM-STR-002 |" in result.output


def test_watch_processes_each_complete_file_exactly_once_across_restarts(tmp_path, monkeypatch):
    """Files still being written (.part) wait; a restart does not redo what the ledger holds."""
    monkeypatch.setenv("DRM_GATEWAY_PSEUDONYM_KEY", TEST_KEY.decode())
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "one.dsn").write_bytes(B.a_dsn_file())
    (inbox / "two.dsn.part").write_bytes(B.a_dsn_file()[:100])
    args = ["run", "--watch", str(inbox), "--out", str(out), "--once"]
    assert runner.invoke(app, args).exit_code == 0
    (inbox / "two.dsn.part").write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(4))))
    (inbox / "two.dsn.part").rename(inbox / "two.dsn")
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, args).exit_code == 0
    ledger = [json.loads(line) for line in (out / "watch-ledger.jsonl").read_text().splitlines()]
    assert [[f["file"] for f in batch["files"]] for batch in ledger] == [["one.dsn"], ["two.dsn"]]
    assert json.loads((out / "batches" / "000002" / "run.json").read_text())["resources"] == 1


def _fails_in_one_line(args: list[str], tmp_path) -> str:
    result = subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True,
                            env={**os.environ, **ENV}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_a_folder_with_no_flow_file_is_an_error_not_an_empty_run(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "notes.md").write_text("rien")
    message = _fails_in_one_line(["run", str(tmp_path / "inbox"), "--out", str(tmp_path / "out")], tmp_path)
    assert "no flow file" in message and not (tmp_path / "out").exists()


def test_an_unreadable_as_of_date_is_a_one_line_error(tmp_path):
    message = _fails_in_one_line(["run", str(BUNDLED / "edge"), "--out", str(tmp_path / "out"), "--as-of",
                                  "yesterday"], tmp_path)
    assert "--as-of yesterday" in message and not (tmp_path / "out").exists()


def test_a_dated_folder_given_as_input_gives_its_date_to_its_files(tmp_path):
    """--arrival folder reads the date of the folder the file sits in, even when that folder is the input."""
    result = runner.invoke(app, ["run", str(BUNDLED / "edge" / "2025-04"), "--arrival", "folder", "--out",
                                 str(tmp_path / "out"), "--insecure-demo-key"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "run.json").read_text())["as_of"] == "2025-04-01T00:00:00Z"


def test_arrival_by_folder_without_a_dated_folder_is_an_error(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "f.dsn").write_bytes(B.a_dsn_file())
    message = _fails_in_one_line(["run", str(tmp_path / "flows"), "--arrival", "folder", "--out",
                                  str(tmp_path / "out")], tmp_path)
    assert "no dated folder @ f.dsn" in message


def test_history_says_a_malformed_nir_is_invalid_without_echoing_it(tmp_path):
    for nir in ("12345", "1850375111042" + "00"):
        message = _fails_in_one_line(["history", "--nir", nir, "--out", str(tmp_path)], tmp_path)
        assert "invalid NIR" in message and nir not in message


def test_replay_runs_archived_flows_one_arrival_month_at_a_time_and_shows_the_gate(tmp_path):
    """--replay: one run per dated folder, oldest first, into one output and register; a line per run, then the
    gate's decisions of every run by kind (the sum of the runs' manifests)."""
    from fixtures.generator import generate
    from gateway.versioning import store
    generate(tmp_path / "flows", people=60, employers=4, bodies=1, months=5, seed=19)
    result = runner.invoke(app, ["run", str(tmp_path / "flows"), "--out", str(tmp_path / "out"), "--arrival",
                                 "folder", "--replay", "--insecure-demo-key"], terminal_width=200)
    assert result.exit_code == 0, result.output
    folders = sorted(p.name for p in (tmp_path / "flows").iterdir() if p.is_dir())
    assert [line.split(" ", 3)[:3] for line in result.output.splitlines() if line.startswith("run ")] == [
        ["run", str(n), f"({folder}-01):"] for n, folder in enumerate(folders, 1)]
    register = tmp_path / "out" / "history" / "register"
    assert len(store.commits(register)) == len(folders)
    kinds = {}
    for decision in store.load_all(register, "decisions"):
        kinds[decision["kind"]] = kinds.get(decision["kind"], 0) + 1
    assert kinds and f"frozen-effects gate — {len(folders)} runs" in result.output
    table = result.output[result.output.index("frozen-effects gate"):]
    assert all(f"{kind} " in table and f" {count} " in table for kind, count in kinds.items())


def test_a_run_that_quarantines_more_than_the_limit_exits_3_with_one_line_and_keeps_its_outputs(tmp_path):
    """The edge-case flows carry defects on purpose: above a 0 % limit the run fails the quality gate (its outputs
    and report are written, the line says where); a 100 % limit lets it pass. The summary names the report."""
    out = tmp_path / "out"
    strict = runner.invoke(app, ["run", str(BUNDLED / "edge"), "--out", str(out), "--insecure-demo-key",
                                 "--max-quarantine-rate", "0"])
    manifest = json.loads((out / "run.json").read_text())
    rate = 100 * manifest["lines_quarantined"] / manifest["lines_read"]
    assert strict.exit_code == 3 and rate > 0
    [line] = [text for text in strict.output.splitlines() if text.startswith("error:")]
    assert f"{rate:.1f} % of the lines read were quarantined" in line and "report/index.html" in line
    assert (out / "report" / "index.html").exists()
    lenient = runner.invoke(app, ["run", str(BUNDLED / "edge"), "--out", str(tmp_path / "out2"), "--insecure-demo-key",
                                  "--max-quarantine-rate", "100"])
    assert lenient.exit_code == 0 and f"report: {tmp_path / 'out2'}/report/index.html" in lenient.output


def test_watch_says_what_it_watches_takes_subfolders_hashes_each_file_once_and_moves_done_files(tmp_path,
                                                                                                 monkeypatch):
    """A file in a subfolder is processed like one at the top (the ledger names it by its path); a second scan
    hashes nothing already recorded; with --move-done, processed files leave the inbox for that folder."""
    import gateway.watch
    monkeypatch.setenv("DRM_GATEWAY_PSEUDONYM_KEY", TEST_KEY.decode())
    inbox, out, done = tmp_path / "inbox", tmp_path / "out", tmp_path / "done"
    (inbox / "2025-04").mkdir(parents=True)
    (inbox / "top.dsn").write_bytes(B.a_dsn_file())
    (inbox / "2025-04" / "sub.dsn").write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(5))))
    first = runner.invoke(app, ["run", "--watch", str(inbox), "--out", str(out), "--once"])
    assert first.exit_code == 0 and f"watching {inbox} and its subfolders" in first.output
    assert "watch stopped: 2 file(s) processed in 1 batch(es)" in first.output
    [batch] = [json.loads(line) for line in (out / "watch-ledger.jsonl").read_text().splitlines()]
    assert sorted(f["file"] for f in batch["files"]) == ["2025-04/sub.dsn", "top.dsn"]
    hashed = []
    monkeypatch.setattr(gateway.watch, "file_digest", lambda path: hashed.append(path) or "x")
    again = runner.invoke(app, ["run", "--watch", str(inbox), "--out", str(out), "--once", "--move-done", str(done)])
    assert again.exit_code == 0 and hashed == [] and "0 file(s) processed" in again.output
    assert sorted(p.relative_to(done).as_posix() for p in done.rglob("*.dsn")) == ["2025-04/sub.dsn", "top.dsn"]
    assert not list(inbox.rglob("*.dsn"))
    inside = runner.invoke(app, ["run", "--watch", str(inbox), "--out", str(out), "--once", "--move-done",
                                 str(inbox / "done")])
    assert inside.exit_code == 2 and "inside the watched folder" in inside.output


def test_the_reference_path_option_writes_what_the_fast_path_writes(tmp_path, monkeypatch, columnar):
    """``--reference-path`` takes no declaration the columnar way, and writes the same bytes."""
    import gateway.ingest
    from tools.output_digest import digests
    monkeypatch.setattr(gateway.ingest, "COLUMNAR_FROM", 0)        # small files: the fast path at any size
    taken = {}
    for name, extra in (("fast", []), ("reference", ["--reference-path"])):
        columnar.clear()
        result = runner.invoke(app, ["run", str(BUNDLED / "edge"), "--out", str(tmp_path / name), "--insecure-demo-key",
                                     "--as-of", "2025-03-03T09:00:00Z", *extra])
        assert result.exit_code == 0, result.output
        taken[name] = columnar["columnar"]
    assert taken["fast"] > 0 and taken["reference"] == 0
    assert digests(tmp_path / "fast") == digests(tmp_path / "reference")
