"""Value checks over a declaration's columns at once.

The format rules (DRM-FMT-001/002, DRM-AMT-006) and the calendar rule (DRM-PER-005) look at every
value of a declaration. Done person by person and value by value, that is the largest share of
validation. Here one pass over the declaration's columns reads each (rubric, value) pair from a
memo kept per norm catalogue, so a distinct value is checked once however often it repeats (codes,
dates, header values, many amounts), and only the few values that fail are traced back to their
block instance and person. The rules then read their
person's failures from this per-declaration result; their findings are the same, in the same
order, as checking value by value (the reference kept in the rule modules; a test compares both).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.norm import Datatype, NormCatalogue
from gateway.values import jjmmaaaa

DATE_RUBRICS = (R.PAYMENT_DATE, R.REMUNERATION_START, R.REMUNERATION_END, R.NET_ELEMENT_START, R.NET_ELEMENT_END)


@dataclass(frozen=True, slots=True)
class FailedValue:
    token: int                 # position in the declaration's columns (document order)
    instance: BlockInstance
    rubric: str
    line: int
    problem: str               # English, without the value
    datatype: str = ""         # the norm datatype the value failed (format rules)


@dataclass(slots=True)
class DeclarationValues:
    """Failed values of one declaration, by kind and by person (key None: outside any person)."""

    formats: dict[int | None, list[FailedValue]]       # not amounts (DRM-FMT-001/002)
    amounts: dict[int | None, list[FailedValue]]       # amounts (DRM-AMT-006; FMT-001 outside people)
    dates: dict[int | None, list[FailedValue]]         # dates that do not exist (DRM-PER-005)


def date_does_not_exist(value: str | None) -> bool:
    return bool(value) and len(value) == 8 and value.isdigit() and jjmmaaaa(value) is None


def declaration_values(decl: ParsedDeclaration) -> DeclarationValues:
    """The declaration's failed values (memoised on the declaration)."""
    found = decl.cache.get("declaration_values")
    if found is None:
        found = decl.cache["declaration_values"] = _check(decl)
    return found


SCAN_FROM = 2000          # tokens from which a declaration's values are scanned rubric by rubric, not pair by pair
FEW_DISTINCT = 4         # a rubric with at most a quarter distinct values is read value by value, through the memo
_READINGS_MAX = 1 << 16          # (rubric, value) readings remembered per norm catalogue (~13 MB at most)
_readings: dict[NormCatalogue, dict[tuple[str, str], tuple]] = {}


def failing_tokens(decl: ParsedDeclaration) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
    """(token, what is wrong with its value) for every failing value of the declaration's columns, in document
    order; memoised on the declaration. No block instance is looked at, and no value that fits is read on its own:
    a rubric with few distinct values (codes, the month's dates) has each distinct value read once (:func:`_read`,
    through a memo per norm catalogue); the others' values are joined into one text and a datatype's *misfit*
    pattern (:func:`misfits`, the exact complement of :meth:`Datatype.problem`) finds the lines that do not fit in
    one scan; those few, and the dates that do not exist, are then read one by one (through the memo). Below
    SCAN_FROM tokens the scans' fixed cost outweighs them: each distinct pair goes through the memo instead.
    A declaration read together with others (``gateway.parse.together``) takes its share of the pass made over
    all of their tokens at once (:func:`_failing_together`): a value's reading depends on its rubric and itself
    only. :func:`failing_tokens_by_value` is the reference of all three."""
    found = decl.cache.get("failing_tokens")
    if found is not None:
        return found
    if decl.together is not None:                 # read together: its columns are a slice of the group's
        together, index = decl.together
        found = decl.cache["failing_tokens"] = _failing_together(together)[index]
        return found
    columns, norm = decl.columns, decl.norm
    found = decl.cache["failing_tokens"] = []
    if columns is None or norm is None or not columns.rubrics:
        return found
    found.extend(_failing(columns.rubrics, columns.values, columns.by_rubric, lambda: value_array(decl), norm))
    return found


