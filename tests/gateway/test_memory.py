"""The run's collector settings: fewer passes of the cyclic garbage collector for the same work."""
from __future__ import annotations

import gc

import pytest

from gateway import memory


@pytest.fixture
def restored_threshold():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def _young_collections_while_allocating(count: int) -> int:
    """How many young-generation passes the collector makes while ``count`` containers stay alive."""
    gc.collect()
    before = gc.get_stats()[0]["collections"]
    kept = [{"n": n} for n in range(count)]
    after = gc.get_stats()[0]["collections"]
    del kept
    return after - before


def test_a_tuned_process_collects_far_less_often_for_the_same_allocations(restored_threshold):
    """Tuned, a process makes at least ten times fewer collector passes over 200,000 new containers
    (what parsing a few declarations allocates), and stays tuned when asked again."""
    gc.set_threshold(700, 10, 10)                     # Python's default
    untuned = _young_collections_while_allocating(200_000)
    memory.tune_collector()
    memory.tune_collector()
    tuned = _young_collections_while_allocating(200_000)
    assert untuned >= 200
    assert tuned * 10 <= untuned
    assert gc.get_threshold()[0] == memory.COLLECT_EVERY


def test_tuning_never_makes_a_process_collect_more_often(restored_threshold):
    """A process already collecting less often than the run's setting keeps its own setting."""
    gc.set_threshold(50_000, 10, 10)
    memory.tune_collector()
    assert gc.get_threshold() == (50_000, 10, 10)
