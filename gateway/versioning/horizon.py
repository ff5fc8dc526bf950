"""Settled months: how far back a run still reads the register.

A run's flags, bases and gate decisions are a snapshot, as of the run, of every person of the buckets it
touches. They do not need the register's whole history: a month is *settled* once no output can use it
any more, that is once it is older than the oldest window of a base the gate may still re-examine with
an effect on payments. Counting back from the run's month:

    2                              a base's reference month is at most 2 months back (quarterly bases)
  + the longest base window        (M-13 for housing aid)
  + the longest paid period        (a base pays ``paid_months`` months after its reference month)
  + the recovery time limit        (beyond it a change is lapsed: neither overpayment nor arrears)

With the default policy: 2 + 13 + 3 + 24 = 42 months. A run reads only the rows of months still open (and
the month before, whose mentions tell which months were due): its cost follows what is open, not how
long the register has been kept. Settled months stay in the register (as-of reproduction, history, a
revision that still arrives for them): such a revision makes the buckets read their whole history again
for that run, so that it is versioned exactly as before.
"""
from __future__ import annotations

from dataclasses import replace

import pyarrow.compute as pc

from gateway.policy import Policy
from gateway.versioning.register import BucketState
from gateway.months import add_months, month_of_instant
from schemas.records import ResourceRows

QUARTER_OFFSET = 2          # a quarterly base's reference month: the first month of the run's quarter


def open_months(policy: Policy) -> int:
    """How many months back from the run's month are still open (read, flagged, re-examined)."""
    window = max((-base.window[0] for base in policy.bases), default=0)
    paid = max((benefit.paid_months for benefit in policy.gate.benefits.values()), default=0)
    return QUARTER_OFFSET + window + paid + policy.gate.recovery_limit_months


def open_from(policy: Policy, as_of: str) -> str | None:
    """The first month still open for a run at ``as_of`` (None without a date: nothing is settled)."""
    return add_months(month_of_instant(as_of), -open_months(policy)) if as_of else None


def mentions_from(first_open: str) -> str:
    """The earliest month a run still reads (mentions, one month before the first open month)."""
    return open_bound("mentions", first_open)[1]


# Which rows of a bucket's tables the outputs may use once ``first_open`` is known: the column compared, and
# its offset in months (mentions one month earlier: a contract open in a month makes the next month due;
# frozen bases and decisions whose window starts in an open month). The store reads with the same bounds.
OPEN_ROWS = {"contributions": ("month", 0), "mentions": ("month", -1), "versions": ("month", 0),
             "frozen": ("window_first", 0), "decisions": ("reference_month", 0)}


def open_bound(table: str, first_open: str) -> tuple[str, str]:
    """(column, first value kept) of a bucket table's rows still open."""
    column, offset = OPEN_ROWS[table]
    return column, add_months(first_open, offset)


def within(state: BucketState, first_open: str | None) -> BucketState:
    """What of a bucket's rows the outputs may use: rows of open months (bases and decisions whose whole
    window is open). The same rows whether the bucket was read whole or from the open months only."""
    if first_open is None:
        return state

    def kept(table: str, rows: list) -> list:
        column, first = open_bound(table, first_open)
        if isinstance(rows, ResourceRows):           # columns: the rows kept, as rows (the same when all are)
            values = rows.table.column(column)
            if not len(rows) or pc.min(values).as_py() >= first:
                return rows
            return type(rows)(rows.table.filter(pc.greater_equal(values, first)))
        return [row for row in rows if getattr(row, column) >= first]
    return replace(state, **{table: kept(table, getattr(state, table)) for table in OPEN_ROWS})


def settled(first_month: str | None, first_open: str) -> bool:
    """Whether a declaration attributes amounts to a settled month (None: not known, so assume it does;
    "": it attributes none)."""
    return first_month is None or ("" < first_month < first_open)
