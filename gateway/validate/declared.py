"""What a declarant needs beside a finding to find and fix it: the value declared in the rubric (never
personal data), the norm's format or list when the value does not fit it, the employee's payroll number and
the declaration's date. Looked up only for findings, once per declaration (``Declared.of``)."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Sequence

from gateway.parse import rubrics as R
from gateway.parse.blocks import Columns
from gateway.parse.declaration import ParsedDeclaration
from gateway.parse.norm import Datatype, NormCatalogue
from gateway.values import jjmmaaaa

MAX_SHOWN = 80            # characters of a declared value kept in a record (a line holds up to 256)
MAX_LISTED = 12           # codes of a list spelled out in full
_NATURES_FR = {"Numeric": "chiffres", "Alphanumeric": "caractères", "Date": "caractères",
               "ExternalReferential": "caractères", "Enumeration": "caractères"}


def personal(rubric: str) -> bool:
    """A rubric of the individual's identity (NIR, names, birth date and place, address, their changes): its
    value never leaves the flow in a report. The payroll number is how the declarant finds the employee."""
    return rubric.startswith(R.IDENTITY_BLOCKS) and rubric != R.PAYROLL_NUMBER


def shown(value: str | None) -> str | None:
    """A declared value as a report may show it: control characters as \\xNN, at most MAX_SHOWN characters.
    Escaping for HTML is the template's (autoescape): this only keeps the text readable and bounded."""
    if value is None:
        return None
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in value[:MAX_SHOWN])
    return text + ("…" if len(value) > MAX_SHOWN else "")


def expected(datatype: Datatype) -> str:
    """The norm's format of a rubric in French, as a declarant reads it in the cahier technique."""
    if datatype.values is not None:
        codes = sorted(datatype.values)
        listed = ", ".join(codes[:MAX_LISTED])
        more = f" … ({len(codes)} valeurs)" if len(codes) > MAX_LISTED else ""
        return f"une valeur de la liste {datatype.id} : {listed}{more}"
    if datatype.nature == "Date":
        return "une date au format JJMMAAAA (par exemple 31012025)"
    if datatype.is_amount:
        return "un montant avec un point et exactement deux décimales (par exemple 1234.56)"
    low, high = datatype.min_length, datatype.max_length
    unit = _NATURES_FR.get(datatype.nature, "caractères")
    if low is not None and low == high:
        size = f"{low} {unit}"
    elif low is not None and high is not None:
        size = f"de {low} à {high} {unit}"
    else:
        size = f"au plus {high} {unit}" if high is not None else unit
    return size + (f", au format {datatype.pattern.pattern}" if datatype.pattern is not None else "")


