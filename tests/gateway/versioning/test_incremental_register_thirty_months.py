"""The proof of tests/gateway/versioning/test_incremental_register.py over the issue's 30-month history, in a file of
its own so that the test runner gives it a worker of its own (it takes minutes)."""
from __future__ import annotations

from fixtures.generator import Rates, generate
from gateway.versioning import store
from tests.gateway.versioning.proof import Proof, volatile_policy


def test_over_thirty_months_reexamining_only_the_people_a_run_concerns_gives_what_rederiving_everyone_gives(
        tmp_path, monkeypatch):
    """The same proof over 30 monthly arrivals of a smaller population, each in two runs: on the 3rd (the month's
    first: everyone) and on the 12th (a later day, before the due date the first test crosses): volatility
    windows, reference periods and recovery limits move month after month, revisions reach back, bases are
    published, revised and decided on over two and a half years, the register grows from its first estimate."""
    flows = tmp_path / "flows"
    generate(flows, people=40, employers=3, bodies=1, months=30, seed=13,
             rates=Rates(late=0.10, replacement=0.15, regularisation=0.10, back_pay=0.05, net_social_correction=0.05,
                         defects=0.02))
    proof = Proof(tmp_path, monkeypatch, volatile_policy(tmp_path), people_per_bucket=8)
    number = 0
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        files = sorted(str(p) for p in folder.rglob("*.dsn"))
        half = max(1, len(files) // 2)
        for at, chosen in (("03T09:00", files[:half]), ("12T15:00", files[half:])):
            if chosen:
                proof.run(number, f"{folder.name}-{at}:00Z", tuple(chosen))
                number += 1
    proof.end()
    assert number >= 60 and proof.incremental_runs >= 10 and proof.left_alone > 0    # 14 runs left people alone
    kinds = {d["kind"] for d in store.load_all(proof.sides["everyone"] / "history" / "register", "decisions")}
    assert {"REGULARISE", "FREEZE_DE_MINIMIS"} <= kinds

