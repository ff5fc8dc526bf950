"""Typed readings of rubric values: amounts, dates, months. Invalid text reads as None;
the format rules report it, so readers here never raise on data."""
from __future__ import annotations

import functools
import re
from datetime import date, datetime, timezone

from gateway.months import Month

_AMOUNT = re.compile(r"(-?)([0-9]+)\.([0-9]{2})")
_DATE = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_MONTH_MMAAAA = re.compile(r"(0[1-9]|1[0-2])([0-9]{4})")


def cents(text: str | None) -> int | None:
    """'-0012.34' -> -1234. Exactly two decimals, '.' separator, optional leading '-'.

    Read with string methods (every amount of a run goes through here); :func:`cents_by_pattern` is the
    definition, and a property test proves both agree."""
    if text is None:
        return None
    units, dot, decimals = text.partition(".")
    if not dot or len(decimals) != 2 or not (decimals.isascii() and decimals.isdigit()):
        return None
    negative = units.startswith("-")
    if negative:
        units = units[1:]
    if not (units.isascii() and units.isdigit()):      # ASCII digits only, at least one
        return None
    value = int(units) * 100 + int(decimals)
    return -value if negative else value


def cents_by_pattern(text: str | None) -> int | None:
    """The reference reading of an amount: the pattern ``-?[0-9]+\\.[0-9]{2}``, whole."""
    if text is None:
        return None
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return None
    sign, units, decimals = match.groups()
    value = int(units) * 100 + int(decimals)
    return -value if sign else value


@functools.lru_cache(maxsize=4096)
def jjmmaaaa(text: str | None) -> date | None:
    """'31012025' -> date(2025, 1, 31); memoised: a file repeats the same few dates thousands of times."""
    if text is None:
        return None
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return date.fromordinal(date(day.year + (day.month == 12), day.month % 12 + 1, 1).toordinal() - 1)


def next_month_end(day: date) -> date:
    """The last day of the month after ``day``'s (the limit of many DSN dates: CCH-13 of S21.G00.50.001…)."""
    return month_end(date(day.year + (day.month == 12), day.month % 12 + 1, 1))


def month_of(day: date) -> Month:
    return Month(f"{day.year:04d}-{day.month:02d}")


def mmaaaa_month(text: str | None) -> Month | None:
    """'032025' -> '2025-03' (S21.G00.56.001, month of the error)."""
    if text is None:
        return None
    match = _MONTH_MMAAAA.fullmatch(text)
    return Month(f"{match.group(2)}-{match.group(1)}") if match else None


def format_cents(value: int | None) -> str:
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def euros(cents: int | None) -> str:
    """French money format for sentences: 1 234,56 € (narrow no-break space between thousands)."""
    if cents is None:
        return "non déclaré"
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", "\u202f") + f",{rest:02d} €"


def thousands(number: int | None) -> str:
    """French integer format for pages: 44 495 (narrow no-break space between thousands); a dash when unknown."""
    return f"{number:,}".replace(",", "\u202f") if isinstance(number, int) else "—"


def percent(ratio: float | None, decimals: int = 1) -> str:
    """French percentage for pages: 0.667 -> 66,7 % (no-break space before the sign); a dash when unknown."""
    return "—" if ratio is None else f"{100 * ratio:.{decimals}f}".replace(".", ",") + "\u00a0%"


# Resource natures as a claimant or officer reads them.
NATURES_FR = {"SALARY": "salaire", "UNEMPLOYMENT_BENEFIT": "allocation chômage", "DAILY_ALLOWANCE": "indemnités journalières",
              "PENSION": "pension ou retraite", "OTHER_INCOME": "autre revenu"}


_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
                      r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def instant(text: str) -> str:
    """A transaction time given by a person (``2025-05-01``, ``2025-05-01T10:00``, ``…+02:00``, ``…Z``) as the
    register writes it: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (a time without zone is UTC). ValueError otherwise."""
    if not _INSTANT.fullmatch(text.strip()):
        raise ValueError(f"not a date or an ISO instant: {text!r}")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date or an ISO instant: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def month(text: str) -> str:
    """A month given by a person (``YYYY-MM``); ValueError otherwise."""
    if not _MONTH.fullmatch(text.strip()):
        raise ValueError(f"not a month YYYY-MM: {text!r}")
    return text.strip()
