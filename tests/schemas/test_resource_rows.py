"""Resource records held as Arrow columns (schemas.records.ResourceRows): what the columnar normaliser hands on.
The records built one by one (the object path, every rule run) are the oracle: the same published table, column
for column, and the same records when read one by one."""
import pickle

import pytest

from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.records import Outcome
from gateway.validate.registry import DEFAULT_RULES
from schemas.records import RESOURCE_MONTH, ResourceRows, resource_rows
from tests.corpus import corpus

REFERENCE = DEFAULT_RULES.uncertified()


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    """Generated flows of both kinds, clean and with defects (PASRAU daily allowances, regularisations, back pay)."""
    folder = tmp_path_factory.mktemp("flows")
    generate(folder / "clean", people=40, employers=3, bodies=2, months=3, seed=5, rates=Rates(defects=0.0))
    generate(folder / "defects", people=40, employers=3, bodies=2, months=3, seed=6, rates=Rates(defects=0.1))
    return sorted(folder.rglob("*.dsn"))


def test_the_columnar_records_are_the_published_table_the_records_built_one_by_one_give(flows, pseudonyms,
                                                                                       tmp_path):
    """Every file of generated flows and of the conformance corpus: the records as columns are, column for column
    (types, nulls, order), the table of the object path's records; clean files are held as columns throughout."""
    held = 0
    for path in [*flows, *corpus(tmp_path)]:
        fast = process_file(str(path), DEFAULT_RULES, pseudonyms)
        reference = process_file(str(path), REFERENCE, pseudonyms)
        assert isinstance(reference.resources, tuple)
        expected = RESOURCE_MONTH.table(reference.resources)
        assert RESOURCE_MONTH.table(fast.resources).equals(expected), path.name
        assert fast.resources == reference.resources and fast == reference, path.name
        held += isinstance(fast.resources, ResourceRows)
        if path.parent.name == "clean" and fast.resources:
            assert isinstance(fast.resources, ResourceRows), path.name
    assert held > 10


def test_rows_and_records_put_together_keep_their_order_and_equal_the_records_alone(flows, pseudonyms):
    outcomes = [process_file(str(path), DEFAULT_RULES, pseudonyms) for path in flows[:6]]
    assert any(isinstance(o.resources, ResourceRows) for o in outcomes)
    as_records = [Outcome(tuple(o.resources)) for o in outcomes]
    mixed = [o if index % 2 else as_records[index] for index, o in enumerate(outcomes)]
    combined = Outcome.combine(mixed).resources
    assert isinstance(combined, ResourceRows)
    assert combined == Outcome.combine(as_records).resources == tuple(r for o in as_records for r in o.resources)
    assert resource_rows([(), ()]) == () and resource_rows([(), combined]) == combined


def test_rows_pickle_as_the_rows_they_hold_alone(flows, pseudonyms):
    """A declaration's rows are a slice of the table of the declarations normalised with it: pickled (Beam's
    workers, spills), a slice carries its own rows, not the whole table's."""
    whole = Outcome.combine([process_file(str(path), DEFAULT_RULES, pseudonyms) for path in flows]).resources
    assert isinstance(whole, ResourceRows) and len(whole) > 100
    rows = ResourceRows(whole.table, 3, 9)
    again = pickle.loads(pickle.dumps(rows))
    assert again == rows == tuple(whole)[3:9] and len(again) == 6
    assert again.table.equals(whole.table.slice(3, 6))
    assert len(pickle.dumps(rows)) < len(pickle.dumps(whole)) / 2
    assert rows[0] == whole[3] and rows[1:3] == tuple(whole)[4:6]
    assert rows != tuple(whole)[3:8] and rows != "not records"