def _failing(rubrics: list[str], values: list[str], by_rubric: Callable[[], dict[str, np.ndarray]],
             array: Callable[[], np.ndarray], norm: NormCatalogue
             ) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
    """The failing tokens of a run of tokens of one catalogue (a declaration's, or declarations' read together), in
    order: scanned rubric by rubric from SCAN_FROM tokens, else each distinct pair through the memo."""
    memo = _readings.setdefault(norm, {})
    if len(values) < SCAN_FROM:
        return _by_memo(rubrics, values, memo, norm)
    found = []
    for token in sorted(set(_candidates(array(), by_rubric(), norm, memo))):
        reading = _remembered(memo, norm, (rubrics[token], values[token]))
        if reading:
            found.append((token, reading))
    return found


def failing_tokens_together(together) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
    """(token, what is wrong with its value) of every failing value of declarations read together, the tokens
    counted from the first of all of them: one pass over all their tokens (memoised on them)."""
    found = together.cache.get("failing_tokens")
    if found is None:
        found = together.cache["failing_tokens"] = _failing(together.rubrics, together.values, together.by_rubric,
                                                            together.value_array, together.norm)
    return found


def _failing_together(together) -> list[list[tuple[int, tuple[tuple[str, str, str], ...]]]]:
    """Each declaration's share of :func:`failing_tokens_together`, counted from its first token (memoised)."""
    found = together.cache.get("failing_shares")
    if found is None:
        firsts = together.firsts
        found = together.cache["failing_shares"] = [[] for _ in range(len(firsts) - 1)]
        failing = failing_tokens_together(together)
        if failing:
            owners = (np.searchsorted(firsts, [token for token, _ in failing], side="right") - 1).tolist()
            for (token, reading), owner in zip(failing, owners):
                found[owner].append((token - int(firsts[owner]), reading))
    return found


def value_array(decl: ParsedDeclaration) -> np.ndarray:
    """The declaration's values as an array of objects, so that a column's values are taken in one call, not one by
    one (made once; a declaration read together takes its slice of its group's, :meth:`Together.value_array`)."""
    found = decl.cache.get("value_array")
    if found is None:
        if decl.together is not None:
            together, index = decl.together
            found = together.value_array()[together.firsts[index]:together.firsts[index + 1]]
        else:
            found = np.array(decl.columns.values, dtype=object)
        decl.cache["value_array"] = found
    return found


def _remembered(memo: dict, norm: NormCatalogue, key: tuple[str, str]) -> tuple:
    """:func:`_read` of a (rubric, value) pair, through the bounded memo of its catalogue."""
    reading = memo.get(key)
    if reading is None:
        if len(memo) >= _READINGS_MAX:
            memo.clear()
        reading = memo[key] = _read(norm, *key)
    return reading


def _by_memo(rubrics: list[str], values: list[str], memo: dict, norm: NormCatalogue
             ) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
    """The failing tokens of a small declaration: each distinct (rubric, value) pair read once through the memo
    per norm catalogue (which small declarations, repeating the same codes and dates, mostly hit)."""
    failing: dict[tuple[str, str], tuple] = {}
    for key in dict.fromkeys(zip(rubrics, values)):     # each distinct pair once
        reading = _remembered(memo, norm, key)
        if reading:
            failing[key] = reading
    if not failing:
        return []
    return [(token, failing[key]) for token, key in enumerate(zip(rubrics, values)) if key in failing]


def _candidates(values: np.ndarray, by_rubric: dict[str, np.ndarray], norm: NormCatalogue, memo: dict) -> list[int]:
    """The tokens whose value does not fit its rubric's datatype, or is a date that does not exist. A rubric with
    few distinct values (codes, the month's dates) has each read through the memo; the others are scanned
    (:func:`misfits`, over the values joined by newlines). A rubric scanned last time (per catalogue: its
    values mostly distinct, amounts and names) is scanned again without first counting its distinct values; both
    ways find the same tokens."""
    candidates: list[int] = []
    scanned = _scanned.setdefault(norm, {})
    for rubric, positions in by_rubric.items():
        spec = norm.rubrics.get(rubric)
        dates = rubric in DATE_RUBRICS
        if spec is None and not dates:
            continue
        texts = values[positions].tolist()          # the rubric's values in one call
        distinct = None if scanned.get(rubric) and not dates else set(texts)
        if distinct is not None and len(distinct) * FEW_DISTINCT <= len(texts):
            scanned[rubric] = False
            failing = {text for text in distinct if _remembered(memo, norm, (rubric, text))}
            if failing:
                candidates.extend(token for token, text in zip(positions.tolist(), texts) if text in failing)
            continue
        scanned[rubric] = True
        if spec is not None:
            candidates.extend(_misfitting(spec.datatype, texts, positions))
        if dates:
            missing = {text for text in distinct if date_does_not_exist(text)}
            if missing:
                candidates.extend(token for token, text in zip(positions.tolist(), texts) if text in missing)
    return candidates


