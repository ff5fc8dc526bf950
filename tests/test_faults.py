"""Crashes, reruns and concurrent runs: nothing lost, nothing half-written, nothing interleaved."""
import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.peak import run_gateway
from fixtures.generator import Rates, generate
from gateway.errors import ConfigurationError
from gateway.options import Settings
from gateway.run import run
from tests.conftest import TEST_KEY
from tools.output_digest import register_digests

ENV = {**os.environ, "DRM_GATEWAY_PSEUDONYM_KEY": TEST_KEY.decode()}


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("flows")
    generate(folder, people=60, employers=4, bodies=2, months=3, seed=5, rates=Rates(defects=0.1))
    return folder


@pytest.fixture(scope="module")
def reference(flows, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    run(Settings((str(flows),), str(out), TEST_KEY))
    return out


def _cli(flows: Path, out: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    env = dict(ENV, DRM_GATEWAY_FAULT=fault) if fault else ENV
    return subprocess.run([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


def _tree(root: Path) -> dict[str, bytes]:
    """Every output file, and the register as its readers see it (a Delta table's log holds commit times)."""
    register = root / "history" / "register"
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and not p.name.endswith(".lock") and not p.is_relative_to(register)}
    return {**files, **{f"register:{table}": digest.encode() for table, digest in register_digests(register).items()}}


@pytest.mark.parametrize("point", ["index", "publish", "register", "declarant-reports", "finalise", "manifest"])
def test_a_run_killed_at_any_point_is_caught_up_by_a_rerun(point, flows, reference, tmp_path):
    """SIGKILL while parsing, writing datasets, merging the register, writing declarants' reports, swapping
    datasets in or before the manifest: the rerun's outputs, history, register and manifest are identical to an uninterrupted run."""
    out = tmp_path / "out"
    killed = _cli(flows, out, fault=point)
    assert killed.returncode == -signal.SIGKILL
    assert not (out / "run.json").exists()            # the manifest is written last
    assert _cli(flows, out).returncode == 0
    assert _tree(out) == _tree(reference)


def test_a_second_run_on_the_same_output_is_refused_while_one_is_writing(flows, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".run.lock", "w") as held:        # a run in progress holds this lock
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ConfigurationError, match="another run is writing"):
            run(Settings((str(flows),), str(out), TEST_KEY))
        refused = _cli(flows, out)
    assert refused.returncode == 2 and "another run is writing" in refused.stderr
    assert not (out / "run.json").exists() and not (out / "resources").exists()


def test_two_runs_sharing_one_register_are_never_interleaved(flows, tmp_path):
    """Two output folders, one --register, started at once: one merges, the other waits its turn by being
    refused with a clear message; the register holds exactly the committed run(s), each whole."""
    from gateway.versioning import store
    register = tmp_path / "register"
    procs = [subprocess.Popen([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(tmp_path / f"out{i}"),
                               "--register", str(register)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=ENV) for i in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2])
    if codes == [0, 2]:
        assert any("another run is merging into the register" in err for code, err in results if code == 2)
    commits = store.commits(register)
    assert len(commits) == 1                     # same inputs: the second, if it ran, added nothing new
    assert len(store.load_all_versions(register)) == commits[0].versions_added


def test_two_runs_started_together_are_serialised_or_refused(flows, tmp_path):
    """Started at the same moment on one output folder: one completes, the other completes or is refused;
    the folder ends with exactly one complete, consistent run."""
    out = tmp_path / "out"
    procs = [subprocess.Popen([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV) for _ in range(2)]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes in ([0, 0], [0, 2])
    import json
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["conservation_holds"] and not (out / ".staging").exists()


def _drop(inbox: Path, count: int) -> list[str]:
    """``count`` small declarations dropped at once, with increasing arrival times."""
    from fixtures import builders as B
    inbox.mkdir()
    names = []
    for number in range(count):
        name = f"flow_{count - number:05d}.dsn"          # names run against arrival order on purpose
        path = inbox / name
        path.write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(number + 1))))
        os.utime(path, ns=(1_700_000_000_000_000_000 + number * 1_000_000,) * 2)
        names.append(name)
    return names


def _watch(inbox: Path, out: Path, *extra: str, fault: str | None = None) -> tuple[int, float]:
    env = dict(ENV, DRM_GATEWAY_FAULT=fault) if fault else ENV
    code, peak_mb, _ = run_gateway(["run", "--watch", str(inbox), "--out", str(out), "--once", *extra], env)
    return code, peak_mb          # the child's own peak (VmHWM), not the pytest process's


def _ledger_files(out: Path) -> list[str]:
    import json
    lines = (out / "watch-ledger.jsonl").read_text().splitlines()
    return [f["file"] for line in lines for f in json.loads(line)["files"]]


def test_a_backlog_of_1000_files_is_processed_once_in_arrival_order_with_bounded_memory(tmp_path):
    names = _drop(tmp_path / "inbox", 1000)
    code, peak_mb = _watch(tmp_path / "inbox", tmp_path / "out", "--batch-size=400")
    assert code == 0 and _ledger_files(tmp_path / "out") == names
    assert len(list((tmp_path / "out" / "batches").iterdir())) == 3
    print(f"1000-file backlog: 3 batches, peak {peak_mb:.0f} MB")
    assert peak_mb < 500


