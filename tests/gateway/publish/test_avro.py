"""The bulk Avro encoder against its oracle, fastavro writing the same rows one by one: the same bytes."""
import hashlib
import io
import random
from datetime import date
from pathlib import Path

import fastavro
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.publish.avro import encode_table
from gateway.publish.datasets import avro_bytes, fastavro_bytes
from gateway.validate.rules import default_registry
from schemas.records import ALL, GATE_DECISION, QUARANTINE, REFERENCE_BASE, RESOURCE_MONTH

MARKER = hashlib.sha256(b"tests/part-00").digest()[:16]
ALPHABET = "aé€😀'\r\n,;x"
BUNDLED = Path(__file__).resolve().parents[3] / "fixtures" / "bundled"


def _same_bytes(schema, table: pa.Table) -> bytes:
    encoded = encode_table(schema.avro, table, MARKER)
    assert encoded is not None, schema.name
    assert encoded == fastavro_bytes(schema, table, MARKER), schema.name
    return encoded


def _values(field: pa.Field):
    kind = field.type
    if pa.types.is_string(kind):
        value = st.text(max_size=40)
    elif pa.types.is_int32(kind):
        value = st.integers(-(1 << 31), (1 << 31) - 1)
    elif pa.types.is_int64(kind):
        value = st.integers(-(1 << 63), (1 << 63) - 1)
    elif pa.types.is_date32(kind):
        value = st.dates()
    elif pa.types.is_float64(kind):
        value = st.floats(allow_nan=False)
    else:
        raise AssertionError(f"no strategy for {kind}")
    return st.none() | value if field.nullable else value


@st.composite
def tables(draw, schema):
    count = draw(st.integers(0, 25))
    columns = {field.name: draw(st.lists(_values(field), min_size=count, max_size=count)) for field in schema.arrow}
    return pa.Table.from_pydict(columns, schema=schema.arrow)


@pytest.mark.parametrize("schema", ALL, ids=lambda s: s.name)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_rows_of_every_schema_encode_to_fastavros_bytes(schema, data):
    """Nulls, empty and non-ASCII strings, the extremes of int and long, negative numbers, dates before 1970,
    infinities and -0.0: the bytes fastavro writes, and they read back as the table's rows."""
    table = data.draw(tables(schema))
    encoded = _same_bytes(schema, table)
    assert len(list(fastavro.reader(io.BytesIO(encoded)))) == table.num_rows


