"""The fast first pass (lines read as runs with numpy) indexes every file exactly as the line-by-line one."""
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.parse import runs
from gateway.parse.index import index_envois
from gateway.parse.runs import iter_line_runs, iter_single_runs

from tests.conftest import SHARED_SAMPLES

FUZZ_CORPUS = Path(__file__).resolve().parents[3] / "bench" / "fuzz_corpus"


def _both(data: bytes):
    slow = list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_single_runs))
    fast = list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_line_runs))
    return slow, fast


def test_generated_flows_are_indexed_alike_by_both_paths(tmp_path):
    """Generated DSN and PASRAU files (with their 1 % of defects) give identical envois, spans and totals."""
    generate(tmp_path, people=60, employers=3, bodies=2, months=2, seed=7, rates=Rates(defects=0.05))
    files = sorted(tmp_path.rglob("*.dsn"))
    assert files
    for path in files:
        slow, fast = _both(path.read_bytes())
        assert fast == slow, path.name


@pytest.mark.parametrize("path", sorted(p for p in [*SHARED_SAMPLES.glob("*"), *FUZZ_CORPUS.glob("*")] if p.is_file()),
                         ids=lambda p: p.name)
def test_real_samples_and_the_fuzz_corpus_are_indexed_alike_by_both_paths(path):
    slow, fast = _both(path.read_bytes())
    assert fast == slow


@pytest.mark.parametrize("chunk", [1, 2, 7, 17, 64, 300])
def test_lines_cut_by_chunk_boundaries_are_indexed_alike(monkeypatch, chunk):
    """Lines that straddle a read boundary (LF, CR LF, over-long, missing final newline) change nothing."""
    base = B.a_dsn_file((B.a_person(), [B.a_payment()]), (B.a_person(contract="C00002"), [B.a_payment()]))
    data = (B.render([("S05.G51.00.001", "V01R02")]) + base.replace(b"\n", b"\r\n", 3)
            + b"S21.G00.30.002,'" + b"X" * 2000 + b"'\n" + base + b"S21.G00.30.002,'NUL\x00'\n" + b"\n\n" + base[:-1])
    slow = list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_single_runs))
    monkeypatch.setattr(runs, "CHUNK", chunk)
    assert list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_line_runs)) == slow


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    b"S10.G00.00.001,'x'", b"S10.G00.00.006,'P25V01'", b"S20.G00.05.001,'01'", b"S20.G00.05.002,'01'",
    b"S21.G00.30.001,'1234567890123'", b"S21.G00.51.013,'1000.00'", b"S90.G00.90.001,'12'", b"S05.G51.00.001,'x'",
    b"S96.G51.00.001,'x'", b"", b"x", b"S2", b"S21.G00.30.002,'A\x00B'", b"S21.G00.30.002,'" + b"Y" * 300 + b"'",
    b"S21.G00.30.004,'D'ALMEIDA'\r"]), max_size=40), st.booleans(), st.integers(1, 80))
def test_any_sequence_of_lines_is_indexed_alike_by_both_paths(lines, final_newline, chunk):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    slow = list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_single_runs))
    original = runs.CHUNK
    runs.CHUNK = chunk
    try:
        fast = list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_line_runs))
    finally:
        runs.CHUNK = original
    assert fast == slow
