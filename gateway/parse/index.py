"""First pass over a file: where the envois, declarations and envelope lines are.

It reads every line once (bounded memory: a line is never held past ``lines.KEEP`` bytes),
finds the units by their structure prefixes, reads the few values that matter at envoi level
(norm version, S90 totals) and remembers, per declaration, only its byte and line range. The
second pass (:mod:`gateway.parse.declaration`) re-reads one declaration at a time, so memory
does not grow with file size beyond one declaration.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

from gateway.parse import rubrics as R
from gateway.parse.lines import MAX_LINE, RawLine, tokenize
from gateway.parse.runs import Tail, iter_line_runs

_NUL = b"\x00"
_ENVOI_VALUES = frozenset({b"S10.G00.00.00" + bytes([48 + n]) for n in range(10)} | {b"S10.G00.01.001", b"S10.G00.01.002"})
MAX_MARKED = 20          # line numbers kept per kind of index-level problem


@dataclass(slots=True)
class Span:
    """A contiguous run of lines: byte range [start, end) and line range [first, last]."""

    start: int
    end: int
    first_line: int
    last_line: int

    @property
    def lines(self) -> int:
        return self.last_line - self.first_line + 1


@dataclass(slots=True)
class DeclarationSpan:
    span: Span
    nature: str
    type: str = ""
    # The first MAX_MARKED lines of each kind; tuples: an envoi can list a million declarations, nearly all clean.
    oversize_lines: tuple[int, ...] = ()
    binary_lines: tuple[int, ...] = ()


@dataclass(slots=True)
class EnvoiIndex:
    """One S10 … S90 envoi of a file."""

    number: int                               # 1-based rank of the envoi in the file
    header: Span
    declarations: list[DeclarationSpan] = field(default_factory=list)
    footer: Span | None = None
    values: dict[str, str] = field(default_factory=dict)   # S10.G00.00.* and S90 values
    oversize_lines: list[int] = field(default_factory=list)  # in header or footer
    binary_lines: list[int] = field(default_factory=list)
    closed_by: str = "S90"                    # S90, or why it ended without one

    @property
    def first_line(self) -> int:
        return self.header.first_line

    @property
    def last_line(self) -> int:
        if self.footer is not None:
            return self.footer.last_line
        if self.declarations:
            return self.declarations[-1].span.last_line
        return self.header.last_line

    @property
    def lines(self) -> int:
        return self.last_line - self.first_line + 1

    @property
    def header_and_footer_lines(self) -> int:
        return self.header.lines + (self.footer.lines if self.footer else 0)

    @property
    def norm_version(self) -> str | None:
        return self.values.get(R.NORM_VERSION)

    @property
    def emitter_id(self) -> str | None:
        """SIRET of the émetteur (S10.G00.01): who is told about an envoi-level problem."""
        siren, nic = self.values.get(R.EMITTER_SIREN), self.values.get(R.EMITTER_NIC)
        return f"{siren}{nic}" if siren and nic else None


@dataclass(slots=True)
class FileIndex:
    name: str
    size: int = 0
    lines: int = 0
    envois: int = 0
    envelope: list[Span] = field(default_factory=list)
    orphans: list[Span] = field(default_factory=list)   # lines outside any envoi
    ends_without_newline: bool = False
    refused: str = ""                   # why the file was not parsed (gateway.inputs.Refusal: DRM-FIL-005/006)


def _extend(spans: list[Span], raw: RawLine, tail: Tail | None = None) -> None:
    """Add ``raw`` (and the plain lines of its run up to ``tail``) to a list of spans."""
    end = raw.end
    if spans and spans[-1].last_line == raw.number - 1:
        spans[-1].end, spans[-1].last_line = end, raw.number
    else:
        spans.append(Span(raw.offset, end, raw.number, raw.number))
    if tail is not None:
        _grow(spans[-1], tail)


def _grow(span: Span, raw: RawLine | Tail) -> None:
    span.end, span.last_line = raw.end, raw.number


def _value(raw: RawLine) -> tuple[str, str] | None:
    token, _ = tokenize(raw)
    return (token.rubric, token.value) if token else None


LineRuns = Callable[[BinaryIO], Iterator[tuple[RawLine, Tail | None]]]


def index_envois(fh: BinaryIO, name: str, *, runs: LineRuns = iter_line_runs) -> Iterator[EnvoiIndex | FileIndex]:
    """Yield each envoi as soon as it is closed, then the FileIndex (envelope, orphans, totals).

    Envois are yielded one by one so that a file of many envois needs memory for one envoi's
    declaration list at a time. ``runs`` says how lines are read: by default a line is looked at
    only when it can change the structure; the plain lines after it extend the same span
    (:mod:`gateway.parse.runs`).
    """
    index = FileIndex(name)
    envoi: EnvoiIndex | None = None
    declaration: DeclarationSpan | None = None
    in_footer = False
    last: RawLine | Tail | None = None

    def close(reason: str) -> EnvoiIndex:
        nonlocal envoi, declaration, in_footer
        done = envoi
        done.closed_by = "S90" if in_footer else reason
        envoi, declaration, in_footer = None, None, False
        return done

    for raw, tail in runs(fh):
        last = tail or raw
        prefix = raw.data[:3]
        oversize = raw.length > MAX_LINE
        binary = _NUL in raw.data
        if prefix in R.ENVELOPE_PREFIXES:
            if envoi is not None:
                yield close("envelope")
            _extend(index.envelope, raw)
            continue
        if prefix == b"S10":
            if envoi is not None and (in_footer or declaration is not None):
                yield close("next envoi")
            if envoi is None:
                index.envois += 1
                envoi = EnvoiIndex(index.envois, Span(raw.offset, raw.offset, raw.number, raw.number))
            _grow(envoi.header, raw)
            _mark(envoi, raw, oversize, binary)
            if not oversize and raw.data[:14] in _ENVOI_VALUES:
                _keep_value(envoi, raw)
            continue
        if envoi is None:
            _extend(index.orphans, raw, tail)
            continue
        if prefix == b"S90":
            if envoi.footer is None:
                envoi.footer = Span(raw.offset, raw.offset, raw.number, raw.number)
            _grow(envoi.footer, raw)
            _mark(envoi, raw, oversize, binary)
            in_footer, declaration = True, None
            if not oversize:
                _keep_value(envoi, raw)
            continue
        if in_footer:
            yield close("S90")
            _extend(index.orphans, raw, tail)
            continue
        if raw.data.startswith(b"S20.G00.05.001,"):
            pair = _value(raw)
            declaration = DeclarationSpan(Span(raw.offset, raw.offset, raw.number, raw.number),
                                          sys.intern(pair[1]) if pair else "")     # a few codes, shared
            envoi.declarations.append(declaration)
        if declaration is not None and not declaration.type and raw.data.startswith(b"S20.G00.05.002,"):
            pair = _value(raw)
            declaration.type = sys.intern(pair[1]) if pair else ""
        if declaration is None:
            _grow(envoi.header, tail or raw)
            _mark(envoi, raw, oversize, binary)
            continue
        _grow(declaration.span, tail or raw)
        if oversize and len(declaration.oversize_lines) < MAX_MARKED:
            declaration.oversize_lines += (raw.number,)
        if binary and len(declaration.binary_lines) < MAX_MARKED:
            declaration.binary_lines += (raw.number,)
    if envoi is not None:
        yield close("end of file")
    if last is not None:
        _file_totals(index, fh, last)
    yield index


def _keep_value(envoi: EnvoiIndex, raw: RawLine) -> None:
    """An envoi header's or footer's value the file rules read (norm, test flag, totals)."""
    pair = _value(raw)
    if pair:
        envoi.values[pair[0]] = pair[1]


def _file_totals(index: FileIndex, fh: BinaryIO, last: RawLine | Tail) -> None:
    index.lines = last.number
    fh.seek(0, 2)
    index.size = fh.tell()
    fh.seek(-1, 2)
    index.ends_without_newline = fh.read(1) != b"\n"


def _mark(envoi: EnvoiIndex, raw: RawLine, oversize: bool, binary: bool) -> None:
    if oversize and len(envoi.oversize_lines) < MAX_MARKED:
        envoi.oversize_lines.append(raw.number)
    if binary and len(envoi.binary_lines) < MAX_MARKED:
        envoi.binary_lines.append(raw.number)
