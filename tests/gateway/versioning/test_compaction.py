"""Compacted register parts: a run reads a folder's runs from one compacted file and gives what reading
every run's part gives."""
import filecmp
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gateway.options import Settings
from gateway.run import run
from gateway.versioning import compaction, store
from tests.conftest import TEST_KEY
from tests.gateway.versioning.test_settled_months import _flows, _short_policy


def _same_files(left: Path, right: Path) -> list[str]:
    """Files that differ or exist on one side only, the compacted copies aside."""
    differ = []
    names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()} | {
        p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    for name in sorted(names):
        if compaction.COMPACTED in name.parts:
            continue
        if not ((left / name).exists() and (right / name).exists() and filecmp.cmp(left / name, right / name, False)):
            differ.append(str(name))
    return differ


def _monthly(tmp_path: Path, monkeypatch, every: int, name: str, arrivals: list[Path], policy: str) -> Path:
    monkeypatch.setattr(compaction, "COMPACT_EVERY", every)
    out = tmp_path / name
    for folder in arrivals:
        run(Settings((str(folder),), str(out), TEST_KEY, policy=policy))
    return out


def test_monthly_runs_over_compacted_parts_give_the_outputs_and_register_of_runs_over_every_part(tmp_path, monkeypatch):
    """Monthly runs with every folder compacted every 2 runs (months settling on the way, replacements,
    regularisations) write the same outputs and register parts as runs reading every run's part; so does a
    rerun of an early month (whose compactions it may not use: they cover the run it leaves out)."""
    policy = _short_policy(tmp_path)
    arrivals = sorted(p for p in _flows(tmp_path, months=7).iterdir() if p.is_dir())
    plain = _monthly(tmp_path, monkeypatch, 0, "plain", arrivals, policy)
    compacted = _monthly(tmp_path, monkeypatch, 2, "compacted", arrivals, policy)
    register = compacted / "history" / "register"
    assert list((register / compaction.COMPACTED / "versions").glob("bucket=*/runs=*.parquet"))
    assert not (plain / "history" / "register" / compaction.COMPACTED).exists()
    assert _same_files(plain, compacted) == []
    for out in (plain, compacted):
        run(Settings((str(arrivals[2]),), str(out), TEST_KEY, policy=policy))
    assert _same_files(plain, compacted) == []


def test_a_run_reads_the_runs_a_compaction_covers_from_it_alone(tmp_path, monkeypatch):
    """With the parts of the runs a compaction covers removed, the next monthly run computes what it computes
    with them: it read those runs from the compacted file."""
    policy = _short_policy(tmp_path)
    # The last folder holds only a replacement received too late (it changes nothing): the run before it is taken.
    arrivals = sorted(p for p in _flows(tmp_path, months=5).iterdir() if p.is_dir())[:-1]
    kept = _monthly(tmp_path, monkeypatch, 2, "kept", arrivals[:-1], policy)
    shutil.copytree(kept, tmp_path / "pruned")
    register = tmp_path / "pruned" / "history" / "register"
    committed = [c.run_id for c in store.commits(register)]
    removed = 0
    for table in store.BUCKET_TABLES:
        for folder in (register / table).glob("bucket=*"):
            covered = compaction.usable(register, folder, committed)
            for run_id in covered.runs if covered else ():
                part = compaction.part_path(folder, run_id)
                removed += part.exists()
                part.unlink(missing_ok=True)
    assert removed > 0
    after = [run(Settings((str(arrivals[-1]),), str(out), TEST_KEY, policy=policy)) for out in (kept, tmp_path / "pruned")]
    assert after[0].manifest["register"] == after[1].manifest["register"]
    assert after[0].manifest["register"]["versions_added"] > 0
    for dataset in ("flags", "bases", "published", "decisions", "resources"):
        assert _same_files(kept / dataset, tmp_path / "pruned" / dataset) == [], dataset


def test_a_compaction_covering_a_run_that_never_committed_is_not_read(tmp_path, monkeypatch):
    """A run that crashed after compacting a bucket (its commit line never written) leaves a compaction
    covering it: later runs do not read it, and their outputs are those of a register without it."""
    policy = _short_policy(tmp_path)
    arrivals = sorted(p for p in _flows(tmp_path, months=3).iterdir() if p.is_dir())
    for name in ("clean", "crashed"):
        _monthly(tmp_path, monkeypatch, 0, name, arrivals[:-1], policy)
    register = tmp_path / "crashed" / "history" / "register"
    committed = [c.run_id for c in store.commits(register)]
    folder = register / "versions" / "bucket=00"
    ghost = compaction.part_path(folder, "0123456789abcdef")
    table = pq.read_table(next(folder.glob("run=*.parquet")))
    pq.write_table(table.set_column(table.schema.get_field_index("net_social_cents"), "net_social_cents",
                                    pa.array([10**9] * table.num_rows, type=pa.int64())), ghost)
    assert compaction.compact(register, folder, [*committed, "0123456789abcdef"], every=1) is not None
    assert compaction.usable(register, folder, committed) is None
    for name in ("clean", "crashed"):
        run(Settings((str(arrivals[-1]),), str(tmp_path / name), TEST_KEY, policy=policy))
    for dataset in ("flags", "bases", "published", "decisions", "resources"):
        assert _same_files(tmp_path / "clean" / dataset, tmp_path / "crashed" / dataset) == [], dataset
