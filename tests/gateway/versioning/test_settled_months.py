"""Settled months: a run reads the register's open months only, and gives what reading everything gives."""
import os
import re
import shutil
from pathlib import Path

import pyarrow.dataset as ds

from fixtures.generator import Rates, generate, replacement_keeping_first_person
from gateway.options import Settings
from gateway.policy import load_policy
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.horizon import mentions_from, open_from, open_months
from tests.conftest import TEST_KEY
from tests.gateway.versioning.test_register_runs import _versions

DEFAULT_POLICY = Path(__file__).parents[3] / "gateway" / "policy" / "default.yaml"
BUCKET_TABLES = ("contributions", "mentions", "versions", "frozen", "decisions")


def _short_policy(tmp_path: Path) -> str:
    """The default policy with one-month windows recomputed monthly (one paid month) and a one-month recovery limit: months
    are settled after 5 months instead of 42, so that a few months of flows reach settled months."""
    text = DEFAULT_POLICY.read_text()
    text = re.sub(r"window: \[-?\d+, -?\d+\]", "window: [-1, -1]", text)
    text = re.sub(r"recompute: \w+", "recompute: monthly", text)
    text = re.sub(r"recovery_limit_months: \d+", "recovery_limit_months: 1", text)
    path = tmp_path / "short.yaml"
    path.write_text(text)
    return str(path)


def _flows(tmp_path: Path, months: int) -> Path:
    flows = tmp_path / "flows"
    generate(flows, people=50, employers=4, bodies=2, months=months, seed=29,
             rates=Rates(late=0.2, replacement=0.3, regularisation=0.2, back_pay=0.1, net_social_correction=0.1))
    return flows


def _rows(folder: Path) -> list[tuple]:
    if not folder.exists():
        return []
    table = ds.dataset(str(folder), format="parquet").to_table()
    return sorted(tuple(sorted(row.items())) for row in table.to_pylist())


def test_months_are_settled_after_the_recovery_limit_and_the_longest_base_window():
    """With the default policy a month stays open 42 months: quarter offset 2 + window 13 + paid 3 + limit 24."""
    policy = load_policy()
    assert open_months(policy) == 42
    assert open_from(policy, "2027-09-20T08:00:00Z") == "2024-03"
    assert open_from(policy, "") is None


def test_monthly_runs_version_the_people_a_late_replacement_drops_from_a_settled_month_as_one_run_over_all(tmp_path):
    """A paying body's replacement of its January PASRAU declaration that lists only its first person arrives
    with the last month, January being long settled: the monthly runs (open months read, the whole history
    read for that run) give the register of one run over all the flows, the people it drops losing their
    January amounts. (A DSN replacement that late is refused: DRM-FLT-009.)"""
    policy = _short_policy(tmp_path)
    flows = _flows(tmp_path, months=9)
    arrivals = sorted(p for p in flows.iterdir() if p.is_dir())
    january = next(p for p in sorted(arrivals[0].iterdir()) if re.match(r"pasrau_\d{14}_202501_1\.dsn", p.name))
    employer = january.name[7:21]
    replacement = arrivals[-1] / f"pasrau_{employer}_202501_9.dsn"
    replacement.write_bytes(replacement_keeping_first_person(january.read_bytes(), rank=9))
    arrived = next(p for p in arrivals[-1].iterdir() if p != replacement).stat().st_mtime
    os.utime(replacement, (arrived, arrived))            # arrives with the last month's files
    run(Settings((str(flows),), str(tmp_path / "batch"), TEST_KEY, policy=policy))
    for folder in arrivals:
        last = run(Settings((str(folder),), str(tmp_path / "monthly"), TEST_KEY, policy=policy))
    assert last.manifest["lines_quarantined"] == 0 and last.manifest["as_of"][:7] > "2025-06"   # January: settled
    batch, monthly = _versions(tmp_path / "batch"), _versions(tmp_path / "monthly")
    assert batch == monthly
    # person, declarant, nature, month, version, transaction time, cause, net social, net taxable, digest
    dropped = [row for row in monthly if row[1] == employer and row[3] == "2025-01" and row[7] is None]
    assert len(dropped) >= 3 and {row[5] for row in dropped} == {last.manifest["as_of"]}


def _settled_runs(register: Path, first_open: str) -> list[str]:
    return [c.run_id for c in store.commits(register) if c.last_month < mentions_from(first_open)]


def test_a_monthly_run_does_not_read_the_parts_of_runs_whose_months_are_all_settled(tmp_path):
    """Removing the person parts of settled runs changes nothing in what the next monthly run computes."""
    policy = _short_policy(tmp_path)
    flows = _flows(tmp_path, months=8)
    arrivals = sorted(p for p in flows.iterdir() if p.is_dir())
    out = tmp_path / "kept"
    for folder in arrivals[:-1]:
        run(Settings((str(folder),), str(out), TEST_KEY, policy=policy))
    shutil.copytree(out, tmp_path / "pruned")
    register = tmp_path / "pruned" / "history" / "register"
    first_open = open_from(load_policy(policy), f"{arrivals[-1].name}-01T00:00:00Z")
    settled = _settled_runs(register, first_open)
    assert settled, "the history is long enough for some runs to be settled"
    for table in BUCKET_TABLES:
        for run_id in settled:
            for part in (register / table).glob(f"bucket=*/run={run_id}.parquet"):
                part.unlink()
    kept = run(Settings((str(arrivals[-1]),), str(out), TEST_KEY, policy=policy))
    pruned = run(Settings((str(arrivals[-1]),), str(tmp_path / "pruned"), TEST_KEY, policy=policy))
    assert kept.manifest["register"] == pruned.manifest["register"]
    assert kept.manifest["register"]["versions_added"] > 0
    for dataset in ("flags", "bases", "published", "decisions"):
        assert _rows(out / dataset) == _rows(tmp_path / "pruned" / dataset), dataset
    flagged = _rows(out / "flags")
    assert flagged and min(dict(row)["month"] for row in flagged) >= first_open
