"""Second pass: one declaration re-read from its byte range, tokenized and rebuilt into blocks."""
from __future__ import annotations

import hashlib
import operator
import re
from datetime import date
from collections import Counter
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, BinaryIO, Sequence

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockInstance, Columns, StructureProblem, columns_of
from gateway.parse.index import DeclarationSpan
from gateway.parse.lines import Defect, RawLine, clean_lines, clean_mask, tokenize
from gateway.parse.norm import PASRAU_CATALOGUE, NormCatalogue, catalogue
from gateway.records import Flow
from gateway.values import jjmmaaaa


@dataclass(frozen=True, slots=True)
class LineDefect:
    line: int
    defect: Defect
    rubric: str = ""


@dataclass(slots=True)
class ParsedDeclaration:
    """A declaration as blocks, with what the tokenizer and the tree builder found wrong."""

    file: str
    span: DeclarationSpan
    envoi_number: int
    norm_version: str | None
    norm: NormCatalogue | None
    flow: Flow
    _roots: list[BlockInstance] | None = None   # the block tree, built from ``columns`` when first asked for
    defects: list[LineDefect] = field(default_factory=list)
    problems: list[StructureProblem] = field(default_factory=list)
    columns: Columns | None = None     # the tokens as columns (None when the declaration was not read)
    digest: str = ""
    read: bool = True          # False when the index already showed it cannot be read safely
    declarant_hint: str | None = None   # SIRET/SIREN read from the raw lines when no block tree was built
    _first: dict[str, BlockInstance] | None = None
    _values: dict[str, str | None] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)    # per-declaration memo for rules (counts, sets)
    # What rules remember across the whole declaration: the same dict for every part of a declaration read
    # in parts (gateway.parse.windows), with value counts of the whole declaration filled in beforehand.
    shared: dict = field(default_factory=dict)
    # Read together with other declarations (gateway.parse.together): their tokens end to end, and this one's place.
    together: "tuple[Any, int] | None" = None

    @property
    def roots(self) -> list[BlockInstance]:
        """The top-level block instances (normally one S20.G00.05) with their children; built on first use, so
        that a declaration the certificates prove clean needs no object per block (gateway.normalise.columnar)."""
        if self._roots is None:
            self._roots = self.columns.tree() if self.columns is not None else []
        return self._roots

    @property
    def tree_built(self) -> bool:
        return self._roots is not None

    def release(self) -> None:
        """Break the tree's reference cycles (parent links, cached walks) once the declaration is done,
        so that it is freed at once by reference counting instead of waiting for the cyclic garbage
        collector, whose full passes grow with everything else alive in the worker."""
        for root in self._roots or ():
            for instance in root.walk():
                instance.parent = None
                instance._subtree = None
        self.cache.clear()
        self.together = None

    @property
    def header(self) -> BlockInstance | None:
        return next((root for root in self.roots if root.block == R.DECLARATION), None)

    @property
    def first_line(self) -> int:
        return self.span.span.first_line

    @property
    def last_line(self) -> int:
        return self.span.span.last_line

    @property
    def line_count(self) -> int:
        return self.span.span.lines

    def instances(self, block: str):
        return (instance for root in self.roots for instance in root.walk() if instance.block == block)

    def first(self, block: str) -> BlockInstance | None:
        """The first instance of ``block`` in document order (indexed once per declaration)."""
        if self._first is None:
            self._first = {}
            for root in self.roots:
                for instance in root.walk():
                    self._first.setdefault(instance.block, instance)
        return self._first.get(block)

    def value(self, rubric: str) -> str | None:
        """The value of ``rubric`` in the first instance of its block (memoised: rules ask per person)."""
        try:
            return self._values[rubric]
        except KeyError:
            instance = self.first(rubric[:10])
            found = self._values[rubric] = instance.get(rubric) if instance else None
            return found

    def know(self, rubric: str, value: str | None) -> None:
        """What :meth:`value` gives for ``rubric``, found without the tree (``gateway.normalise.columnar``)."""
        self._values[rubric] = value

    def value_counts(self, rubric: str) -> Counter:
        """How many instances of the declaration carry each non-empty value of ``rubric`` (memoised)."""
        counts = self.shared.setdefault("value_counts", {})
        found = counts.get(rubric)
        if found is None:
            if self.shared.get("in_parts"):
                raise KeyError(f"{rubric}: counted beforehand only for {sorted(counts)} in a declaration read in parts")
            found = counts[rubric] = Counter(value for instance in self.instances(rubric[:10])
                                             if (value := instance.get(rubric)))
        return found

    @property
    def main_day(self) -> date | None:
        """The first day of the main month (S20.G00.05.005), parsed once per declaration: rules ask per person."""
        try:
            return self.cache["main_day"]
        except KeyError:
            found = self.cache["main_day"] = jjmmaaaa(self.value(R.MAIN_MONTH))
            return found

    @property
    def nature(self) -> str:
        return self.value(R.NATURE) or self.span.nature

    @property
    def declarant_id(self) -> str | None:
        """SIREN + NIC (made once per declaration, as ``main_day``: asked for per person and per record)."""
        try:
            return self.cache["declarant_id"]
        except KeyError:
            siren, nic = self.value(R.SIREN), self.value(R.NIC)
            found = self.cache["declarant_id"] = f"{siren}{nic}" if siren and nic else None
            return found

    @property
    def attributed_declarant(self) -> str | None:
        """Who a finding is reported to: the SIRET when readable, else the company's SIREN (a declaration
        without its establishment block, or whose blocks are out of order), else None."""
        if self.declarant_id:
            return self.declarant_id
        if self.declarant_hint:
            return self.declarant_hint
        siren = self.value(R.SIREN)
        if siren is None and self.columns is not None:
            siren = next((value for rubric, value in zip(self.columns.rubrics, self.columns.values)
                          if rubric == R.SIREN), None)
        return siren if siren and siren.isascii() and siren.isdigit() and len(siren) == 9 else None

    @property
    def declaration_id(self) -> str:
        """Readable business id: SIRET-main month-fraction-rank (rank = S20.G00.05.004); made once per declaration."""
        try:
            return self.cache["declaration_id"]
        except KeyError:
            main = (self.value(R.MAIN_MONTH) or "")[2:]
            found = self.cache["declaration_id"] = "-".join([
                self.declarant_id or "unknown", main[2:] + main[:2] if len(main) == 6 else "",
                self.value(R.FRACTION) or "", self.value(R.RANK) or ""])
            return found


