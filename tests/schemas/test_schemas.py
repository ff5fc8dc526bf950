import io
import pickle

import fastavro
import polars as pl
import pyarrow as pa
import pytest

from fixtures import builders as B
from schemas.records import ALL, QUARANTINE, RESOURCE_MONTH, records_of


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


def test_records_read_from_columns_equal_the_records_their_constructor_builds(outcome):
    """Records rebuilt from an Arrow table (resource months, quarantine, the register's contributions, mentions
    and declarations) equal those built field by field through their constructor; a column the table lacks (a
    register written before the field existed) takes the field's default."""
    from gateway.versioning.register import Contribution, Declaration, Mention, contributions_of, \
        declaration_of_summary, mentions_of
    from gateway.versioning.store import plain_table
    for schema, records in ((RESOURCE_MONTH, outcome.resources), (QUARANTINE, outcome.quarantine)):
        table = schema.table(list(records))
        assert schema.from_table(table) == [schema.from_row(row) for row in table.to_pylist()] == list(records)
    declarations = [declaration_of_summary(s, "2026-01-01T00:00:00Z") for s in outcome.summaries]
    for name, record_type, records in (("contributions", Contribution, contributions_of(outcome.resources)),
                                       ("mentions", Mention, mentions_of(outcome)),
                                       ("declarations", Declaration, declarations)):
        assert records, name
        table = plain_table(records, name)
        assert records_of(table, record_type) == [record_type(**row) for row in table.to_pylist()] == records
    older = plain_table(declarations, "declarations").drop_columns(["first_month", "buckets"])
    rebuilt = records_of(older, Declaration)
    assert rebuilt == [Declaration(**row) for row in older.to_pylist()]
    assert {(d.first_month, d.buckets) for d in rebuilt} == {(None, None)}


def test_a_published_avro_file_reads_back_the_records_of_its_parquet_table(outcome):
    """The Avro copy written for a dataset partition (dates handed over as day numbers) holds the very records
    of the table it was written from, dates included."""
    from gateway.publish.datasets import avro_bytes
    records = list(outcome.resources)
    assert any(record.payment_date for record in records)
    data = avro_bytes(RESOURCE_MONTH, RESOURCE_MONTH.table(records), "resources/part-00")
    assert [RESOURCE_MONTH.from_row(row) for row in fastavro.reader(io.BytesIO(data))] == records


def test_a_record_set_from_its_field_values_equals_the_one_its_constructor_builds(outcome):
    """``from_state`` (records built by the hundred thousand without ``__init__``, and unpickled) gives the record
    ``__init__`` gives for the same fields, for every record type parked or pickled between stages."""
    import dataclasses

    from gateway.records import from_state
    from gateway.versioning.register import contributions_of, declaration_of_summary, mentions_of, merge
    contributions = contributions_of(outcome.resources)
    _, _, versions = merge(known=[], contributions=[], versions=[], new_contributions=contributions, run_id="r1",
                           arriving=[declaration_of_summary(s, "2026-01-01T00:00:00Z") for s in outcome.summaries])
    for records in (outcome.resources, outcome.quarantine, contributions, mentions_of(outcome), outcome.summaries,
                    versions):
        assert records
        for record in records:
            fields = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
            built = type(record)(**fields)
            assert from_state(type(record), built.__getstate__()) == built == record
            assert pickle.loads(pickle.dumps(built)) == built


def test_a_tuple_of_records_converted_again_gives_the_same_table_and_other_tuples_their_own(outcome):
    """The batch check and the spill convert an outcome's records once: the tuple asked for again gives the table
    it gave before (equal to a fresh conversion of a list); another tuple, even of the same records, or one
    forgotten after later tuples, is converted anew and gives its own records."""
    records = tuple(outcome.resources) * 2
    assert records
    table = RESOURCE_MONTH.table(records)
    assert RESOURCE_MONTH.table(records) is table
    assert table.equals(RESOURCE_MONTH.table(list(records)))
    fewer = records[:1]
    assert RESOURCE_MONTH.table(fewer).num_rows == 1
    assert [RESOURCE_MONTH.from_row(row) for row in RESOURCE_MONTH.table(fewer).to_pylist()] == list(fewer)
    for _ in range(8):                              # later tuples push it out of the memo: converted anew
        RESOURCE_MONTH.table(tuple(list(records)))
    again = RESOURCE_MONTH.table(records)
    assert again is not table and again.equals(table)