_scanned: dict[NormCatalogue, dict[str, bool]] = {}      # per catalogue: rubric -> scanned at its last pass


def _misfitting(datatype: Datatype, texts: list[str], positions: np.ndarray) -> list[int]:
    """The positions of ``texts`` (one value a token at ``positions``) that do not fit ``datatype``."""
    misfit = misfits(datatype)
    if misfit is None:
        return []
    joined = "\n".join(texts)
    tokens, found = positions.tolist(), []
    line, offset = 0, 0
    for match in misfit.finditer(joined):
        line += joined.count("\n", offset, match.start())
        offset = match.start()
        found.append(tokens[line])
    return found


@functools.lru_cache(maxsize=None)
def misfits(datatype: Datatype) -> re.Pattern[str] | None:
    """A pattern finding, in values joined by newlines, every line that does not fit ``datatype`` (too short, too
    long, not an allowed code, not of its format: :meth:`Datatype.problem` is not None); None when anything fits."""
    fits = []
    if datatype.min_length is not None or datatype.max_length is not None:
        fits.append(f"(?=.{{{datatype.min_length or 0},{'' if datatype.max_length is None else datatype.max_length}}}$)")
    if datatype.values is not None:
        fits.append("(?=(?:" + "|".join(re.escape(value) for value in sorted(datatype.values)) + ")$)")
    if datatype.pattern is not None:
        fits.append("(?:" + datatype.pattern.pattern + ")$")
    return re.compile("^(?!" + "".join(fits) + ").*$", re.MULTILINE) if fits else None


def failing_tokens_by_value(decl: ParsedDeclaration) -> list[tuple[int, tuple[tuple[str, str, str], ...]]]:
    """The reference of :func:`failing_tokens`: every distinct (rubric, value) pair read by :func:`_read` (through a
    fresh memo: nothing remembered from other declarations)."""
    columns, norm = decl.columns, decl.norm
    if columns is None or norm is None or not columns.rubrics:
        return []
    return _by_memo(columns.rubrics, columns.values, {}, norm)


def _check(decl: ParsedDeclaration) -> DeclarationValues:
    result = DeclarationValues({}, {}, {})
    columns = decl.columns
    for token, reading in failing_tokens(decl):
        instance = columns.instance_of(token)
        person = _person_of(instance)
        rubric = columns.rubrics[token]
        for kind, problem, datatype in reading:
            getattr(result, kind).setdefault(id(person) if person is not None else None, []).append(
                FailedValue(token, instance, rubric, columns.lines[token], problem, datatype))
    return result


def _read(norm: NormCatalogue, rubric: str, value: str) -> tuple[tuple[str, str, str], ...]:
    """What is wrong with one value of one rubric: () when nothing, else (kind, problem, datatype) pairs.
    Remembered per catalogue: codes, dates, header values and many amounts repeat across declarations."""
    found = []
    spec = norm.rubrics.get(rubric)
    if spec is not None:
        datatype = spec.datatype
        problem = datatype.problem(value)
        if problem is not None:
            found.append(("amounts" if datatype.is_amount else "formats", problem, datatype.id))
    if rubric in DATE_RUBRICS and date_does_not_exist(value):
        found.append(("dates", "date does not exist", ""))
    return tuple(found)


def _person_of(instance: BlockInstance) -> BlockInstance | None:
    while instance is not None:
        if instance.block == R.INDIVIDUAL:
            return instance
        instance = instance.parent
    return None


def in_walk_order(failed: list[FailedValue], instances, rank_in_instance=None) -> list[FailedValue]:
    """``failed`` in the order a walk over ``instances`` meets them; within an instance by token
    (the order of its values), or by ``rank_in_instance(rubric)`` when given."""
    if len(failed) < 2:
        return failed
    position = {id(instance): rank for rank, instance in enumerate(instances)}
    within = rank_in_instance or (lambda _rubric: 0)
    return sorted(failed, key=lambda f: (position[id(f.instance)], within(f.rubric), f.token))
