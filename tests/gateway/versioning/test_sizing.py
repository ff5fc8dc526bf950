"""The register's bucket count follows its size (gateway.versioning.sizing): a resize keeps every row and every
later output, a crash in the middle of one is finished by the next run, a fixed count stays fixed."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.publish.datasets import bucket_of
from gateway.run import run
from gateway.versioning import sizing, store
from tests.conftest import TEST_KEY

ENV = {**os.environ, "DRM_GATEWAY_PSEUDONYM_KEY": TEST_KEY.decode()}
RATES = Rates(late=0.2, replacement=0.3, regularisation=0.1, back_pay=0.1, net_social_correction=0.1, defects=0.03)


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> list[Path]:
    flows = tmp_path_factory.mktemp("flows")
    generate(flows, people=50, employers=3, bodies=1, months=4, seed=23, rates=RATES)
    return sorted(p for p in flows.iterdir() if p.is_dir())


def _register(out: Path) -> Path:
    return out / "history" / "register"


def _rows(register: Path, table: str) -> list[str]:
    """A table's committed rows as readers get them, each person's rows in their order, without the positions
    (renumbered by a resize)."""
    committed = [c.run_id for c in store.commits(register)]
    found = store.dataset(register, table).to_table()
    found = found.filter(pc.field(store.RUN).isin(pa.array(committed, pa.string())))
    found = found.sort_by([(store.RUN, "ascending"), (store.ROW, "ascending")]).drop_columns([store.ROW])
    return sorted(json.dumps(row, sort_keys=True) for row in found.to_pylist())


def _tables(register: Path) -> dict[str, list[str]]:
    return {table: _rows(register, table) for table in store.SCHEMAS}


def _partitions(register: Path, table: str) -> set[str]:
    return {p.name for p in (register / table).iterdir() if p.is_dir() and "=" in p.name} & {
        Path(uri).parent.name for uris in store.table_files(register, table).values() for uri in uris}


def test_the_bucket_count_is_the_smallest_power_of_two_holding_the_people():
    assert [sizing.buckets_for(n, 1000) for n in (0, 1, 1000, 1001, 4000, 4001, 10**9)] == [1, 1, 1, 2, 4, 8, 4096]
    assert sizing.first_buckets(40 * sizing.BYTES_PER_PERSON, 10) == 4           # no people counted: the bytes
    assert sizing.first_buckets(40 * sizing.BYTES_PER_PERSON, 10, people=100) == 16


@pytest.mark.parametrize("per_bucket", [10, 3])
def test_a_new_register_starts_with_the_buckets_its_first_runs_people_ask_for(months, tmp_path, per_bucket):
    """The first month: ~590 kB (118 people at 5,000 bytes each, the estimate from bytes alone), 46 people: the
    inventory's count of their NIRs gives the register the buckets they ask for from its first run (8 at 10 a
    bucket, 16 at 3), and the refit after it has nothing to change."""
    out = tmp_path / f"per-{per_bucket}"
    run(Settings((str(months[0]),), str(out), TEST_KEY, people_per_bucket=per_bucket))
    register = _register(out)
    wanted = sizing.buckets_for(sizing.people_of(register), per_bucket)
    assert wanted == {10: 8, 3: 16}[per_bucket]
    assert wanted < sizing.first_buckets(sum(p.stat().st_size for p in months[0].rglob("*.dsn")), per_bucket)
    assert store.commits(register)[0].bucket_count == store.buckets_of(register) == wanted


def test_a_new_register_keeps_its_first_count_within_four_times_its_people_and_is_refitted_beyond(months,
                                                                                                 tmp_path):
    """A register laid out with more buckets than its 46 people ask for before its first run (an estimate from
    bytes: 16 at 10 people a bucket, 64 at 3): within 4× of what they ask for (8), kept; beyond (64 against 16),
    resized after the run, every row then in the bucket its person gives."""
    for per_bucket, laid_out, wanted, after in ((10, 16, 8, 16), (3, 64, 16, 16)):
        out = tmp_path / f"per-{per_bucket}"
        store.ensure_layout(_register(out), laid_out, per_bucket)
        run(Settings((str(months[0]),), str(out), TEST_KEY, people_per_bucket=per_bucket))
        register = _register(out)
        assert sizing.buckets_for(sizing.people_of(register), per_bucket) == wanted
        assert store.buckets_of(register) == after
        assert store.commits(register)[0].bucket_count == laid_out          # the run merged with that count
        for bucket in range(after):
            state = store.load_bucket(register, bucket, [c.run_id for c in store.commits(register)])
            assert all(bucket_of(v.person_key, after) == bucket for v in state.versions)


def test_a_register_resized_while_it_grows_holds_what_one_of_that_size_from_the_start_holds(months, tmp_path):
    """One register joined into fewer buckets, then split into many between monthly runs; another made with that
    final count from the start: after the last run both hold the same rows (person tables, declarations with
    their shards and the person buckets they list), every row in the bucket and shard its key gives."""
    resized, fixed = tmp_path / "resized", tmp_path / "fixed"
    for index, month in enumerate(months):
        run(Settings((str(month),), str(resized), TEST_KEY, people_per_bucket=10))
        run(Settings((str(month),), str(fixed), TEST_KEY, buckets=16))
        if index == 0:
            sizing.resize(_register(resized), 2)
        if index == 1:
            sizing.resize(_register(resized), 16)
    register = _register(resized)
    assert store.layout_of(register) == {"buckets": 16, "generation": 2, "people_per_bucket": 10}
    assert _tables(register) == _tables(_register(fixed))
    for table in store.BUCKET_TABLES:
        rows = store.load_all(register, table)
        assert rows, table
    for bucket in range(16):
        state = store.load_bucket(register, bucket, [c.run_id for c in store.commits(register)])
        people = {item.person_key for items in (state.contributions, state.mentions, state.versions, state.frozen,
                                                state.decisions) for item in items}
        assert all(bucket_of(person, 16) == bucket for person in people)
    assert _partitions(register, "versions") <= {f"bucket={b:02d}" for b in range(16)}


def test_a_run_after_a_resize_gives_the_decisions_and_versions_of_a_register_never_resized(months, tmp_path):
    """Same flows, month by month, into a register resized before each run and one that keeps its count: the
    runs' gate decisions, published bases and versions are the same (a resize re-derives the people of the
    buckets the next run touches: who is re-examined may differ, not what anyone gets)."""
    resized, fixed = tmp_path / "resized", tmp_path / "fixed"
    for index, month in enumerate(months):
        if index:
            sizing.resize(_register(resized), (4, 1, 32)[index - 1])
        for out, options in ((resized, {"people_per_bucket": 10}), (fixed, {"buckets": 4})):
            run(Settings((str(month),), str(out), TEST_KEY, **options))
    for table in ("versions", "frozen", "decisions", "contributions", "mentions"):
        rows = _rows(_register(resized), table)
        assert rows == _rows(_register(fixed), table) and rows, table


def _resize_cli(register: Path, *options: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = dict(ENV, DRM_GATEWAY_FAULT=fault) if fault else ENV
    return subprocess.run([sys.executable, "-m", "gateway", "register", "resize", str(register), *options],
                          capture_output=True, text=True, env=env, timeout=300)


def test_a_resize_killed_half_way_is_finished_by_the_next_run(months, tmp_path):
    """SIGKILL after the first table of a resize: the register still says its old count and the resize under way;
    the next run finishes it (no table rewritten twice) before merging, and ends with the register of a resize
    that was never interrupted."""
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for out in (killed, clean):
        run(Settings((str(months[0]),), str(out), TEST_KEY, buckets=4))
    stopped = _resize_cli(_register(killed), "--buckets", "8", fault="resize")
    assert stopped.returncode == -signal.SIGKILL
    layout = store.layout_of(_register(killed))
    assert layout["buckets"] == 4 and layout["resizing"] == 8
    finished = _resize_cli(_register(clean), "--buckets", "8")
    assert finished.returncode == 0 and "4 -> 8 buckets" in finished.stdout
    for out in (killed, clean):
        run(Settings((str(months[1]),), str(out), TEST_KEY))
    assert store.layout_of(_register(killed)) == store.layout_of(_register(clean)) == {"buckets": 8, "generation": 1}
    assert _tables(_register(killed)) == _tables(_register(clean))
    assert _partitions(_register(killed), "versions") == _partitions(_register(clean), "versions")


def test_a_register_made_with_a_fixed_count_keeps_it_as_it_grows(months, tmp_path):
    out = tmp_path / "out"
    for month in months:
        run(Settings((str(month),), str(out), TEST_KEY, buckets=2))
    assert store.layout_of(_register(out)) == {"buckets": 2}
    refused = _resize_cli(_register(out))
    assert refused.returncode == 2 and "--buckets N" in refused.stderr
