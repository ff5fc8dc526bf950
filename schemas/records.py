"""One source of truth per published record: its ``.avsc``. The Arrow schema (Parquet) and the
pandera schema are derived from it here, and ``to_avro``/``from_row`` convert records."""
from __future__ import annotations

import collections
import collections.abc
import dataclasses
import enum
import functools
import json
import operator
import types
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import fastavro
import pyarrow as pa

from gateway.records import (Cause, DeclarantKind, FloatingFlag, Flow, GateDecision, QuarantineRecord, ReferenceBase,
                             ResourceMonth, ResourceNature, ResourceVersion, Severity, VersionCause)
from schemas.checks import Spec, at_least, between, length, matches, one_of

if TYPE_CHECKING:
    import pandera.polars as pa_pl


PLAUSIBLE_MONTHLY_CENTS = 100_000_000      # 1 million euros: beyond it a monthly amount is a data error


_RECENT_KEPT = 4
_RECENT_TABLES: dict[str, collections.deque] = {}     # schema name -> (records tuple, its table), latest last


@dataclass(frozen=True)
class RecordSchema:
    name: str
    record_type: type
    avro: dict
    checks: dict[str, Spec]

    @functools.cached_property
    def parsed_avro(self) -> dict:
        return fastavro.parse_schema(self.avro)

    @functools.cached_property
    def arrow(self) -> pa.Schema:
        return pa.schema([_arrow_field(field) for field in self.avro["fields"]])

    @functools.cached_property
    def pandera(self) -> pa_pl.DataFrameSchema:
        """The pandera schema (imported here: runs only need it when the fast pass finds a failure)."""
        import pandera.polars as pa_pl
        columns = {}
        for field in self.avro["fields"]:
            kind, nullable = _base_type(field["type"])
            check = self.checks.get(field["name"])
            columns[field["name"]] = pa_pl.Column(_polars_type(kind), nullable=nullable,
                                                  checks=check.pandera() if check else None)
        return pa_pl.DataFrameSchema(columns, strict=True, ordered=True, name=self.name)

    def fast_valid(self, table: pa.Table) -> bool:
        """Vectorised pass over a batch built by ``table()``: True means pandera would accept it too (types,
        order and strictness hold by construction; nullability and every column check are evaluated)."""
        for field in self.avro["fields"]:
            column = table.column(field["name"])
            if not _base_type(field["type"])[1] and column.null_count:
                return False
            check = self.checks.get(field["name"])
            if check is not None and not check.holds(column):
                return False
        return True

    @property
    def field_names(self) -> list[str]:
        return [field["name"] for field in self.avro["fields"]]

    def to_row(self, record: Any) -> dict:
        return {name: _plain(getattr(record, name)) for name in self.field_names}

    def table(self, records: Iterable[Any]) -> pa.Table:
        """Column-wise Arrow table (no per-row dicts) of any iterable of records. A tuple of records (immutable: as
        an outcome holds them) asked for again gives the table it gave before: a batch's records are checked
        (DRM-SCH-001), then spilled, from one conversion (the last few tuples are remembered, with the tuple
        itself: its id is not reused meanwhile)."""
        if isinstance(records, ResourceRows) and self.record_type is records.record_type:
            return records.table                 # already columns (the columnar normaliser's records)
        if isinstance(records, tuple):
            recent = _RECENT_TABLES.setdefault(self.name, collections.deque(maxlen=_RECENT_KEPT))
            for kept, table in tuple(recent):         # a copy: other threads may append meanwhile
                if kept is records:
                    return table
            table = self._table(records)
            recent.append((records, table))
            return table
        return self._table(list(records))

    def _table(self, records: Sequence[Any]) -> pa.Table:
        columns = {}
        for name in self.field_names:
            values = list(map(operator.attrgetter(name), records))
            sample = next((value for value in values if value is not None), None)
            # Arrow reads a str-based enum member as its text, which is its value: no conversion per value
            plain = not isinstance(sample, enum.Enum) or isinstance(sample, str) and str.__str__(sample) == sample.value
            columns[name] = values if plain else [_plain(value) for value in values]
        return pa.Table.from_pydict(columns, schema=self.arrow)

    @functools.cached_property
    def enum_fields(self) -> dict[str, type]:
        """The record's fields typed by one of our enums (values stored as their string)."""
        found = {}
        for field in dataclasses.fields(self.record_type):
            enum_type = _ENUMS.get(str(field.type).split(" ")[0])
            if enum_type is not None:
                found[field.name] = enum_type
        return found

    def from_row(self, row: dict) -> Any:
        enums = self.enum_fields
        return self.record_type(**{name: enums[name](value) if name in enums and value is not None else value
                                   for name, value in row.items()})

    def from_table(self, table: pa.Table) -> list[Any]:
        """``from_row`` over a whole table, column by column."""
        return records_of(table, self.record_type, self.enum_fields)