def test_a_watcher_killed_mid_batch_resumes_and_processes_every_file_exactly_once(tmp_path):
    names = _drop(tmp_path / "inbox", 150)
    code, _ = _watch(tmp_path / "inbox", tmp_path / "out", "--batch-size=60", fault="publish")
    assert code == -signal.SIGKILL and not (tmp_path / "out" / "watch-ledger.jsonl").exists()
    code, _ = _watch(tmp_path / "inbox", tmp_path / "out", "--batch-size=60")
    assert code == 0 and _ledger_files(tmp_path / "out") == names
    import json
    read = sum(json.loads((batch / "run.json").read_text())["lines_read"]
               for batch in (tmp_path / "out" / "batches").iterdir())
    assert read == sum((tmp_path / "inbox" / n).read_bytes().count(b"\n") for n in names)


def test_storage_failing_mid_run_stops_cleanly_and_leaves_the_previous_outputs(flows, reference, tmp_path):
    """A disk full while writing datasets: one-line error, exit 2, previous run's outputs unchanged,
    and a rerun once the cause is gone catches up."""
    import shutil
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    before = _tree(out)
    failed = _cli(flows, out, fault="publish:disk-full")
    assert failed.returncode == 2 and "No space left on device" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("error: run stopped before completing")
    visible = {k: v for k, v in _tree(out).items() if not k.startswith(".staging")}
    assert {k: v for k, v in visible.items() if k in before} == before       # nothing visible changed
    assert _cli(flows, out).returncode == 0 and _tree(out) == before


def test_the_register_failing_mid_merge_leaves_no_visible_part_and_a_rerun_catches_up(flows, reference, tmp_path):
    from gateway.versioning import store
    out = tmp_path / "out"
    failed = _cli(flows, out, fault="register:disk-full")
    assert failed.returncode == 2 and "No space left on device" in failed.stderr and "Traceback" not in failed.stderr
    register = out / "history" / "register"
    assert store.commits(register) == [] and store.load_all_versions(register) == []
    assert not (out / "run.json").exists()
    assert _cli(flows, out).returncode == 0 and _tree(out) == _tree(reference)


def test_an_unreachable_corrections_database_stops_the_run_before_anything_is_written(flows, tmp_path):
    env = dict(ENV, DRM_GATEWAY_DB="postgresql://nobody:secret@127.0.0.1:1/none")
    failed = subprocess.run([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert failed.returncode == 2 and "corrections store unavailable" in failed.stderr
    assert "Traceback" not in failed.stderr and "secret" not in failed.stderr
    assert not (tmp_path / "out" / "run.json").exists()


DATASET_FOLDERS = ("resources", "avro", "quarantine", "warnings", "flags", "bases", "published", "decisions",
                   "report")


def _consumer_view(out: Path) -> tuple[str, dict[str, bytes]] | None:
    """What a liquidation consumer reads: nothing while run.json is absent, else the run it names and the
    datasets beside it."""
    import json
    if not (out / "run.json").exists():
        return None
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    return run_id, {k: v for k, v in _tree(out).items() if k.split("/")[0] in DATASET_FOLDERS}


@pytest.fixture(scope="module")
def second(flows, reference, tmp_path_factory):
    """A second run into the reference's folder (one more flow file): its inputs and its consumer view."""
    import shutil
    from fixtures import builders as B
    folder = tmp_path_factory.mktemp("second")
    shutil.copytree(flows, folder / "flows")
    (folder / "flows" / "late.dsn").write_bytes(B.a_dsn_file(main_month=B.date(2025, 5, 1)))
    out = folder / "out"
    shutil.copytree(reference, out)
    assert _cli(folder / "flows", out).returncode == 0
    return folder / "flows", _consumer_view(out)


@pytest.mark.parametrize("fault", ["finalise", "reports", "manifest", "reports:disk-full", "finalise:disk-full"])
def test_a_consumer_never_reads_one_run_manifest_over_another_run_datasets(fault, flows, reference, second, tmp_path):
    """A second run killed (or out of disk) while its datasets are swapped in or its reports written: a
    consumer finds no run.json, or the run.json of a run with exactly that run's datasets; a full disk gives a
    one-line error and leaves no spilled records; the rerun catches up."""
    import shutil
    second_flows, second_view = second
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    first_view = _consumer_view(out)
    failed = _cli(second_flows, out, fault=fault)
    if fault.endswith("disk-full"):
        assert failed.returncode == 2 and "Traceback" not in failed.stderr, failed.stderr[-2000:]
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith("error: cannot write @") and "No space left on device" in last
        assert not (out / ".staging").exists()
    else:
        assert failed.returncode == -signal.SIGKILL
    assert _consumer_view(out) in (None, first_view, second_view)
    assert _consumer_view(out) is None          # the previous manifest was withdrawn before anything moved
    assert _cli(second_flows, out).returncode == 0 and _consumer_view(out) == second_view


def test_an_output_folder_that_cannot_be_written_is_a_one_line_error(flows, tmp_path):
    """A file where the output folder should be (the same OSError path as a read-only folder, which root, who
    runs CI, may write anyway): exit 2, one line naming where, no traceback."""
    (tmp_path / "taken").write_text("a file, not a folder")
    failed = _cli(flows, tmp_path / "taken" / "out")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot write @") and "taken" in last
