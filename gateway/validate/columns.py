"""Value checks over a declaration's columns at once.

The format rules (DRM-FMT-001/002, DRM-AMT-006) and the calendar rule (DRM-PER-005) look at every
value of a declaration. Done person by person and value by value, that is the largest share of
validation. Here the tokens are grouped by rubric, each *distinct* value of a rubric is
checked once (codes, dates and most amounts repeat across a file's people), and only the few
values that fail are traced back to their block instance and person. The rules then read their
person's failures from this per-declaration result; their findings are the same, in the same
order, as checking value by value (the reference kept in the rule modules; a test compares both).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance
from gateway.parse.declaration import ParsedDeclaration
from gateway.values import jjmmaaaa

DATE_RUBRICS = (R.PAYMENT_DATE, R.REMUNERATION_START, R.REMUNERATION_END, R.NET_ELEMENT_START, R.NET_ELEMENT_END)
_AMOUNT_MARK = r"\.[0-9]{2}"           # an amount's datatype pattern has exactly two decimals


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


def is_amount(pattern: str | None) -> bool:
    return bool(pattern) and _AMOUNT_MARK in pattern


def date_does_not_exist(value: str | None) -> bool:
    return bool(value) and len(value) == 8 and value.isdigit() and jjmmaaaa(value) is None


def declaration_values(decl: ParsedDeclaration) -> DeclarationValues:
    """The declaration's failed values (memoised on the declaration)."""
    found = decl.cache.get("declaration_values")
    if found is None:
        found = decl.cache["declaration_values"] = _check(decl)
    return found


def _check(decl: ParsedDeclaration) -> DeclarationValues:
    result = DeclarationValues({}, {}, {})
    columns, norm = decl.columns, decl.norm
    if columns is None or norm is None or not columns.rubrics:
        return result
    groups: dict[str, list[int]] = {}
    for token, rubric in enumerate(columns.rubrics):
        groups.setdefault(rubric, []).append(token)
    values = columns.values
    for rubric, tokens in groups.items():
        spec = norm.rubrics.get(rubric)
        dated = rubric in DATE_RUBRICS
        if spec is None and not dated:
            continue
        texts = [values[i] for i in tokens]
        if spec is not None:
            datatype = spec.datatype
            pattern = datatype.pattern.pattern if datatype.pattern else None
            target = result.amounts if is_amount(pattern) else result.formats
            _collect(columns, tokens, texts, rubric, target, datatype.problem, datatype.id)
        if dated:
            _collect(columns, tokens, texts, rubric, result.dates, _date_problem, "")
    return result


def _date_problem(text: str) -> str | None:
    return "date does not exist" if date_does_not_exist(text) else None


def _collect(columns, tokens: list[int], texts: list[str], rubric: str, target: dict,
             problem_of: Callable[[str], str | None], datatype: str) -> None:
    """Failed values of one rubric: each distinct value checked once."""
    if len(texts) == 1:
        problem = problem_of(texts[0])
        problems = {texts[0]: problem} if problem is not None else None
    else:
        problems = {text: problem for text in set(texts) if (problem := problem_of(text)) is not None}
    if not problems:
        return
    for token, text in zip(tokens, texts):
        if text in problems:
            instance = columns.instance_of(token)
            person = _person_of(instance)
            target.setdefault(id(person) if person is not None else None, []).append(
                FailedValue(token, instance, rubric, columns.lines[token], problems[text], datatype))


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
