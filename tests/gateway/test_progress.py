"""Progress of a run: files and lines done, rate and time left, handed to the caller while the flows are read and
logged as structured events; the last one accounts for every line read."""
from structlog.testing import capture_logs

from gateway.options import Settings
from gateway.progress import Snapshot
from gateway.run import run
from tests.conftest import BUNDLED, TEST_KEY


def test_a_run_reports_progress_that_ends_with_every_file_and_line_read(tmp_path):
    seen: list[Snapshot] = []
    with capture_logs() as logs:
        result = run(Settings((str(BUNDLED),), str(tmp_path / "out"), TEST_KEY), progress=seen.append)
    manifest = result.manifest
    assert seen and seen[-1].files_done == seen[-1].files == manifest["files"]
    assert seen[-1].lines_done == manifest["lines_read"]
    assert [s.lines_done for s in seen] == sorted(s.lines_done for s in seen)       # never backwards
    events = [e for e in logs if e["event"] == "run.progress"]
    assert events and events[-1]["lines_done"] == manifest["lines_read"] and events[-1]["files_done"] == manifest["files"]
    assert {"lines_per_second", "seconds_left", "bytes_done", "bytes"} <= set(events[-1])
    assert not (tmp_path / "out" / "_staging").exists() and not list((tmp_path / "out").rglob("_progress"))


def test_progress_says_files_lines_rate_and_time_left_in_one_line():
    snapshot = Snapshot(files_done=12, files=88, lines_done=1_500_000, bytes_done=25, bytes=100, seconds=3.0)
    assert snapshot.seconds_left == 9.0
    assert snapshot.line() == "12/88 files, 1,500,000 lines, 0.50 M lines/s, ~0:09 left"
    assert Snapshot(0, 88, 0, 0, 100, 0.5).seconds_left is None
