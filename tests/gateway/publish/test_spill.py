"""Records parked between two stages of a run: each partition's file holds that partition's records, as they were."""
from pathlib import Path

from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.publish.spill import read_records, spill_partitions
from gateway.validate.rules import default_registry
from schemas.records import RESOURCE_MONTH
from transforms.publish import RESOURCE_ORDER, resource_partition


def test_records_spilled_by_partition_read_back_as_each_partitions_records(tmp_path: Path, pseudonyms):
    """An outcome's records taken apart by partition in one table: each partition's file reads back as the
    records of that partition alone (the same as spilling them one partition at a time), and a rerun writes the
    same files."""
    flows = tmp_path / "flows"
    generate(flows, people=30, employers=3, bodies=2, months=3, seed=2, rates=Rates(defects=0.1))
    registry = default_registry()
    records = [record for path in sorted(flows.rglob("*.dsn"))
               for record in process_file(str(path), registry, pseudonyms).resources]
    partitions = [resource_partition(record) for record in records]
    assert len(set(partitions)) > 5
    spilled = spill_partitions(str(tmp_path / "a"), "resources", RESOURCE_MONTH, records, partitions)
    assert [partition for partition, _ in spilled] == sorted(set(partitions))
    for partition, path in spilled:
        mine = [record for record, where in zip(records, partitions) if where == partition]
        [(_, one_by_one)] = spill_partitions(str(tmp_path / "b"), "resources", RESOURCE_MONTH, mine,
                                             [partition] * len(mine))
        assert read_records([path], RESOURCE_MONTH, RESOURCE_ORDER) == \
            read_records([one_by_one], RESOURCE_MONTH, RESOURCE_ORDER)
        assert RESOURCE_MONTH.from_table(read_records([path], RESOURCE_MONTH, RESOURCE_ORDER)) == \
            sorted(mine, key=lambda r: tuple(getattr(r, name) for name in RESOURCE_ORDER))
    again = spill_partitions(str(tmp_path / "a"), "resources", RESOURCE_MONTH, records, partitions)
    assert again == spilled
    assert spill_partitions(str(tmp_path / "c"), "resources", RESOURCE_MONTH, [], []) == []