class ResourceRows(collections.abc.Sequence):
    """Resource records held as Arrow columns (what the columnar normaliser makes: ``gateway.normalise.columnar``):
    rows ``start`` to ``stop`` of ``base``, a table of the published schema. A sequence of ``ResourceMonth`` to
    whatever reads records one by one, built from the columns once and only when so read; what works over columns
    (the schema check, the spill to datasets, the figures, the register's contributions) takes ``table`` as it is.
    Equal to any sequence of the same records (a tuple of them included); pickled as the rows it holds alone."""

    record_type: type = ResourceMonth

    def __init__(self, base: pa.Table, start: int = 0, stop: int | None = None) -> None:
        self.base, self.start = base, start
        self.stop = base.num_rows if stop is None else stop
        self._records: list | None = None

    @property
    def table(self) -> pa.Table:
        if self.start == 0 and self.stop == self.base.num_rows:
            return self.base
        return self.base.slice(self.start, self.stop - self.start)

    def follows(self, other: "ResourceRows") -> bool:
        """Whether these rows come right after ``other``'s in the same table (the two make one run of rows)."""
        return self.base is other.base and self.start == other.stop

    @classmethod
    def enum_fields(cls) -> dict[str, type]:
        """The record's fields typed by one of our enums (``RecordSchema.enum_fields``)."""
        return RESOURCE_MONTH.enum_fields

    def records(self) -> list:
        if self._records is None:
            self._records = self.read()
        return self._records

    def read(self) -> list:
        """The records, built afresh and not kept (for a reader done with them once: rows held long, a register's,
        do not keep their records beside their columns)."""
        return self._records if self._records is not None else records_of(self.table, self.record_type,
                                                                           self.enum_fields())

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self.records()[index])
        return self.records()[index]

    def __iter__(self):
        return iter(self.records())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ResourceRows, tuple, list)):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None          # type: ignore[assignment]  # a sequence, compared by its records

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} records)"

    def __reduce__(self):
        sink = pa.BufferOutputStream()
        table = self.packed(self.table)
        with pa.ipc.new_stream(sink, table.schema) as writer:      # the rows held, not the whole base table
            writer.write_table(table)
        return _rows_of_stream, (type(self), sink.getvalue().to_pybytes())

    @classmethod
    def packed(cls, table: pa.Table) -> pa.Table:
        """The table as it is pickled (``unpacked`` gives it back): as it is, unless a kind of rows says otherwise."""
        return table

    @classmethod
    def unpacked(cls, table: pa.Table) -> pa.Table:
        return table


def _rows_of_stream(kind: type, data: bytes) -> ResourceRows:
    return kind(kind.unpacked(pa.ipc.open_stream(data).read_all()))


class VersionRows(ResourceRows):
    """Resource versions held as Arrow columns of the ``resource_version`` schema (what the register's merge over
    columns makes: ``gateway.versioning.columns``), built as ``ResourceVersion`` objects only if read one by one."""

    record_type = ResourceVersion

    @classmethod
    def enum_fields(cls) -> dict[str, type]:
        return RESOURCE_VERSION.enum_fields


class BaseRows(ResourceRows):
    """Reference bases held as Arrow columns of the ``reference_base`` schema (what a bucket's bases over columns
    make: ``gateway.versioning.bases.bucket_bases``), built as ``ReferenceBase`` objects only if read one by one:
    the datasets and the register's ``frozen`` table are written from the columns."""

    record_type = ReferenceBase

    @classmethod
    def enum_fields(cls) -> dict[str, type]:
        return REFERENCE_BASE.enum_fields


class FlagRows(ResourceRows):
    """Floating flags held as Arrow columns of the ``floating_flag`` schema (what a bucket's flags over columns
    make: ``gateway.versioning.floating.bucket_flags``), built as ``FloatingFlag`` objects only if read one by one:
    the flags dataset and the run's figures are made from the columns."""

    record_type = FloatingFlag

    @classmethod
    def enum_fields(cls) -> dict[str, type]:
        return FLOATING_FLAG.enum_fields


