"""Declarations read together: the texts of several declarations (of one file or of many small files) tokenized
and given their block tree as arrays in one pass over one buffer, instead of one pass per declaration.

A run's worker takes declarations in batches of about ``gateway.ingest.TASK_LINES`` lines; most are clean (every
line a plain rubric line) and many are small (an employer of a few employees: a few hundred lines). Read one by
one, each pays the fixed cost of the array passes that cut its lines and find its blocks (``read_declaration``:
~150 µs, half of a small declaration's reading). Here the declarations of a batch are put end to end, one buffer
per norm catalogue, and cut, keyed and structured at once (:func:`gateway.parse.blocks.block_structure`'s steps over
the buffer, a declaration's first line always opening a block instance and no parent found across two
declarations). Each declaration is then handed out as :func:`read_declaration` gives it: the same tokens, the same
tree arrays, the same digest; and with its place among the tokens read together (:class:`Together`), so that a
check whose result for a value depends on the value alone (the value pass, ``gateway.validate.columns``) is made
once over all of them.

Only what is certain to come out equal is read here: a declaration whose lines are all clean
(:func:`gateway.parse.lines.clean_mask`), whose norm is known, whose rubrics the norm knows and whose blocks all
find their parent. Any other (a defect to report, an over-long or binary line, a declaration read in parts) is
left to :func:`read_declaration` (``None`` in its place), the reference ``tests/gateway/parse/test_together.py``
compares this with on the conformance corpus, generated flows with defects and mutated text with random line
ends.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from gateway.parse import rubrics as R
from gateway.parse.blocks import BlockStructure, Columns, parents_of
from gateway.parse.declaration import ParsedDeclaration, declaration_text, flow_of, norm_for
from gateway.parse.index import DeclarationSpan
from gateway.parse.lines import clean_heads, clean_mask, distinct_codes, line_bounds, line_heads
from gateway.parse.norm import NormCatalogue
from gateway.storage import open_input

# The digits of a plain rubric code "Sdd.Gdd.dd.ddd": its block's six, then its number's three.
_DIGITS = np.array([1, 2, 5, 6, 8, 9, 11, 12, 13])
_BLOCK_WEIGHTS = 10 ** np.arange(5, -1, -1, dtype=np.int32)
_NUMBER_WEIGHTS = np.array([100, 10, 1], dtype=np.int32)


class Piece(NamedTuple):
    """One declaration to read: where it is and what the index knows of it (``gateway.ingest.DeclarationTask``)."""

    path: str
    file: str
    envoi_number: int
    norm_version: str | None
    span: DeclarationSpan


@dataclass(eq=False)
class Together:
    """The tokens of declarations read together (one norm catalogue), end to end: what a later stage may check over
    all of them at once rather than declaration by declaration (``gateway.validate.columns``: the value pass), each
    declaration's share found by its place (``ParsedDeclaration.together``: this, and its index in ``firsts``).
    Tokens of a declaration left to the reference are in it too; nothing is handed out for them."""

    norm: NormCatalogue
    rubrics: list[str]
    values: list[str]
    codes: list[str]             # the distinct rubric codes, in code order
    which: np.ndarray            # each token's code (index into ``codes``)
    firsts: np.ndarray           # each declaration's first token, and the end
    line_numbers: np.ndarray     # each token's line in its file
    cache: dict = field(default_factory=dict)     # what a stage computed for all of them (memo)
    # The block tree of all of them as one (instances of every declaration end to end, no parent across two), and
    # the declarations handed out (None: left to the reference): what a check of the group as a whole reads.
    structure: BlockStructure | None = None
    members: list[ParsedDeclaration | None] = field(default_factory=list)

    def by_rubric(self) -> dict[str, np.ndarray]:
        """rubric -> the positions of its tokens, in document order (what ``Columns.by_rubric`` gives a declaration);
        made once (the value pass and the group's certificates both read it)."""
        found = self.cache.get("by_rubric")
        if found is None:
            order = np.argsort(self.which.astype(np.uint16) if len(self.codes) <= 1 << 16 else self.which,
                               kind="stable")
            bounds = np.concatenate(([0], np.cumsum(np.bincount(self.which, minlength=len(self.codes))))).tolist()
            found = self.cache["by_rubric"] = {code: order[start:end] for code, start, end
                                               in zip(self.codes, bounds[:-1], bounds[1:]) if end > start}
        return found

    def value_array(self) -> np.ndarray:
        """The values as an array of objects (a column's values taken in one call), made once for the value pass,
        the group's certificates and each member's (``gateway.validate.columns.value_array``: a slice of it)."""
        found = self.cache.get("value_array")
        if found is None:
            found = self.cache["value_array"] = np.array(self.values, dtype=object)
        return found


def norm_of(piece: Piece) -> NormCatalogue | None:
    """The catalogue ``piece`` is read with, or None when it may not be read here at all (no known norm, an
    over-long or binary line)."""
    span = piece.span
    if span.oversize_lines or span.binary_lines or span.span.lines <= 0:
        return None
    return norm_for(flow_of(span.nature), piece.norm_version)


def read_together(pieces: Sequence[Piece]) -> list[ParsedDeclaration | None]:
    """Each piece's declaration as :func:`gateway.parse.declaration.read_declaration` reads it, or None where it is
    left to that function (module docstring). The pieces' files are opened once each, in turn."""
    texts: list[bytes | None] = []
    groups: dict[tuple[NormCatalogue, tuple], list[int]] = {}
    handle, opened = None, None
    try:
        for index, piece in enumerate(pieces):
            norm = norm_of(piece)
            if norm is None:
                texts.append(None)
                continue
            if piece.path != opened:
                if handle is not None:
                    handle.close()
                handle, opened = open_input(piece.path), piece.path
            whole = piece.span.span
            handle.seek(whole.start)
            text = declaration_text(handle.read(whole.end - whole.start))
            texts.append(text)
            groups.setdefault((norm, header_key(text)), []).append(index)
    finally:
        if handle is not None:
            handle.close()
    out: list[ParsedDeclaration | None] = [None] * len(pieces)
    for (norm, _), members in groups.items():
        for index, parsed in zip(members, _read_group([pieces[i] for i in members], [texts[i] for i in members], norm)):
            out[index] = parsed
    return out


_HEADER_LINES = tuple(f"{rubric},'".encode("ascii") for rubric in (R.NATURE, R.MAIN_MONTH))


def header_key(text: bytes) -> tuple[bytes | None, ...]:
    """What a declaration's text says of its nature and main month, read from the first line of each (raw bytes, not
    checked): declarations are read together with those that say the same, so that a group's certificates that read
    the nature or the main month (``gateway.validate.certify.GroupColumns``) hold for all of them at once. A group
    still finds its header from its members' arrays; a key that differs from it only costs a group that is not one."""
    key = []
    for line in _HEADER_LINES:
        if text.startswith(line):
            at = 0
        else:
            found = text.find(b"\n" + line)
            at = found + 1 if found >= 0 else -1            # -1: no such line
        key.append(None if at < 0 else text[at + len(line):text.find(b"\n", at)])
    return tuple(key)


def _read_group(pieces: list[Piece], texts: list[bytes], norm: NormCatalogue) -> list[ParsedDeclaration | None]:
    """The declarations of one norm catalogue: those with a line that is not clean are left to the reference, the
    others cut and structured over one buffer."""
    counts = np.fromiter((text.count(b"\n") for text in texts), dtype=np.int64, count=len(texts))
    firsts = np.concatenate(([0], np.cumsum(counts)))          # each declaration's first line in the buffer
    buffer = b"".join(texts)
    found = clean_heads(buffer)                                 # the common case, checked at the least cost
    if found is not None:
        return _structured(pieces, texts, norm, buffer, firsts, *found)
    clean = clean_mask(buffer)
    whole = (np.add.reduceat(clean.astype(np.int64), firsts[:-1]) == counts).tolist()
    kept = [index for index, fits in enumerate(whole) if fits]
    out: list[ParsedDeclaration | None] = [None] * len(texts)
    if kept:
        firsts = np.concatenate(([0], np.cumsum(counts[kept])))
        found = _structured([pieces[i] for i in kept], [texts[i] for i in kept], norm,
                            b"".join(texts[i] for i in kept), firsts)
        for index, parsed in zip(kept, found):
            out[index] = parsed
    return out


def _structured(pieces: list[Piece], texts: list[bytes], norm: NormCatalogue, buffer: bytes, firsts: np.ndarray,
                starts: np.ndarray | None = None, heads: np.ndarray | None = None) -> list[ParsedDeclaration | None]:
    """Clean declarations put end to end in ``buffer`` (``firsts``: where each one's lines start, and the end);
    ``starts`` and ``heads``: each line's start and first bytes, when the check of the buffer found them already."""
    if starts is None or heads is None:
        data = np.frombuffer(buffer, dtype=np.uint8)
        starts, _ = line_bounds(data)
        heads = line_heads(data, starts, 14)                    # every line is at least 17 bytes
    digits = heads[:, _DIGITS].astype(np.int32) - 48
    block = digits[:, :6] @ _BLOCK_WEIGHTS
    number = digits[:, 6:] @ _NUMBER_WEIGHTS
    rubrics, known, codes, which = _rubrics(buffer, starts, block * 1000 + number, norm)
    values = clean_values(buffer, starts)
    starting = np.fromiter((piece.span.span.first_line for piece in pieces), dtype=np.int64, count=len(pieces))
    line_numbers = np.arange(len(rubrics), dtype=np.int64) + np.repeat(starting - firsts[:-1], np.diff(firsts))
    together = Together(norm, rubrics, values, codes, which, firsts, line_numbers)
    # block instances: a new one where the block changes, its rubric numbers do not increase, or a declaration starts
    opens = np.ones(len(block), dtype=bool)
    opens[1:] = (block[1:] != block[:-1]) | (number[1:] <= number[:-1])
    opens[firsts[:-1]] = True
    instance_heads = np.flatnonzero(opens)
    first_kinds, kinds = distinct_codes(block[instance_heads])
    names = _block_names(buffer, starts, instance_heads, kinds, len(first_kinds))
    bounds = np.searchsorted(instance_heads, firsts)            # each declaration's first instance, and the end
    owner = np.repeat(np.arange(len(texts)), np.diff(bounds))
    parents, orphans = parents_of(kinds, names, norm, bounds[:-1][owner])
    orphaned = np.zeros(len(texts), dtype=bool)
    orphaned[owner[orphans]] = True
    out = []
    for index, (piece, text) in enumerate(zip(pieces, texts)):
        first, last = int(firsts[index]), int(firsts[index + 1])
        if orphaned[index] or not known[first:last].all():
            out.append(None)                   # problems to report: the reference reads them
            continue
        low, high = int(bounds[index]), int(bounds[index + 1])
        parsed = _declaration(piece, text, norm, rubrics[first:last], values[first:last],
                              instance_heads[low:high] - first, kinds[low:high], names, parents[low:high], low)
        parsed.together = (together, index)
        out.append(parsed)
    together.structure = BlockStructure(instance_heads, kinds, names, parents, np.empty(0, dtype=np.int64))
    together.members = out
    return out


def clean_values(buffer: bytes, starts: np.ndarray) -> list[str]:
    """The value of each clean line of ``buffer`` (``clean_heads``: the 16 bytes of a rubric code, comma and quote,
    then the value, a quote and LF; ``starts``: each line's first byte), as Latin-1 text: every line's head and
    closing quote masked out over the bytes at once, the values left one a line, then split in one call (~55 ns a
    line, against ~65 for a regex finding ",'(.*)'" on each line of the text, ~185 to split it line by line)."""
    if not len(starts):
        return []
    data = np.frombuffer(buffer, dtype=np.uint8)
    keep = np.ones(len(data), dtype=bool)
    # each line's 16 head bytes, as the rows at the lines' starts of a view of 16 bytes from every byte (a line is
    # at least 18 bytes long: no two rows overlap)
    as_strided(keep, shape=(len(data) - 15, 16), strides=(1, 1), writeable=True)[starts] = False
    keep[np.append(starts[1:], len(data)) - 2] = False                     # each line's closing quote
    values = data[keep].tobytes().decode("latin-1").split("\n")
    values.pop()                                          # after the last LF: nothing
    return values


def _block_names(buffer: bytes, starts: np.ndarray, instance_heads: np.ndarray, kinds: np.ndarray,
                 count: int) -> list[str]:
    """The code of each distinct block (in code order), read from one line of one of its instances."""
    where = np.empty(count, dtype=np.int64)
    where[kinds] = instance_heads                       # any instance of the block will do
    return [buffer[start:start + 10].decode("ascii") for start in starts[where].tolist()]


def _rubrics(buffer: bytes, starts: np.ndarray, keys: np.ndarray, norm: NormCatalogue
             ) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Each line's rubric code (one string per distinct code, shared by its lines), whether the norm knows it; the
    distinct codes (in code order) and each line's index among them."""
    first, which = distinct_codes(keys)
    codes = [buffer[start:start + 14].decode("ascii") for start in starts[first].tolist()]
    known = np.fromiter((code in norm.rubrics for code in codes), dtype=bool, count=len(codes))
    return np.array(codes, dtype=object)[which].tolist(), known[which], codes, which


def _declaration(piece: Piece, text: bytes, norm: NormCatalogue, rubrics: list[str], values: list[str],
                 heads: np.ndarray, kinds: np.ndarray, names: list[str], parents: np.ndarray,
                 offset: int) -> ParsedDeclaration:
    """One declaration out of its group's arrays: its own block names (those it holds, in code order) and
    positions counted from its first line and first instance."""
    present = np.flatnonzero(np.bincount(kinds, minlength=len(names)))     # its blocks, in code order
    local = np.full(len(names), -1, dtype=np.int64)
    local[present] = np.arange(len(present))
    span = piece.span
    parsed = ParsedDeclaration(piece.file, span, piece.envoi_number, piece.norm_version, norm, flow_of(span.nature))
    parsed.digest = hashlib.sha256(text).hexdigest()
    first = span.span.first_line
    parsed.columns = Columns(range(first, first + len(rubrics)), rubrics, values, BlockStructure(
        heads, local[kinds], [names[kind] for kind in present.tolist()], np.where(parents >= 0, parents - offset, -1),
        np.empty(0, dtype=np.int64)))
    return parsed


# Lines of declarations read together at most (and the largest declaration read so). A group's certificates and
# value pass cost a fixed ~1 ms of array calls each: 10,000 -> 100,000 took parse + validate + normalise at 4.87 M
# lines from 8.5 to 7.3 s (side by side), for a peak of 185 -> 196 MB.
READ_AHEAD = 100_000


class ReadAhead:
    """The declarations of a worker's batch, read together a few at a time as they are asked for in order
    (:meth:`take`): at most ``lines`` lines of them are held at once, so that memory follows ``lines`` and one
    declaration, as when each is read alone. A declaration over ``lines`` lines (or read in parts: over
    ``window_lines``) is not read here."""

    def __init__(self, pieces: Sequence[Piece], *, lines: int = READ_AHEAD, window_lines: int) -> None:
        self._pieces = pieces
        self._limit = min(lines, window_lines)
        self._ready: dict[int, ParsedDeclaration] = {}
        self._next = 0                       # the first piece not yet tried

    def take(self, index: int) -> ParsedDeclaration | None:
        """Piece ``index``'s declaration as :func:`read_declaration` reads it, or None when the caller is to read
        it (not read here, or left to the reference). Pieces are asked for in order, each once."""
        if index >= self._next:
            self._fill(index)
        return self._ready.pop(index, None)

    def _fill(self, start: int) -> None:
        chosen: list[int] = []
        size, index = 0, start
        while index < len(self._pieces) and size < self._limit:
            lines = self._pieces[index].span.span.lines
            if lines > self._limit:
                if not chosen:                 # read alone by the caller: go past it
                    index += 1
                    continue
                break
            if size + lines > self._limit:
                break
            chosen.append(index)
            size += lines
            index += 1
        self._next = max(index, start + 1)
        if len(chosen) > 1:                    # one declaration alone gains nothing here
            for position, parsed in zip(chosen, read_together([self._pieces[i] for i in chosen])):
                if parsed is not None:
                    self._ready[position] = parsed
