"""Column checks declared once, run two ways: as pandera checks (the reference, with its failure report)
and as vectorised pyarrow predicates (a fast pass over a whole batch). A batch that passes the fast
predicates passes pandera too, so pandera only runs when something fails (tests prove the agreement)."""
from __future__ import annotations

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
        """True when every non-null value passes."""
        if self.kind == "matches":
            result = pc.match_substring_regex(column, self.args[0])
        elif self.kind == "isin":
            result = pc.is_in(column, value_set=pa.array(list(self.args), type=column.type))
        elif self.kind == "length":
            lengths = pc.utf8_length(column)
            result = pc.and_(pc.greater_equal(lengths, self.args[0]), pc.less_equal(lengths, self.args[1]))
        elif self.kind == "ge":
            result = pc.greater_equal(column, self.args[0])
        else:
            result = pc.and_(pc.greater_equal(column, self.args[0]), pc.less_equal(column, self.args[1]))
        return bool(pc.all(result).as_py() is not False)


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
