"""A declaration too big to hold as one block tree, read as its head and parts cut where an individual starts.

A big employer's monthly DSN lists hundreds of thousands of people (tens of millions of lines); its block
tree would take gigabytes. Such a declaration is read in parts with bounded memory: a scan finds where it
can be cut, its digest, and the value counts the rules need over the whole declaration (a NIR declared
twice); each part is then parsed after the head (the lines before the first individual), so that it sees
the declarant, the establishment and the header as the whole declaration does.

Parsed after the head, a part builds exactly the instances the whole declaration builds for its lines when:
- the head is one tree with an open parent instance for the individuals, and none of that parent's blocks
  in the head is one the norm places after the individuals (the order rule would flag each part's first);
- every line between the head and a cut belongs to an individual or a block below one: the instances open
  at the cut are then the head's. Cutting stops at the first line that does not (a block out of place);
- the norm sets no upper bound on the number of individuals.
The scan checks these; otherwise (or when the declaration is not big) the declaration is read whole.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.blocks import build_blocks_from_columns, columns_of
from gateway.parse.declaration import ParsedDeclaration, declaration_text, flow_of, norm_for, tokens_of
from gateway.parse.index import DeclarationSpan, Span
from gateway.parse.norm import NormCatalogue

WINDOW_LINES = 100_000          # a declaration of more lines is read in parts of about this many lines
WINDOW_PEOPLE = 10_000          # ... and of at most this many people (one-line people: memory follows instances)
_CHUNK = 1 << 22                # bytes read at a time by the scan
COUNTED = (R.NIR, R.NTT)        # rubrics whose value counts over the whole declaration rules ask for


@dataclass(frozen=True, slots=True)
class Parts:
    """Where a declaration is cut: its head and its parts (byte and line ranges), and what was counted."""

    head: Span
    parts: tuple[Span, ...]
    digest: str
    counts: dict[str, Counter]


def _pieces(fh: BinaryIO, span: Span) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, first line number, bytes) of ``span`` in pieces of whole lines."""
    fh.seek(span.start)
    offset, line, remaining, carry = span.start, span.first_line, span.end - span.start, b""
    while remaining > 0:
        data = fh.read(min(_CHUNK, remaining))
        if not data:
            break
        remaining -= len(data)
        data = carry + data
        cut = data.rfind(b"\n") + 1 if remaining > 0 else len(data)
        piece, carry = data[:cut], data[cut:]
        if piece:
            yield offset, line, piece
            offset += len(piece)
            line += piece.count(b"\n")
    if carry:
        yield offset, line, carry


def plan_parts(fh: BinaryIO, span: DeclarationSpan, norm: NormCatalogue | None, window_lines: int = WINDOW_LINES,
               counted: Iterable[str] = COUNTED, window_people: int = WINDOW_PEOPLE) -> Parts | None:
    """How to read a declaration in parts of about ``window_lines`` lines; None to read it whole."""
    whole = span.span
    if whole.lines <= window_lines or norm is None or span.oversize_lines or span.binary_lines:
        return None
    spec = norm.blocks.get(R.INDIVIDUAL)
    if spec is None or spec.max_occurs is not None:
        return None
    inside = _block_table(norm.descendants.get(R.INDIVIDUAL, frozenset()) | {R.INDIVIDUAL})
    person = np.frombuffer(R.INDIVIDUAL.encode("ascii"), dtype="S10")[0]
    counted = tuple(counted)
    keys = {rubric: np.frombuffer(rubric.encode("ascii"), dtype="S14")[0] for rubric in counted}
    counts: dict[str, Counter] = {rubric: Counter() for rubric in counted}
    digest = hashlib.sha256()
    head_tokens: tuple[list, list, list] = ([], [], [])
    head_end: tuple[int, int] | None = None           # (byte offset, line) of the first individual
    cuts: list[tuple[int, int]] = []                   # (byte offset, line) where each later part starts
    cutting = True
    people = 1                                         # individuals since the last cut (the first one included)
    previous = (b"", -1)                               # block and rubric number of the token before a piece
    for offset, first, data in _pieces(fh, whole):
        text = declaration_text(data)
        digest.update(text)
        numbers, rubrics, values, _ = tokens_of(text, first)
        if not rubrics:
            continue
        codes = np.frombuffer("".join(rubrics).encode("ascii"), dtype="S14")
        for rubric, key in keys.items():
            counts[rubric].update(value for i in np.flatnonzero(codes == key).tolist() if (value := values[i]))
        blocks = codes.astype("S10")
        letters = np.frombuffer(codes.tobytes(), dtype=np.uint8).reshape(-1, 14)
        digits = letters[:, 11:14].astype(np.int16) - 48
        number = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
        before_block = np.concatenate([[previous[0]], blocks[:-1]]).astype("S10")
        before_number = np.concatenate([[previous[1]], number[:-1]])
        starts = (blocks == person) & ((before_block != person) | (number <= before_number))
        previous = (blocks[-1], int(number[-1]))
        begin = 0
        if head_end is None:
            found = np.flatnonzero(blocks == person)
            stop = int(found[0]) if found.size else len(rubrics)
            head_tokens[0].extend(numbers[:stop])
            head_tokens[1].extend(rubrics[:stop])
            head_tokens[2].extend(values[:stop])
            if len(head_tokens[0]) > window_lines:
                return None                            # a head this big is read whole
            if not found.size:
                continue
            head_end = (_offset_of(data, offset, first, numbers[stop]), numbers[stop])
            begin = stop + 1
        if not cutting:
            continue
        outside = np.flatnonzero(~_inside(letters[begin:], inside))
        end = begin + int(outside[0]) if outside.size else len(rubrics)
        cutting = not outside.size
        for i in (begin + np.flatnonzero(starts[begin:end])).tolist():
            line = numbers[i]
            people += 1
            if line - (cuts[-1][1] if cuts else head_end[1]) >= window_lines or people > window_people:
                cuts.append((_offset_of(data, offset, first, line), line))
                people = 1
    if head_end is None or not cuts or not _head_holds_people(head_tokens, head_end[1], norm):
        return None
    head = Span(whole.start, head_end[0], whole.first_line, head_end[1] - 1)
    starts_at = [head_end, *cuts]
    parts = tuple(Span(start, next_start, line, next_line - 1)
                  for (start, line), (next_start, next_line) in zip(starts_at, starts_at[1:]))
    parts += (Span(cuts[-1][0], whole.end, cuts[-1][1], whole.last_line),)
    return Parts(head, parts, digest.hexdigest(), counts)


