"""A register of the earlier layout (Parquet parts and a commit log) is converted to Delta tables and continued
exactly as a register that always was one."""
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fixtures.generator import Rates, generate
from gateway.cli import app
from gateway.errors import ConfigurationError
from gateway.gate.officer import load_answers
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.migrate import migrate
from tests.conftest import TEST_KEY
from tests.gateway.versioning.test_register_runs import _versions
from tools.output_digest import register_digests


def _earlier_layout(register: Path, *, unsharded: bool, month_ranges: bool) -> None:
    """Write the register as the earlier code kept it: each committed run's parts without the run columns, one
    ``_commits.jsonl`` line per run, no Delta log; optionally with the declarations of a run in one unsharded
    part and without the month ranges (``last_month``, ``first_month``, ``buckets``) of still older registers."""
    commits = store.commits(register)
    for path in register.rglob("run=*.parquet"):
        table = pq.read_table(path).drop_columns([store.RUN, store.ROW])
        if not month_ranges and "first_month" in table.column_names:
            table = table.drop_columns(["first_month", "buckets"])
        pq.write_table(table, path)
    if unsharded:
        for entry in commits:
            parts = sorted((register / "declarations").glob(f"shard=*/run={entry.run_id}.parquet"))
            if parts:
                pq.write_table(pa.concat_tables([pq.read_table(p) for p in parts]),
                               register / "declarations" / f"run={entry.run_id}.parquet")
            for part in parts:
                part.unlink()
    for log in register.rglob("_delta_log"):
        shutil.rmtree(log)
    shutil.rmtree(register / "runs")
    shutil.rmtree(register / "answers")
    (register / "officer_answers.jsonl").write_text("\n" + json.dumps(ANSWER) + "\n" + '{"decision_id": "torn')
    (register / "_commits.jsonl").write_text("".join(
        "\n" + json.dumps({k: v for k, v in entry.__dict__.items() if month_ranges or k != "last_month"}) + "\n"
        for entry in commits))


ANSWER = {"decision_id": "d" * 24, "action": "keep-frozen", "spread_months": None, "reason": "Erreur de l'employeur",
          "officer": "agent-1", "at": "2025-03-02T10:00:00Z"}


def _history(tmp_path: Path, months: int) -> list[Path]:
    flows = tmp_path / "flows"
    generate(flows, people=40, employers=3, bodies=1, months=months, seed=23,
             rates=Rates(late=0.2, replacement=0.3, regularisation=0.1, net_social_correction=0.1, reach_back=1))
    return sorted(p for p in flows.iterdir() if p.is_dir())


@pytest.mark.parametrize("unsharded,month_ranges", [(False, True), (True, False)])
def test_a_register_of_the_earlier_layout_is_converted_and_continued_alike(tmp_path, unsharded, month_ranges):
    months = _history(tmp_path, 4)
    for name in ("delta", "earlier"):
        for folder in months[:2]:
            run(Settings((str(folder),), str(tmp_path / name), TEST_KEY))
    register = tmp_path / "earlier" / "history" / "register"
    _earlier_layout(register, unsharded=unsharded, month_ranges=month_ranges)

    with pytest.raises(ConfigurationError, match="drm-gateway register migrate"):
        run(Settings((str(months[2]),), str(tmp_path / "earlier"), TEST_KEY))
    result = CliRunner().invoke(app, ["register", "migrate", str(register)])
    assert result.exit_code == 0 and "2 runs" in result.output, result.output
    assert not (register / "_commits.jsonl").exists() and (register / "_commits.jsonl.migrated").exists()
    assert {k: asdict(v) for k, v in load_answers(register).items()} == {ANSWER["decision_id"]: ANSWER}
    delta = tmp_path / "delta" / "history" / "register"
    converted = register_digests(register)
    expected = register_digests(delta)
    if not month_ranges:           # the earlier register did not know them: empty after conversion
        converted = {k: v for k, v in converted.items() if k not in ("runs", "declarations")}
        expected = {k: v for k, v in expected.items() if k not in ("runs", "declarations")}
    assert converted == expected

    for folder in months[2:]:
        for name in ("delta", "earlier"):
            run(Settings((str(folder),), str(tmp_path / name), TEST_KEY))
    assert _versions(tmp_path / "delta") == _versions(tmp_path / "earlier")
    assert {row[6] for row in _versions(tmp_path / "delta")} >= {"INITIAL", "REPLACEMENT"}


def test_converting_a_register_that_is_not_of_the_earlier_layout_is_refused(tmp_path):
    months = _history(tmp_path, 1)
    run(Settings((str(months[0]),), str(tmp_path / "out"), TEST_KEY))
    register = tmp_path / "out" / "history" / "register"
    before = register_digests(register)
    with pytest.raises(ConfigurationError, match="no register to convert"):
        migrate(register)
    result = CliRunner().invoke(app, ["register", "migrate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no register to convert" in result.output and "Traceback" not in result.output
    assert register_digests(register) == before
