"""Months and instants as types, their arithmetic, and the norm's due dates that depend on a declaration's month.

``Month`` ("YYYY-MM") and ``Instant`` (an ISO date or UTC time, "2025-04-05T08:00:00Z") are distinct types for
the type checker and for readers (``typing.NewType``) and plain strings at run time: records cross Arrow,
Parquet and pickles by the million, where a ``str`` subclass would double each value's size (104 bytes
against 56) and unpickle through a constructor. Their format is checked where they enter (the declared
norm's rules, the schemas' month pattern). One home for what was written four times (next month, months
apart, the month of a time): every stage that counts months imports it from here.
"""
from __future__ import annotations

import functools
from typing import NewType

Month = NewType("Month", str)          # "YYYY-MM"
Instant = NewType("Instant", str)      # "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ"

# CT DSN 2025 §1.4.3.3 (p. 14): a monthly DSN may be cancelled and replaced as a whole ("annule et remplace
# intégral", types 03/05) until midnight on the eve of its due date, the 5th or the 15th of the following month
# depending on the employer; afterwards corrections go into later declarations. The gateway cannot tell which
# due date an employer has, so it applies the later one: an A&R received on or after the 15th is too late.
REPLACEMENT_DUE_DAY = 15
REPLACEMENT_TYPES = ("03", "05")
MONTHLY_NATURE = "01"


def month_of_instant(instant: Instant | str) -> Month:
    """The ``YYYY-MM`` month of an ISO date or time (a transaction time, an as-of date)."""
    return Month(instant[:7])


def day_of_instant(instant: Instant | str) -> str:
    """The ``YYYY-MM-DD`` day of an ISO date or time."""
    return instant[:10]


def month_number(month: Month | str) -> int:
    """A month as a number of months (``year * 12 + month - 1``): consecutive months, consecutive numbers."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


@functools.lru_cache(maxsize=1 << 14)      # a register derives ~50 of these per person, over a few dozen months
def add_months(month: Month | str, offset: int) -> Month:
    """``month`` moved by ``offset`` months (negative: earlier)."""
    index = month_number(month) + offset
    return Month(f"{index // 12}-{index % 12 + 1:02d}")


def next_month(month: Month | str) -> Month:
    return add_months(month, 1)


MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")


def month_fr(month: Month | str) -> str:
    """A month as a claimant reads it: ``2025-03`` -> ``mars 2025``."""
    return f"{MONTHS_FR[int(month[5:7]) - 1]} {month[:4]}"


def months_between(first: Month | str, last: Month | str) -> int:
    """How many months from ``first`` to ``last`` (negative when ``last`` is earlier); days are ignored."""
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7])


@functools.lru_cache(maxsize=1 << 12)
def due_date(month: Month | str, day: int) -> str:
    """The ISO date of day ``day`` of the month after ``month``: a declaration's due date."""
    return f"{next_month(month)}-{day:02d}"


def replacement_too_late(*, flow: str, nature: str, declaration_type: str, main_month: str | None,
                         arrived: str) -> bool:
    """Whether an annule-et-remplace of a monthly DSN arrived (ISO date or time) after the norm allows it."""
    if flow != "DSN" or nature != MONTHLY_NATURE or declaration_type not in REPLACEMENT_TYPES:
        return False
    return bool(main_month) and bool(arrived) and day_of_instant(arrived) >= due_date(main_month, REPLACEMENT_DUE_DAY)


__all__ = ["Instant", "MONTHS_FR", "Month", "REPLACEMENT_DUE_DAY", "REPLACEMENT_TYPES", "add_months", "day_of_instant",
           "due_date", "month_fr", "month_of_instant", "months_between", "next_month", "replacement_too_late"]