def _offset_of(data: bytes, offset: int, first: int, line: int) -> int:
    """Byte offset of line number ``line`` in a piece starting at ``offset`` with line ``first``."""
    if line == first:
        return offset
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    return offset + int(ends[line - first - 1]) + 1


_PREFIX = np.frombuffer(b"S21.G00.", dtype=np.uint8)


def _block_table(blocks: set[str] | frozenset[str]) -> np.ndarray:
    """Which S21.G00.NN blocks are in ``blocks``, indexed by NN (the blocks a person holds are all S21.G00)."""
    table = np.zeros(100, dtype=bool)
    for block in blocks:
        if block.startswith("S21.G00.") and block[8:].isdigit():
            table[int(block[8:])] = True
    return table


def _inside(letters: np.ndarray, table: np.ndarray) -> np.ndarray:
    """For rubric codes (``Sxx.Gyy.zz.aaa``, as rows of bytes): is the block one of the table's."""
    number = (letters[:, 8].astype(np.int16) - 48) * 10 + letters[:, 9].astype(np.int16) - 48
    return (letters[:, :8] == _PREFIX).all(axis=1) & table[number]


def _head_holds_people(tokens: tuple[list, list, list], line: int, norm: NormCatalogue) -> bool:
    """The head is one tree where an individual starting at ``line`` finds its parent, in norm order."""
    numbers, rubrics, values = tokens
    roots, _, columns = build_blocks_from_columns(
        [*numbers, line], [*rubrics, R.INDIVIDUAL + ".001"], [*values, ""], norm)
    individual = columns.instances[-1]
    if len(roots) != 1 or individual.parent is None:
        return False
    order = norm.blocks[R.INDIVIDUAL].order
    return all(spec.order <= order for child in individual.parent.children[:-1]
               if (spec := norm.blocks.get(child.block)) is not None)


def read_parts(fh: BinaryIO, file: str, span: DeclarationSpan, envoi_number: int, norm_version: str | None,
               parts: Parts) -> Iterator[tuple[Span, ParsedDeclaration]]:
    """Each part with the head, parsed as a declaration of its own that shares the whole one's span, digest
    and declaration-wide memo (rules that report once per declaration, value counts)."""
    flow = flow_of(span.nature)
    norm = norm_for(flow, norm_version)
    fh.seek(parts.head.start)
    head = tokens_of(declaration_text(fh.read(parts.head.end - parts.head.start)), parts.head.first_line)
    shared: dict = {"in_parts": True, "value_counts": parts.counts}
    for part in parts.parts:
        fh.seek(part.start)
        text = declaration_text(fh.read(part.end - part.start))
        numbers, rubrics, values, defects = tokens_of(text, part.first_line)
        decl = ParsedDeclaration(file, span, envoi_number, norm_version, norm, flow, digest=parts.digest,
                                 shared=shared)
        decl.defects = [*head[3], *defects]
        decl.problems, decl.columns = columns_of(
            [*head[0], *numbers], [*head[1], *rubrics], [*head[2], *values], norm)
        yield part, decl
