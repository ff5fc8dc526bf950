"""Records parked between two stages of a run: each partition's file holds that partition's records, as they were."""
from pathlib import Path

import pytest

from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.publish.spill import Segment, read_objects, read_records, spill_partitions, spill_together
from gateway.validate.rules import default_registry
from schemas.records import RESOURCE_MONTH
from gateway.publish.datasets import bucket_of
from transforms.publish import RESOURCE_ORDER, resource_partitions


@pytest.mark.parametrize("together", [False, True], ids=["a-file-a-partition", "one-file"])
def test_records_spilled_by_partition_read_back_as_each_partitions_records(tmp_path: Path, pseudonyms, together):
    """An outcome's records taken apart by partition in one table: each partition's file (or segment of the one
    file) reads back as the records of that partition alone (the same as spilling them one partition at a time),
    and a rerun writes the same files."""
    flows = tmp_path / "flows"
    generate(flows, people=30, employers=3, bodies=2, months=3, seed=2, rates=Rates(defects=0.1))
    registry = default_registry()
    records = [record for path in sorted(flows.rglob("*.dsn"))
               for record in process_file(str(path), registry, pseudonyms).resources]
    partitions = resource_partitions(RESOURCE_MONTH.table(records))
    assert partitions == [f"month={record.month}/part-{bucket_of(record.person_key):02d}" for record in records]
    assert len(set(partitions)) > 5
    spilled = spill_partitions(str(tmp_path / "a"), "resources", RESOURCE_MONTH, records, partitions,
                               together=together)
    assert [partition for partition, _ in spilled] == sorted(set(partitions))
    assert len({where.path if together else where for _, where in spilled}) == (1 if together else len(spilled))
    for partition, path in spilled:
        mine = [record for record, where in zip(records, partitions) if where == partition]
        [(_, one_by_one)] = spill_partitions(str(tmp_path / "b"), "resources", RESOURCE_MONTH, mine,
                                             [partition] * len(mine))
        assert read_records([path], RESOURCE_MONTH, RESOURCE_ORDER) == \
            read_records([one_by_one], RESOURCE_MONTH, RESOURCE_ORDER)
        assert RESOURCE_MONTH.from_table(read_records([path], RESOURCE_MONTH, RESOURCE_ORDER)) == \
            sorted(mine, key=lambda r: tuple(getattr(r, name) for name in RESOURCE_ORDER))
    again = spill_partitions(str(tmp_path / "a"), "resources", RESOURCE_MONTH, records, partitions,
                             together=together)
    assert again == spilled
    assert spill_partitions(str(tmp_path / "c"), "resources", RESOURCE_MONTH, [], []) == []


def test_groups_spilled_together_read_back_one_by_one(tmp_path: Path):
    """Several groups of objects in one file: each segment reads back as its group alone, empty groups too; a
    rerun writes the same file."""
    groups = [([1, "a"], []), [], {"x": (2, 3)}, "é" * 1000]
    segments = spill_together(str(tmp_path), "register/buckets/tasks", groups)
    assert all(isinstance(segment, Segment) for segment in segments)
    assert len({segment.path for segment in segments}) == 1
    assert [read_objects(segment) for segment in reversed(segments)] == list(reversed(groups))
    assert spill_together(str(tmp_path), "register/buckets/tasks", groups) == segments