def resource_rows(parts: Sequence[Sequence[Any]]) -> Sequence[Any]:
    """Records of several outcomes in order, as one sequence: a tuple when all are records (objects), one
    ``ResourceRows`` over their columns when some are rows (the records among them turned into columns)."""
    if all(isinstance(part, tuple) for part in parts):
        return tuple(record for part in parts for record in part)
    tables = [part.table if isinstance(part, ResourceRows) else RESOURCE_MONTH.table(tuple(part))
              for part in parts if len(part)]
    if not tables:
        return ()
    # one chunk per column: taking rows apart (spills by partition) and reading columns cost per chunk
    return ResourceRows(tables[0] if len(tables) == 1 else pa.concat_tables(tables).combine_chunks())


def items_table(items: Iterable[Any], schema: pa.Schema) -> pa.Table:
    """Records or dicts (or a mix) as an Arrow table of ``schema``, column by column: the reverse of
    ``records_of`` for the register's plain tables (their fields are the schema's columns)."""
    items = list(items)
    if any(isinstance(item, dict) for item in items):
        return pa.Table.from_pydict({name: [item[name] if isinstance(item, dict) else getattr(item, name)
                                            for item in items] for name in schema.names}, schema=schema)
    return pa.Table.from_pydict({name: list(map(operator.attrgetter(name), items)) for name in schema.names},
                                schema=schema)


def records_of(table: pa.Table, record_type: type, enums: dict[str, type] | None = None) -> list[Any]:
    """Records built from an Arrow table's columns (no per-row dicts from Arrow; each distinct enum value
    converted once). Fields the table lacks (registers written before a field existed) take their default."""
    names = table.column_names
    state = getattr(record_type, "_state_names", None)       # gateway.records.compact_pickle
    if state is not None and len(names) == len(state) and set(names) == set(state):
        table = table.select(list(state))                     # every field: each record set from its state
        names = state
    columns = []
    for name in names:
        values = column_values(table.column(name))
        enum_type = (enums or {}).get(name)
        if enum_type is not None:
            members = {value: enum_type(value) for value in set(values) if value is not None}
            values = [members.get(value) for value in values]
        columns.append(values)
    if names is state:
        new, setstate = object.__new__, record_type.__setstate__
        out = []
        for row in zip(*columns):
            record = new(record_type)
            setstate(record, row)
            out.append(record)
        return out
    setters, defaults = _slot_setters(record_type, tuple(names))
    if setters is None:
        return [record_type(**dict(zip(names, row))) for row in zip(*columns)]
    # A frozen dataclass's __init__ sets each field through object.__setattr__ (its own __setattr__ refuses):
    # several times slower than the slots' own descriptors, which is what a register read of a bucket's
    # history spends most on. Same records (a test compares both ways): these classes have no __post_init__.
    new, out = object.__new__, []
    for row in zip(*columns):
        record = new(record_type)
        for setter, value in zip(setters, row):
            setter(record, value)
        for setter, default in defaults:
            setter(record, default())
        out.append(record)
    return out


def column_values(column: pa.ChunkedArray | pa.Array) -> list:
    """A column's values as Python objects; a text column's with one Python string per distinct text, shared by the
    rows that hold it (records made of a bucket's rows then hold a declaration's digest, a person's key or a month
    once, as records made one by one from their declaration's fields do, not once a row)."""
    if not pa.types.is_string(column.type):
        return column.to_pylist()
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = column.dictionary_encode()
    texts = encoded.dictionary.to_pylist()
    if len(texts) == len(column):               # every text distinct: the dictionary is the column, in order
        return texts
    if encoded.null_count:
        return [None if index is None else texts[index] for index in encoded.indices.to_pylist()]
    return list(map(texts.__getitem__, encoded.indices.to_pylist()))


@functools.lru_cache(maxsize=64)
def _slot_setters(record_type: type, names: tuple[str, ...]) -> tuple[list | None, list]:
    """The slot descriptors' setters of ``names`` and (setter, default) of the other fields; (None, []) when the
    record cannot be built that way (not a slots dataclass, __post_init__, a column that is no field, a field
    without default missing): its __init__ then builds it, or says what is wrong."""
    if not (dataclasses.is_dataclass(record_type) and "__slots__" in record_type.__dict__) or \
            hasattr(record_type, "__post_init__"):
        return None, []
    fields = {field.name: field for field in dataclasses.fields(record_type)}
    if not set(names) <= set(fields) or not all(
            isinstance(getattr(record_type, name, None), types.MemberDescriptorType) for name in fields):
        return None, []
    defaults = []
    for name, field in fields.items():
        if name in names:
            continue
        if field.default is not dataclasses.MISSING:
            defaults.append((getattr(record_type, name).__set__, lambda value=field.default: value))
        elif field.default_factory is not dataclasses.MISSING:
            defaults.append((getattr(record_type, name).__set__, field.default_factory))
        else:
            return None, []
    return [getattr(record_type, name).__set__ for name in names], defaults


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