@dataclass
class Declared:
    """One declaration's values by line, built on the first finding that needs them."""

    norm: NormCatalogue | None
    date: str | None
    # The declaration's own columns (no copy: a declaration of 200,000 people keeps its memory), or, for one
    # built without columns, its tree's values sorted by line.
    _columns: Columns | None = None
    _lines: Sequence[int] = ()
    _rubrics: Sequence[str] = ()
    _values: Sequence[str] = ()
    _people: list[tuple[int, int, str | None]] = field(default_factory=list)   # tree only: first, last, payroll

    @classmethod
    def of(cls, decl: ParsedDeclaration) -> "Declared":
        found = decl.cache.get("declared")
        if found is None:
            day = jjmmaaaa(decl.value(R.FILE_DATE))
            found = decl.cache["declared"] = cls(decl.norm, day.isoformat() if day else None)
            if decl.columns is not None:
                columns = found._columns = decl.columns
                found._lines, found._rubrics, found._values = columns.lines, columns.rubrics, columns.values
            else:
                triples = sorted((instance.line_of(rubric), rubric, value) for root in decl.roots
                                 for instance in root.walk() for rubric, value in instance.values.items())
                found._lines = [line for line, _, _ in triples]
                found._rubrics = [rubric for _, rubric, _ in triples]
                found._values = [value for _, _, value in triples]
                found._people = [(person.first_line, person.subtree_last_line, person.get(R.PAYROLL_NUMBER))
                                 for person in decl.instances(R.INDIVIDUAL)]
        return found

    def payroll_number(self, line: int) -> str | None:
        """The payroll number of the person whose blocks hold ``line`` (None outside people)."""
        if self._columns is None:
            at = bisect.bisect_right(self._people, (line, float("inf"), "")) - 1
            person = self._people[at] if at >= 0 else None
            return shown(person[2]) if person is not None and person[0] <= line <= person[1] else None
        token = bisect.bisect_right(self._lines, line) - 1
        instance = self._columns.instance_of(token) if token >= 0 and self._columns.structure is not None else None
        while instance is not None and instance.block != R.INDIVIDUAL:
            instance = instance.parent
        if instance is not None and instance.first_line <= line <= instance.subtree_last_line:
            return shown(instance.get(R.PAYROLL_NUMBER))
        return None

    def about(self, line: int, rubric: str) -> dict[str, str | None]:
        """The fields of a quarantine record about a finding at ``line`` in ``rubric``."""
        raw = self.raw(line, rubric)
        return {"declared_value": self.shown_value(rubric, raw), "expected": self.expected(rubric, raw),
                "payroll_number": self.payroll_number(line), "declaration_date": self.date}

    def raw(self, line: int, rubric: str) -> str | None:
        """The value of ``rubric`` declared at ``line`` as it is (None when there is none): for checks only,
        a report shows ``shown_value``."""
        if not rubric:
            return None
        at = bisect.bisect_left(self._lines, line)
        while at < len(self._lines) and self._lines[at] == line:
            if self._rubrics[at] == rubric:
                return self._values[at]
            at += 1
        return None

    def shown_value(self, rubric: str, value: str | None) -> str | None:
        """A declared value as a report shows it: None for an identity rubric."""
        return None if personal(rubric) else shown(value)

    def expected(self, rubric: str, value: str | None) -> str | None:
        """The norm's format or list in French, when the declared value does not fit it."""
        spec = self.norm.rubrics.get(rubric) if self.norm is not None and rubric else None
        if spec is None or value is None or spec.datatype.problem(value) is None:
            return None
        return expected(spec.datatype)



class Noted:
    """The same fields for a declaration read in parts (``gateway.parse.windows``): each finding's value, format
    and payroll number are taken from the part it was found in (a later part no longer holds its line); any other
    finding is looked up in the last part (``over``), as it would be in the whole declaration. Holds the fields
    only, never a part: memory keeps one part at a time."""

    def __init__(self) -> None:
        self._about: dict[tuple[int, str], dict[str, str | None]] = {}
        self._last: Declared | None = None

    def note(self, decl: ParsedDeclaration, violations, *, warnings_per_rule: int) -> None:
        """Note the findings of one part: every rejecting one (each becomes a record), and of the warnings only
        the first ``warnings_per_rule`` of each rule in the part (a declaration lists no more of a rule: 200,000
        people missing the same block must not make 200,000 notes)."""
        if not violations:
            return
        declared = Declared.of(decl)
        warned: dict[str, int] = {}
        for violation in sorted(violations, key=lambda v: v.origin.first_line):
            if not violation.severity.rejects:
                warned[violation.rule_id] = warned.get(violation.rule_id, 0) + 1
                if warned[violation.rule_id] > warnings_per_rule:
                    continue
            key = (violation.origin.first_line, violation.rubric)
            if key not in self._about:
                self._about[key] = declared.about(*key)

    def over(self, decl: ParsedDeclaration) -> "Noted":
        """These fields, with the last part for the findings not noted (the envoi's, the counts of the others)."""
        self._last = Declared.of(decl)
        return self

    def about(self, line: int, rubric: str) -> dict[str, str | None]:
        found = self._about.get((line, rubric))
        if found is None and self._last is not None:
            return self._last.about(line, rubric)
        return found or {}
