"""How many files a run writes its resources, quarantine and warnings in (``gateway.publish.datasets.parts_for``):
few people, one file a month; more, up to eight. The records are the same however many files hold them."""
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.publish import datasets
from gateway.publish.datasets import BUCKETS, parts_for
from gateway.run import run
from tests.conftest import TEST_KEY


@pytest.mark.parametrize(("people", "parts"), [(0, 1), (1, 1), (2000, 1), (2001, 2), (4000, 2), (4001, 4),
                                               (16_000, 8), (10_000_000, BUCKETS)])
def test_a_run_writes_one_file_per_two_thousand_people_up_to_eight(people, parts):
    """The smallest power of two whose files hold at most 2,000 people each, never more than eight."""
    assert parts_for(people) == parts


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parts")
    generate(folder, people=60, employers=4, bodies=2, months=3, seed=17, rates=Rates(defects=0.2))
    return folder


def _table(root: Path, dataset: str) -> pa.Table:
    table = ds.dataset(root / dataset, format="parquet", partitioning="hive").to_table()
    return table.sort_by([(name, "ascending") for name in table.column_names if name != "month"])


def _avro(root: Path) -> list[dict]:
    records = []
    for path in (root / "avro" / "resources").rglob("*.avro"):
        with path.open("rb") as fh:
            records.extend(fastavro.reader(fh))
    return sorted(records, key=lambda record: record["record_id"])


def _files(root: Path, dataset: str) -> list[str]:
    return sorted(str(path.relative_to(root / dataset)) for path in (root / dataset).rglob("*") if path.is_file())


def test_a_small_run_writes_each_month_in_one_file_and_the_same_records_as_in_eight(flows, tmp_path, monkeypatch):
    """60 people: each month of resources in one Parquet file and one Avro file, the quarantine and the warnings in
    one file each. The same run with parts of 10 people writes eight files a month, holding the same records."""
    one = run(Settings((str(flows),), str(tmp_path / "one"), TEST_KEY))
    monkeypatch.setattr(datasets, "PEOPLE_PER_PART", 10)
    eight = run(Settings((str(flows),), str(tmp_path / "eight"), TEST_KEY))
    assert one.manifest["resources"] == eight.manifest["resources"] > 0
    months = {path.split("/")[0] for path in _files(tmp_path / "one", "resources")}
    assert len(months) >= 3
    assert _files(tmp_path / "one", "resources") == [f"{month}/part-00.parquet" for month in sorted(months)]
    assert _files(tmp_path / "one", "quarantine") == _files(tmp_path / "one", "warnings") == ["part-00.parquet"]
    assert len(_files(tmp_path / "eight", "resources")) > 4 * len(months)
    assert len(_files(tmp_path / "eight", "quarantine")) > 1
    for dataset in ("resources", "quarantine", "warnings"):
        assert _table(tmp_path / "one", dataset).equals(_table(tmp_path / "eight", dataset)), dataset
    assert _avro(tmp_path / "one") == _avro(tmp_path / "eight")
    assert _table(tmp_path / "one", "bases").equals(_table(tmp_path / "eight", "bases"))