_ENUMS = {"Flow": Flow, "DeclarantKind": DeclarantKind, "ResourceNature": ResourceNature, "Cause": Cause,
          "VersionCause": VersionCause,
          "Severity": Severity}


def _base_type(avro_type: Any) -> tuple[str, bool]:
    nullable = isinstance(avro_type, list)
    if nullable:
        avro_type = next(t for t in avro_type if t != "null")
    if isinstance(avro_type, dict):
        return avro_type.get("logicalType") or avro_type["type"], nullable
    return avro_type, nullable


_ARROW = {"string": pa.string(), "long": pa.int64(), "int": pa.int32(), "date": pa.date32(), "boolean": pa.bool_(),
          "double": pa.float64()}


def _arrow_field(field: dict) -> pa.Field:
    kind, nullable = _base_type(field["type"])
    return pa.field(field["name"], _ARROW[kind], nullable=nullable)


def _polars_type(kind: str):
    import polars as pl
    return {"string": pl.String, "long": pl.Int64, "int": pl.Int32, "date": pl.Date, "boolean": pl.Boolean,
            "double": pl.Float64}[kind]


def _load(name: str) -> dict:
    return json.loads(resources.files("schemas").joinpath(f"{name}.avsc").read_text(encoding="utf-8"))


def _values(enum_type: type[enum.Enum]) -> Spec:
    return one_of(member.value for member in enum_type)


RESOURCE_MONTH = RecordSchema("resource_month", ResourceMonth, _load("resource_month"), {
    "month": matches(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
    "flow": _values(Flow), "declarant_kind": _values(DeclarantKind), "nature": _values(ResourceNature),
    "cause": _values(Cause),
    "nir": length(13, 13),
    "declarant_id": length(14, 14),
    "payment_count": at_least(0),
    **{name: between(-PLAUSIBLE_MONTHLY_CENTS, PLAUSIBLE_MONTHLY_CENTS)
       for name in ("net_social_cents", "net_taxable_cents", "net_paid_cents", "gross_cents", "pas_base_cents",
                    "pas_amount_cents")},
})
QUARANTINE = RecordSchema("quarantine", QuarantineRecord, _load("quarantine"), {
    "rule_id": matches(r"^DRM-[A-Z]{2,3}-[0-9]{3}$"),
    "severity": _values(Severity), "scope": _values(Severity),
    "lines": at_least(0),
})
_MONTH = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
RESOURCE_VERSION = RecordSchema("resource_version", ResourceVersion, _load("resource_version"), {
    "month": matches(_MONTH),
    "cause": _values(VersionCause), "version": at_least(1),
})
FLOATING_FLAG = RecordSchema("floating_flag", FloatingFlag, _load("floating_flag"), {
    "month": matches(_MONTH),
    "rule_id": matches(r"^DRM-FLT-[0-9]{3}$"),
    "score": between(0.0, 1.0), "revisions": at_least(0),
})
REFERENCE_BASE = RecordSchema("reference_base", ReferenceBase, _load("reference_base"), {
    "reference_month": matches(_MONTH),
    "window_first": matches(_MONTH), "window_last": matches(_MONTH),
    "floating_share": between(0.0, 1.0), "floating_cents": at_least(0),
    "deduction_cents": at_least(0), "double_counted_cents": at_least(0),
})
GATE_DECISION = RecordSchema("gate_decision", GateDecision, _load("gate_decision"), {
    "reference_month": matches(_MONTH),
    "rule_id": matches(r"^DRM-GAT-[0-9]{3}$"),
    "status": one_of(["PENDING", "NOTIFIED", "FINAL"]),
})
ALL = (RESOURCE_MONTH, QUARANTINE, RESOURCE_VERSION, FLOATING_FLAG, REFERENCE_BASE, GATE_DECISION)

__all__ = ["RecordSchema", "column_values", "RESOURCE_MONTH", "QUARANTINE", "RESOURCE_VERSION", "FLOATING_FLAG", "REFERENCE_BASE", "GATE_DECISION",
           "ALL", "date"]