def _long_rows(schema, count: int, seed: int) -> pa.Table:
    """Rows of very different sizes (strings of 0 to 3,000 characters, some outside ASCII), so that blocks
    end at many different records."""
    rng = random.Random(seed)
    columns = {}
    for field in schema.arrow:
        values = []
        for _ in range(count):
            if field.nullable and rng.random() < 0.2:
                values.append(None)
            elif pa.types.is_string(field.type):
                size = rng.choice((0, 1, 30, 700, 3000))
                values.append((ALPHABET * (size // len(ALPHABET) + 2))[rng.randrange(len(ALPHABET)):][:size])
            elif pa.types.is_date32(field.type):
                values.append(date(1950, 1, 1).fromordinal(rng.randint(1, 800_000)))
            elif pa.types.is_float64(field.type):
                values.append(rng.uniform(-1e9, 1e9))
            else:
                bits = 31 if pa.types.is_int32(field.type) else 63
                wide = rng.random() < 0.5
                values.append(rng.randint(-(1 << bits), (1 << bits) - 1) if wide else rng.randint(-130, 130))
        columns[field.name] = values
    return pa.Table.from_pydict(columns, schema=schema.arrow)


@pytest.mark.parametrize("schema", ALL, ids=lambda s: s.name)
def test_blocks_end_where_fastavro_ends_them_over_many_blocks_chunks_and_slices(schema):
    table = _long_rows(schema, 900, seed=len(schema.name))
    encoded = _same_bytes(schema, table)
    blocks = list(fastavro.block_reader(io.BytesIO(encoded)))
    assert len(blocks) > 20 and sum(block.num_records for block in blocks) == 900
    _same_bytes(schema, pa.concat_tables([table.slice(0, 300), table.slice(300)]))      # several chunks
    _same_bytes(schema, table.slice(7, 500))                                             # an offset into buffers


def _record_size(schema, row: dict) -> int:
    sink = io.BytesIO()
    fastavro.schemaless_writer(sink, schema.parsed_avro, row)
    return len(sink.getvalue())


@pytest.mark.parametrize("schema", (RESOURCE_MONTH, GATE_DECISION), ids=lambda s: s.name)
def test_a_block_ends_with_the_record_that_brings_it_to_exactly_the_sync_interval(schema):
    """Records of exactly 1,000 bytes (one string sized to it, fastavro measuring each): a block holds 16 of
    them, its bytes exactly the 16,000 at which fastavro writes a block; the encoder ends its blocks there too."""
    row = {key: value[:5] if isinstance(value, str) else value
           for key, value in _long_rows(schema, 1, seed=11).to_pylist()[0].items()}
    name = next(field.name for field in schema.arrow if pa.types.is_string(field.type) and not field.nullable)
    row[name] = ""
    for size in range(1000 - _record_size(schema, row) - 2, 1000):
        row[name] = "x" * size
        if _record_size(schema, row) == 1000:
            break
    assert _record_size(schema, row) == 1000
    table = pa.Table.from_pylist([row] * 100, schema=schema.arrow)
    encoded = _same_bytes(schema, table)
    assert [block.num_records for block in fastavro.block_reader(io.BytesIO(encoded))] == [16] * 6 + [4]


def test_an_int_column_wider_than_its_schema_encodes_as_fastavro_writes_it():
    """fastavro writes an Avro ``int`` as a long (no range check): so does the encoder, byte for byte."""
    table = _long_rows(RESOURCE_MONTH, 20, seed=3)
    name = next(field.name for field in RESOURCE_MONTH.arrow if pa.types.is_int32(field.type))
    wide = table.set_column(table.schema.get_field_index(name), pa.field(name, pa.int64()),
                            pa.array([1 << 40, -(1 << 50)] * 10, pa.int64()))
    assert encode_table(RESOURCE_MONTH.avro, wide, MARKER) == fastavro_bytes(RESOURCE_MONTH, wide, MARKER)


def test_a_null_where_the_schema_has_none_is_left_to_fastavro_which_refuses_it():
    table = _long_rows(RESOURCE_MONTH, 20, seed=3)
    required = next(field.name for field in RESOURCE_MONTH.arrow if not field.nullable)
    holed = table.set_column(table.schema.get_field_index(required), pa.field(required, pa.string()),
                             pa.array([None] * 20, pa.string()))
    assert encode_table(RESOURCE_MONTH.avro, holed, MARKER) is None
    with pytest.raises((TypeError, ValueError)):
        avro_bytes(RESOURCE_MONTH, holed, "tests/part-00")


def test_the_records_of_real_format_flows_encode_to_fastavros_bytes(tmp_path, pseudonyms):
    """Resources, quarantine and warnings of the bundled flows and of generated flows with defects."""
    flows = tmp_path / "flows"
    generate(flows, people=40, employers=4, bodies=2, months=2, seed=5, rates=Rates(defects=0.2))
    registry = default_registry()
    outcomes = [process_file(str(path), registry, pseudonyms)
                for folder in (BUNDLED, flows) for path in sorted(folder.rglob("*.dsn"))]
    for schema, select in ((RESOURCE_MONTH, lambda o: o.resources), (QUARANTINE, lambda o: o.quarantine),
                           (QUARANTINE, lambda o: o.warnings)):
        records = [record for outcome in outcomes for record in select(outcome)]
        assert len(records) >= 10, schema.name
        _same_bytes(schema, schema.table(records))


def test_every_avro_file_of_a_run_with_gate_decisions_has_fastavros_bytes_for_its_parquet_table(tmp_path,
                                                                                            monkeypatch):
    """The files a run writes (resources, published bases, gate decisions), every one through the bulk encoder
    however few its rows: each Avro file is what fastavro writes for the rows of the Parquet file of the same
    partition."""
    import pyarrow.parquet as pq

    import gateway.publish.avro
    import gateway.publish.datasets
    from gateway.options import Settings
    from gateway.run import run
    from tests.conftest import TEST_KEY
    encoded = []
    monkeypatch.setattr(gateway.publish.datasets, "BULK_AVRO_FROM", 0)
    monkeypatch.setattr(gateway.publish.datasets, "encode_table",
                        lambda *args: encoded.append(args[1].num_rows) or gateway.publish.avro.encode_table(*args))
    flows, out = tmp_path / "flows", tmp_path / "out"
    generate(flows, people=60, employers=6, bodies=2, months=4, seed=7)
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        run(Settings((str(folder),), str(out), TEST_KEY))
    schemas = {"resources": RESOURCE_MONTH, "published": REFERENCE_BASE, "decisions": GATE_DECISION}
    seen = set()
    for path in sorted((out / "avro").rglob("*.avro")):
        dataset, partition = path.relative_to(out / "avro").parts[0], path.relative_to(out / "avro").with_suffix("")
        table = pq.read_table(out / partition.with_suffix(".parquet"), schema=schemas[dataset].arrow)
        marker = hashlib.sha256(partition.as_posix().encode()).digest()[:16]
        assert path.read_bytes() == fastavro_bytes(schemas[dataset], table, marker), path
        seen.add(dataset)
    assert seen == set(schemas)
    assert len(encoded) >= len(list((out / "avro").rglob("*.avro")))
