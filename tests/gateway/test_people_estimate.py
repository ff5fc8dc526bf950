"""The people of a run, estimated while the inventory reads each input for its digest (``gateway.inputs``): what a
new register's bucket count starts from (``gateway.versioning.sizing.first_buckets``)."""
from pathlib import Path

import pytest

from fixtures.generator import Rates, generate
from gateway.inputs import file_digest, people_estimate, people_sketch
from transforms.pipeline import inventory


def _nirs(paths: list[Path]) -> set[bytes]:
    """The reference: every individual's NIR, line by line."""
    found = set()
    for path in paths:
        for line in path.read_bytes().splitlines():
            if line.startswith(b"S21.G00.30.001,'"):
                found.add(line.split(b",", 1)[1].strip(b"\r").strip(b"'"))
    return found


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("people")
    generate(folder, people=300, employers=12, bodies=2, months=3, seed=5, rates=Rates(defects=0.05))
    return folder


def _estimate(paths: list[Path], chunk_size: int) -> int:
    sketch = people_sketch()
    for path in paths:
        file_digest(str(path), sketch, chunk_size)
    return people_estimate([sketch.serialize_compact()])


def test_the_inventory_estimates_the_distinct_people_of_its_inputs(flows, tmp_path):
    """Several months of the same people (and people paid by several declarants) count once, within the sketch's
    error; the pipeline's estimate (sketches per group of files, merged) is the one read in place."""
    paths = sorted(flows.rglob("*.dsn"))
    people = len(_nirs(paths))
    assert people > 250
    found = inventory((str(flows),), str(tmp_path / "staging"), ()).people
    assert abs(found - people) <= 0.05 * people
    assert found == _estimate(paths, 1 << 20)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_the_estimate_does_not_depend_on_line_ends_or_where_chunks_cut_the_lines(flows, tmp_path, ending):
    """Chunks of 7 bytes cut every NIR line; CR LF files hold the same NIRs: the same sketch, so the same estimate."""
    paths = sorted(flows.rglob("*.dsn"))[:12]
    copies = []
    for index, path in enumerate(paths):
        copy = tmp_path / f"{index}.dsn"
        copy.write_bytes(path.read_bytes().replace(b"\n", ending))
        copies.append(copy)
    expected = _estimate(paths, 1 << 20)
    assert expected == len(_nirs(paths))              # a few hundred: counted exactly
    assert _estimate(copies, 7) == _estimate(copies, 1 << 20) == expected


def test_inputs_without_individuals_estimate_no_one(tmp_path):
    (tmp_path / "a.dsn").write_bytes(b"S10.G00.00.001,'x'\n")
    assert _estimate([tmp_path / "a.dsn"], 1 << 20) == 0
