import io
import pickle

import fastavro
import polars as pl
import pyarrow as pa
import pytest

from fixtures import builders as B
from schemas.records import ALL, QUARANTINE, RESOURCE_MONTH


@pytest.mark.parametrize("schema", ALL, ids=lambda s: s.name)
def test_avro_arrow_and_pandera_schemas_agree(schema):
    """One source (the .avsc): same field names, order, types and nullability in all three."""
    avro = {f["name"]: f for f in schema.avro["fields"]}
    assert schema.arrow.names == list(avro) == list(schema.pandera.columns)
    for name, field in avro.items():
        nullable = isinstance(field["type"], list)
        assert schema.arrow.field(name).nullable is nullable
        assert schema.pandera.columns[name].nullable is nullable
        assert pl.from_arrow(pa.table({name: pa.array([], schema.arrow.field(name).type)}))[name].dtype == \
            schema.pandera.columns[name].dtype.type


@pytest.fixture
def outcome(run_file):
    import random

    from fixtures.generator import _apply
    payment = B.a_payment(regularisations=[("022025", -5000, -5000)])
    content, _ = _apply("bad_nir", B.a_dsn_file((B.a_person(), [payment]),
                                                 (B.a_person(contract="C00002"), [B.a_payment()])), random.Random(1))
    return run_file(content)


def test_records_round_trip_through_avro_and_arrow_and_validate(outcome):
    """Real records survive Avro and Parquet unchanged and pass pandera validation."""
    for schema, records in ((RESOURCE_MONTH, outcome.resources), (QUARANTINE, outcome.quarantine)):
        assert records
        sink = io.BytesIO()
        fastavro.writer(sink, schema.parsed_avro, [schema.to_row(r) for r in records], strict=True)
        sink.seek(0)
        assert [schema.from_row(row) for row in fastavro.reader(sink)] == list(records)
        table = schema.table(list(records))
        assert [schema.from_row(row) for row in table.to_pylist()] == list(records)
        schema.pandera.validate(pl.from_arrow(table))


def test_records_pickle_for_beam_workers(outcome):
    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_quarantine_never_holds_a_clear_nir(outcome):
    nirs = {B.a_person().nir, "1234567890123"}
    text = repr(outcome.quarantine)
    assert not any(nir in text for nir in nirs)
