"""The vectorised schema pass agrees with pandera: it accepts exactly the batches pandera accepts, and
rejects a batch as soon as one value breaks any declared check or a required value is missing."""
from dataclasses import replace

import polars as pl
import pytest
from pandera.errors import SchemaErrors

from schemas.records import RESOURCE_MONTH

BREAKS = [
    ("month", "2025-13"), ("month", "25-03"), ("flow", "EDI"), ("declarant_kind", "STATE"), ("nature", "WAGES"),
    ("cause", "GIFT"), ("nir", "12345"), ("declarant_id", "123"), ("payment_count", -1),
    ("net_social_cents", 100_000_001), ("net_taxable_cents", -100_000_001), ("gross_cents", 10**12),
    ("person_key", None), ("file", None),
]


def _pandera_accepts(records) -> bool:
    try:
        RESOURCE_MONTH.pandera.validate(pl.from_arrow(RESOURCE_MONTH.table(records)), lazy=True)
        return True
    except SchemaErrors:
        return False


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    from fixtures.generator import generate
    from gateway.ingest import process_file
    from gateway.pseudonym import Pseudonymiser
    from gateway.validate.registry import DEFAULT_RULES
    from tests.conftest import TEST_KEY
    folder = tmp_path_factory.mktemp("flows")
    generate(folder, people=40, employers=3, bodies=1, months=2, seed=9)
    out = []
    for path in sorted(folder.rglob("*.dsn")):
        out += process_file(str(path), DEFAULT_RULES, Pseudonymiser(TEST_KEY)).resources
    assert len(out) > 50
    return out


def test_valid_generated_records_pass_both_ways(records):
    assert RESOURCE_MONTH.fast_valid(RESOURCE_MONTH.table(records)) and _pandera_accepts(records)


@pytest.mark.parametrize("column, value", BREAKS)
def test_one_broken_value_is_rejected_by_both(records, column, value):
    broken = list(records)
    broken[len(broken) // 2] = replace(broken[len(broken) // 2], **{column: value})
    assert not RESOURCE_MONTH.fast_valid(RESOURCE_MONTH.table(broken))
    assert not _pandera_accepts(broken)


def test_values_at_the_bounds_are_accepted_by_both(records):
    edge = list(records)
    edge[0] = replace(edge[0], net_social_cents=100_000_000, gross_cents=-100_000_000, payment_count=0)
    assert RESOURCE_MONTH.fast_valid(RESOURCE_MONTH.table(edge)) and _pandera_accepts(edge)


@pytest.mark.parametrize("values, accepted", [
    ([0.0, 0.5, 1.0], True), ([0.5, None], True), ([None, None], True), ([0.5, float("nan")], False),
    ([float("nan")], False), ([0.5, 1.5], False), ([-0.1, None], False), ([0.5, float("inf")], False),
])
def test_a_bounded_float_column_is_judged_as_pandera_judges_it(values, accepted):
    import pandera.polars as pa_pl
    import pyarrow as pa
    from schemas.checks import between
    check = between(0.0, 1.0)
    column = pa.chunked_array([values[:1], values[1:]], type=pa.float64())     # two chunks, as batches come
    schema = pa_pl.DataFrameSchema({"score": pa_pl.Column(pl.Float64, checks=check.pandera(), nullable=True)})
    try:
        schema.validate(pl.from_arrow(pa.table({"score": column})), lazy=True)
        pandera_accepts = True
    except SchemaErrors:
        pandera_accepts = False
    assert check.holds(column) is accepted and pandera_accepts is accepted
