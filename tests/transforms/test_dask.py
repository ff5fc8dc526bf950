"""The unchanged pipeline on a real distributed engine: Beam's DaskRunner against a dask.distributed cluster of
one scheduler and two worker processes on 127.0.0.1, started in a folder of their own (not the driver's). Its
outputs are byte for byte the embedded runner's, with a relative --out."""
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.dask import close_clients
from fixtures.generator import Rates, generate
from gateway.errors import RunFailedError
from gateway.options import Settings
from gateway.run import run
from tests.conftest import BUNDLED, TEST_KEY
from tools.output_digest import digests

DASK_RUNNER = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


@contextmanager
def cluster(home: Path, extra_env: dict[str, str] | None = None):
    """A scheduler and two single-threaded worker processes, as `dask scheduler` / `dask worker` start them, in
    ``home`` (their own working folder), with ``extra_env`` in their environment; yields the scheduler address."""
    dask = Path(sys.executable).with_name("dask")
    scheduler_file = home / "scheduler.json"
    env = dict(os.environ, **(extra_env or {}), PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]))
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], cwd=home, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        processes.append(subprocess.Popen(
            [str(dask), "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(home / "scratch")],
            cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"].removeprefix("tcp://")
        from distributed import Client
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        close_clients()
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    pytest.importorskip("distributed")
    with cluster(tmp_path_factory.mktemp("dask-workers")) as address:
        yield address


def _same_outputs(left: Path, right: Path) -> list[str]:
    mine, theirs = dict((n, d) for d, n in digests(left)), dict((n, d) for d, n in digests(right))
    assert mine, "no outputs"
    return sorted(name for name in set(mine) | set(theirs) if mine.get(name) != theirs.get(name))


def _both(flows: Path, tmp_path: Path, address: str, monkeypatch, **settings) -> tuple[Path, Path]:
    embedded = tmp_path / "embedded"
    run(Settings((str(flows),), str(embedded), TEST_KEY, **settings))
    driver = tmp_path / "driver"
    driver.mkdir(exist_ok=True)
    monkeypatch.chdir(driver)                           # a relative --out and inputs, seen from the driver only
    result = run(Settings((os.path.relpath(flows, driver),), "out", TEST_KEY,
                          beam_args=(DASK_RUNNER, f"--dask_client_address={address}"), **settings))
    assert result.manifest["files"] > 0 and result.manifest["conservation_holds"]
    return embedded, driver / "out"


def test_the_bundled_flows_give_the_same_bytes_on_dask_as_on_the_embedded_runner(dask_cluster, tmp_path,
                                                                                 monkeypatch):
    embedded, distributed = _both(BUNDLED, tmp_path, dask_cluster, monkeypatch, arrival="folder")
    assert _same_outputs(embedded, distributed) == []


def test_generated_flows_with_defects_over_three_monthly_runs_give_the_same_register_on_dask(dask_cluster, tmp_path,
                                                                                           monkeypatch):
    flows = tmp_path / "flows"
    generate(flows, people=60, employers=4, bodies=2, months=3, seed=24, rates=Rates(defects=0.4))
    folders = sorted(p for p in flows.iterdir() if p.is_dir())
    for folder in folders[:-1]:                       # earlier months in both registers, on the embedded runner
        for out in (tmp_path / "embedded", tmp_path / "driver" / "out"):
            run(Settings((str(folder),), str(out), TEST_KEY))
    embedded, distributed = _both(folders[-1], tmp_path, dask_cluster, monkeypatch)
    assert _same_outputs(embedded, distributed) == []


def test_a_run_whose_pipeline_misses_input_files_commits_nothing(tmp_path, monkeypatch):
    """A pipeline that accounts for no file (workers writing elsewhere) is refused: no run.json, no commit."""
    import transforms.pipeline
    monkeypatch.setattr(transforms.pipeline, "run_parse", lambda *args, **kwargs: None)
    monkeypatch.setattr(transforms.pipeline, "run_merge", lambda *args, **kwargs: None)
    out = tmp_path / "out"
    with pytest.raises(RunFailedError, match="accounted for 0 of"):
        run(Settings((str(BUNDLED / "edge"),), str(out), TEST_KEY))
    assert not (out / "run.json").exists()
    assert not (out / "history" / "register" / "_commits.jsonl").exists() or \
        (out / "history" / "register" / "_commits.jsonl").read_text().strip() == ""
