"""Column checks declared once, run two ways: as pandera checks (the reference, with its failure report)
and as vectorised pyarrow predicates (a fast pass over a whole batch). A batch that passes the fast
predicates passes pandera too, so pandera only runs when something fails (tests prove the agreement)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Spec:
    kind: str
    args: tuple

    def pandera(self) -> Any:
        import pandera.polars as pa_pl           # only when a batch fails the fast predicates
        if self.kind == "matches":
            return pa_pl.Check.str_matches(self.args[0])
        if self.kind == "isin":
            return pa_pl.Check.isin(list(self.args))
        if self.kind == "length":
            return pa_pl.Check.str_length(*self.args)
        if self.kind == "ge":
            return pa_pl.Check.ge(self.args[0])
        return pa_pl.Check.in_range(*self.args)

    def holds(self, column: pa.ChunkedArray) -> bool:
        """True when every non-null value passes (bounds through one min/max pass: a batch is often small, and each
        compute call has a fixed cost)."""
        if self.kind == "matches":
            return _all(pc.match_substring_regex(column, self.args[0]))
        if self.kind == "isin":
            return _all(pc.is_in(column, value_set=_value_set(self.args, column.type)))
        if self.kind == "length":
            low, high = _bounds(pc.utf8_length(column))
            return low is None or low >= self.args[0] and high <= self.args[1]
        if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
            return False                         # NaN is out of every bound (min/max would pass over it)
        low, high = _bounds(column)
        if self.kind == "ge":
            return low is None or low >= self.args[0]
        return low is None or low >= self.args[0] and high <= self.args[1]


@functools.lru_cache(maxsize=256)
def _value_set(values: tuple, type_: pa.DataType) -> pa.Array:
    """An ``isin`` check's values as an array of the column's type, built once."""
    return pa.array(list(values), type=type_)


def _all(result) -> bool:
    return bool(pc.all(result).as_py() is not False)


def _bounds(column) -> tuple[Any, Any]:
    """The least and greatest non-null value (None, None when there is none)."""
    found = pc.min_max(column)
    return found["min"].as_py(), found["max"].as_py()


def matches(pattern: str) -> Spec:
    return Spec("matches", (pattern,))


def one_of(values) -> Spec:
    return Spec("isin", tuple(values))


def length(low: int, high: int) -> Spec:
    return Spec("length", (low, high))


def at_least(value) -> Spec:
    return Spec("ge", (value,))


def between(low, high) -> Spec:
    return Spec("range", (low, high))