def flow_of(nature: str) -> Flow:
    return Flow.PASRAU if nature in R.PASRAU_NATURES else Flow.DSN


def norm_for(flow: Flow, version: str | None) -> NormCatalogue | None:
    if flow is Flow.PASRAU:
        return catalogue(PASRAU_CATALOGUE)
    try:
        return catalogue(version or "")
    except KeyError:
        return None


def read_declaration(fh: BinaryIO, file: str, span: DeclarationSpan, envoi_number: int,
                     norm_version: str | None) -> ParsedDeclaration:
    flow = flow_of(span.nature)
    norm = norm_for(flow, norm_version)
    parsed = ParsedDeclaration(file, span, envoi_number, norm_version, norm, flow)
    if span.oversize_lines or span.binary_lines:
        parsed.read = False
        fh.seek(span.span.start)
        parsed.declarant_hint = declarant_in(fh.read(span.span.end - span.span.start))
        return parsed
    text, (numbers, rubrics, values, parsed.defects) = read_tokens(fh, span)
    parsed.digest = hashlib.sha256(text).hexdigest()
    if norm is not None:
        parsed.problems, parsed.columns = columns_of(numbers, rubrics, values, norm)
    else:
        parsed.declarant_hint = declarant_in(text)
    return parsed


_SIREN_LINE = re.compile(rb"^S21\.G00\.06\.001,'([0-9]{9})'\r?$", re.MULTILINE)
_NIC_LINE = re.compile(rb"^S21\.G00\.11\.001,'([0-9]{5})'\r?$", re.MULTILINE)


def declarant_in(data: bytes) -> str | None:
    """SIRET (else SIREN) read from the raw lines of a declaration the parser could not build (no known norm,
    an over-long or binary line): who its findings are reported to."""
    siren, nic = _SIREN_LINE.search(data), _NIC_LINE.search(data)
    if siren is None:
        return None
    return siren.group(1).decode() + (nic.group(1).decode() if nic else "")


def read_tokens(fh: BinaryIO, span: DeclarationSpan) -> tuple[bytes, tuple[Sequence[int], list[str], list[str],
                                                                           list[LineDefect]]]:
    """A declaration's text (as its digest is taken of) and its tokens, re-read from its byte range."""
    fh.seek(span.span.start)
    text = declaration_text(fh.read(span.span.end - span.span.start))   # bounded: no over-long line here
    return text, tokens_of(text, span.span.first_line)


def declaration_text(data: bytes) -> bytes:
    """A declaration's bytes as the parser reads them (and its digest is taken of): LF line ends, a final LF."""
    text = data.replace(b"\r\n", b"\n") if b"\r" in data else data
    if text.endswith(b"\r"):              # the file's last line, ended by CR alone (as lines.finished_line reads it)
        return text[:-1] + b"\n"
    return text if text.endswith(b"\n") else text + b"\n"


_RUBRIC, VALUE_OF = operator.itemgetter(slice(0, 14)), operator.itemgetter(slice(16, -1))   # a plain line's


def tokens_of(text: bytes, first: int) -> tuple[Sequence[int], list[str], list[str], list[LineDefect]]:
    """Line numbers, rubrics and values of the rubric lines of ``text`` (LF-ended lines, the first numbered
    ``first``), and the defects of the lines that are not plain rubric lines."""
    # The plain rubric lines are cut by position (all of them, as a rule) ...
    lines = text[:-1].decode("latin-1").split("\n")    # Latin-1: one byte a character
    numbers: Sequence[int] = range(first, first + len(lines))
    rubrics, values = list(map(_RUBRIC, lines)), list(map(VALUE_OF, lines))      # slices in C: ~10 % less a line
    if clean_lines(text):
        return numbers, rubrics, values, []
    # ... and the others tokenized one by one (tokenize is the reference).
    defects: list[LineDefect] = []
    dropped: list[int] = []
    for i in np.flatnonzero(~clean_mask(text)).tolist():
        raw = lines[i].encode("latin-1")
        token, found = tokenize(RawLine(first + i, 0, raw, len(raw), len(raw) + 1))
        defects.extend(LineDefect(first + i, defect, token.rubric if token else "") for defect in found)
        if token is None:
            dropped.append(i)
        else:
            rubrics[i], values[i] = token.rubric, token.value
    if dropped:
        keep = np.ones(len(lines), dtype=bool)
        keep[dropped] = False
        numbers = list(compress(numbers, keep.tolist()))
        rubrics, values = list(compress(rubrics, keep.tolist())), list(compress(values, keep.tolist()))
    return numbers, rubrics, values, defects
