"""The register's Delta tables: what other tools read, compaction and retention, time travel."""
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY
from tools.output_digest import register_digests


def _monthly(tmp_path, months: int):
    flows = tmp_path / "flows"
    generate(flows, people=30, employers=3, bodies=1, months=months, seed=41,
             rates=Rates(late=0.2, replacement=0.3, regularisation=0.1, net_social_correction=0.1))
    out = tmp_path / "out"
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        run(Settings((str(folder),), str(out), TEST_KEY))
    return out / "history" / "register"


def test_duckdb_reads_the_committed_versions_as_the_gateway_does(tmp_path):
    register = _monthly(tmp_path, 2)
    committed = [c.run_id for c in store.commits(register)]
    versions = store.dataset(register, "versions")            # noqa: F841  (queried by name in DuckDB)
    wanted = ", ".join(f"'{run_id}'" for run_id in committed)
    by_cause = dict(duckdb.sql(f"SELECT cause, count(*) FROM versions WHERE _run IN ({wanted}) GROUP BY cause").fetchall())
    expected: dict[str, int] = {}
    for version in store.load_all_versions(register):
        expected[version.cause.value] = expected.get(version.cause.value, 0) + 1
    assert by_cause == expected and sum(by_cause.values()) > 50


def test_compaction_and_retention_keep_every_row_and_fewer_files_and_checkpoint_the_logs(tmp_path):
    register = _monthly(tmp_path, 3)
    before = register_digests(register)
    files_before = len(DeltaTable(str(register / "versions")).file_uris())
    assert store.maintain(register, every=1, retention_hours=0)
    assert register_digests(register) == before
    assert len(DeltaTable(str(register / "versions")).file_uris()) < files_before
    on_disk = {p for p in (register / "versions").rglob("*.parquet") if "_delta_log" not in p.parts}
    assert len(on_disk) == len(DeltaTable(str(register / "versions")).file_uris())     # vacuum removed the rest
    # every table's log is checkpointed at its latest version (readers start there), and reads the same after it
    for table in (*store.SCHEMAS, store.RUNS, store.ANSWERS):
        delta = DeltaTable(str(register / table))
        assert (register / table / "_delta_log" / f"{delta.version():020d}.checkpoint.parquet").exists(), table
    assert register_digests(register) == before


def test_an_earlier_version_of_a_table_is_read_back_by_time_travel(tmp_path):
    register = _monthly(tmp_path, 3)
    commits = store.commits(register)
    table = DeltaTable(str(register / "versions"))
    first = [entry["version"] for entry in table.history() if entry.get("operation") == "WRITE"]
    table.load_as_version(min(first))
    rows = table.to_pyarrow_dataset().to_table()
    assert set(rows.column(store.RUN).to_pylist()) == {commits[0].run_id}
    assert rows.num_rows == pc.sum(pa.array([commits[0].versions_added])).as_py()


def test_every_eighth_run_compacts_the_register_and_the_runs_between_leave_its_files_as_written(tmp_path):
    flows = tmp_path / "flows"
    generate(flows, people=6, employers=1, bodies=0, months=store.COMPACT_EVERY, seed=43)
    out = tmp_path / "out"
    register = out / "history" / "register"
    for number, folder in enumerate(sorted(p for p in flows.iterdir() if p.is_dir()), start=1):
        run(Settings((str(folder),), str(out), TEST_KEY))
        files = DeltaTable(str(register / "versions")).file_uris()
        if number < store.COMPACT_EVERY:
            assert len(files) == number and all("/run=" in uri for uri in files)      # one file a run
    assert len(store.commits(register)) == store.COMPACT_EVERY
    assert len(files) == 1 and "/run=" not in files[0]                               # the eighth run compacted
    assert (register / "versions" / "_delta_log" /
            f"{DeltaTable(str(register / 'versions')).version():020d}.checkpoint.parquet").exists()


ANSWER = {"decision_id": "e" * 24, "action": "keep-frozen", "spread_months": None, "reason": "Erreur de l'employeur",
          "officer": "agent-2", "at": "2025-03-02T10:00:00Z"}


def test_a_run_reads_every_table_at_the_version_it_pinned_though_a_commit_lands_meanwhile(tmp_path):
    """The driver pins the register's tables once (``Tables.pin``); every reader given the pins (the shards, the
    buckets, the gate's officer answers, the commit) reads those versions: an answer an officer records while the
    run merges is the next run's, not half of this one's; a reader without pins sees it."""
    register = _monthly(tmp_path, 2)
    runs = len(store.commits(register))
    pins = store.Tables(register).pin()
    assert {table for table, _ in pins} == {*store.SCHEMAS, store.RUNS, store.ANSWERS}
    assert dict(pins)[store.ANSWERS] == 0                       # created empty by the first run
    rows_before = {table: store.read_files(register, table, [uri for uris in store._files(
        register, table, [], store.Tables(register, pins)).values() for uri in uris]).num_rows
        for table in store.SCHEMAS}
    store.add_answers(register, [ANSWER])
    assert store.answers(register, store.Tables(register, pins)) == []
    assert [row["decision_id"] for row in store.answers(register)] == [ANSWER["decision_id"]]
    assert dict(store.Tables(register).pin())[store.ANSWERS] == 1
    # a third month's run commits through its pins; readers pinned before it still read the runs before
    flows = tmp_path / "flows3"
    generate(flows, people=30, employers=3, bodies=1, months=3, seed=41,
             rates=Rates(late=0.2, replacement=0.3, regularisation=0.1, net_social_correction=0.1))
    run(Settings((str(sorted(p for p in flows.iterdir() if p.is_dir())[-1]),), str(tmp_path / "out"), TEST_KEY))
    pinned = store.Tables(register, pins)
    assert len(store.commits(register, pinned)) == runs and len(store.commits(register)) == runs + 1
    for table, count in rows_before.items():
        uris = [uri for group in store._files(register, table, [], pinned).values() for uri in group]
        assert store.read_files(register, table, uris).num_rows == count, table
    latest = store.Tables(register)
    assert sum(len(group) for group in store._files(register, "versions", [], latest).values()) > \
        sum(len(group) for group in store._files(register, "versions", [], pinned).values())


def test_a_table_pinned_as_absent_reads_as_absent_and_the_process_keeps_few_versions(tmp_path):
    register = _monthly(tmp_path, 1)
    assert store.Tables(register, [(store.ANSWERS, store.ABSENT)]).get(store.ANSWERS) is None
    assert store.Tables(register).get(store.ANSWERS) is not None
    for _ in range(3):
        store.Tables(register).pin()
    assert len(store._SNAPSHOTS) <= store._SNAPSHOTS_KEPT
