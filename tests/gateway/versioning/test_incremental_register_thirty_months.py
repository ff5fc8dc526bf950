"""The proof of tests/gateway/versioning/test_incremental_register.py over the issue's 30-month history, with every
cause, in a file of its own so that the test runner gives it a worker of its own (it takes minutes)."""
from __future__ import annotations

from fixtures.generator import Rates, generate
from gateway.versioning import store
from tests.gateway.versioning.proof import Proof, Requests, volatile_policy

# The later run of each month, in turn: the same day (revision rates moved since the morning; a request closed in
# between lets a held change go), the 16th (the 15th has passed: contracts open two months before may be
# flagged, DRM-FLT-005) and the 27th (the contradictory period of the overpayments notified on the 3rd has ended).
LATER = ("03T15:00", "16T15:00", "27T09:00")


def test_over_thirty_months_reexamining_only_the_people_a_run_concerns_gives_what_rederiving_everyone_gives(
        tmp_path, monkeypatch):
    """The same proof over 30 monthly arrivals of a smaller population, each in two runs: on the 3rd at 09:00 (the
    month's first: everyone) and a later one (``LATER``, in turn). Volatility windows, reference periods and
    recovery limits move month after month, revisions reach back, bases are published, revised and decided on
    over two and a half years, the register grows from its first estimate; claimants open correction requests that
    hold changes and close them, an officer answers a decision, notified overpayments become final."""
    flows = tmp_path / "flows"
    generate(flows, people=40, employers=3, bodies=1, months=30, seed=13,
             rates=Rates(late=0.10, replacement=0.15, regularisation=0.10, back_pay=0.05, net_social_correction=0.05,
                         defects=0.02))
    proof = Proof(tmp_path, monkeypatch, volatile_policy(tmp_path), people_per_bucket=8)
    batches = []
    for month, folder in enumerate(sorted(p for p in flows.iterdir() if p.is_dir())):
        files = sorted(str(p) for p in folder.rglob("*.dsn"))
        half = max(1, len(files) // 2)
        batches += [(f"{folder.name}-{at}:00Z", tuple(chosen))
                    for at, chosen in (("03T09:00", files[:half]), (LATER[month % len(LATER)], files[half:])) if chosen]
    requests = Requests(proof, tmp_path, opening_at=6)
    for number, (as_of, files) in enumerate(batches):
        requests.run(number, as_of, files, batches[number + 1][0] if number + 1 < len(batches) else None)
    proof.end()
    requests.assert_exercised()
    # 7 runs left people alone (most later runs re-examine many: requests moved, contracts open, notices ended)
    assert len(batches) >= 60 and proof.incremental_runs >= 5 and proof.left_alone > 0
    kinds = {d["kind"] for d in store.load_all(proof.sides["everyone"] / "history" / "register", "decisions")}
    assert {"REGULARISE", "FREEZE_DE_MINIMIS"} <= kinds
