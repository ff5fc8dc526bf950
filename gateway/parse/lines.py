"""The one tokenizer shared by DSN and PASRAU: bytes -> (line number, rubric, value).

A line is ``Sxx.Gyy.zz.aaa,'value'`` ended by LF or CR LF, at most 256 characters, Latin-1.
The value is everything between the first ``,'`` and the last ``'`` (apostrophes are legal
inside values and are not escaped). Lines are read in large chunks so that a line of any
length costs bounded memory: past ``KEEP`` bytes only its length is tracked.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import BinaryIO, Iterator, NamedTuple

import numpy as np
import pyarrow as pa

MAX_LINE = 256
KEEP = 1024                      # bytes of an over-long line kept (enough to name its rubric)
CHUNK = 1 << 20

_GRAMMAR = re.compile(rb"(S[0-9]{2}\.G[0-9]{2}\.[0-9]{2}\.[0-9]{3}),'(.*)'", re.S)
_FORBIDDEN = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_MANGLED = re.compile(rb"\xef\xbf\xbd|[\xc2\xc3][\x80-\xbf]")
# clean_lines: the bytes a line may hold (all but _FORBIDDEN's; LF separates lines), and the first 16 bytes of
# a rubric line: "S", "G", dots, the comma and the quote as they are, digits where _DIGIT_AT says so.
_ALLOWED = bytes(b for b in range(256) if b == 10 or not _FORBIDDEN.match(bytes([b])))
_FORBIDDEN_BYTE = np.array([b != 10 and b not in _ALLOWED for b in range(256)])
_HEAD = np.frombuffer(b"S00.G00.00.000,'", dtype=np.uint8)
_DIGIT_AT = np.array([c == ord("0") for c in b"S00.G00.00.000,'"])
_QUOTE = ord("'")


class Defect(str, enum.Enum):
    MALFORMED = "MALFORMED"          # not Sxx.Gyy.zz.aaa,'value'
    TOO_LONG = "TOO_LONG"            # over 256 characters
    FORBIDDEN_BYTES = "FORBIDDEN_BYTES"  # control characters, NUL, C1 range
    MANGLED_UTF8 = "MANGLED_UTF8"    # UTF-8 sequences in a Latin-1 file (warning)


@dataclass(frozen=True, slots=True)
class RawLine:
    number: int        # 1-based line number in the file
    offset: int        # byte offset of the line start
    data: bytes        # without the line end; cut at KEEP bytes when longer
    length: int        # true length without the line end
    end: int           # byte offset just past the line end (LF or CR LF): where the next line starts


class Token(NamedTuple):
    """A rubric line: plain tuples of the same shape are accepted wherever a Token is."""

    number: int
    rubric: str
    value: str


def iter_raw_lines(fh: BinaryIO, *, start_offset: int = 0, first_number: int = 1,
                   limit: int | None = None) -> Iterator[RawLine]:
    """Lines of a binary stream from its current position; ``limit`` bytes at most.

    ``RawLine.length`` excludes the line end (LF or CR LF); ``offset`` is absolute when
    ``start_offset`` is the stream position the read starts at.
    """
    number, offset = first_number, start_offset
    carry, carry_len, carry_last = b"", 0, b""
    remaining = limit
    while True:
        size = CHUNK if remaining is None else min(CHUNK, remaining)
        data = fh.read(size) if size > 0 else b""
        if remaining is not None:
            remaining -= len(data)
        if not data:
            break
        parts = data.split(b"\n")
        last = len(parts) - 1
        for index, part in enumerate(parts):
            if index == last:
                if part:
                    if carry_len < KEEP:
                        carry += part[: KEEP - carry_len]
                    carry_len += len(part)
                    carry_last = part[-1:]
                break
            raw_len = carry_len + len(part)
            yield finished_line(number, offset, carry + part if carry_len else part, raw_len,
                                part[-1:] if part else carry_last)
            offset += raw_len + 1
            number += 1
            carry, carry_len, carry_last = b"", 0, b""
    if carry_len:
        yield finished_line(number, offset, carry, carry_len, carry_last)


def finished_line(number: int, offset: int, head: bytes, raw_len: int, last_byte: bytes) -> RawLine:
    """A line whose first bytes are ``head`` (at least its first KEEP, or all of it), ``raw_len`` bytes long
    with a CR if ``last_byte`` is one, but without its LF: CR dropped, data cut at KEEP bytes."""
    ends_cr = last_byte == b"\r"
    length = raw_len - (1 if ends_cr else 0)
    line = head[:KEEP]
    if ends_cr and len(line) > length:
        line = line[:length]
    return RawLine(number, offset, line, length, offset + raw_len + 1)


def line_bounds(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and LF offsets of each line of ``data`` (bytes as uint8, every line ended by LF)."""
    ends = np.flatnonzero(data == 10)
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return starts, ends


def line_heads(data: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The first ``width`` bytes of each line of ``data`` starting at ``starts`` (each at least that long), a row per
    line: rows of a sliding window over the bytes, gathered at once (no index per byte, 2-3x less than
    ``data[starts[:, None] + offsets]``)."""
    if not len(starts):
        return np.empty((0, width), dtype=data.dtype)
    return np.lib.stride_tricks.sliding_window_view(data, width)[starts]


def distinct_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What ``np.unique(keys, return_index=True, return_inverse=True)`` gives after the distinct keys: each distinct
    key's first position and each key's index among the distinct keys in ascending order, found by hashing
    (Arrow's dictionary encoding, in first-seen order) then ranking the few distinct keys, not by sorting every
    key (~1.5 against ~6.5 ms for 150,000 lines of a few hundred rubrics)."""
    if not len(keys):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    encoded = pa.array(keys).dictionary_encode()
    seen = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(encoded.dictionary.to_numpy(zero_copy_only=False), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    which = rank[seen]
    first = np.empty(len(order), dtype=np.int64)
    first[which[::-1]] = np.arange(len(which) - 1, -1, -1)        # the last write at a place is its first key
    return first, which


def clean_lines(text: bytes) -> bool:
    """True when every line of ``text`` (LF-ended) is a well-formed rubric line with no defect at all.

    Checked over the whole block of text at once, so that the common case costs a few C-level scans
    instead of several regex calls per line: the bytes no line may hold are found by deleting all the
    others (``bytes.translate``), mangled UTF-8 needs a byte above 127 (then looked for over arrays,
    :func:`mangled_starts`: a regex scan of Latin-1 text costs ~10 ns a byte), and every line's length,
    first 16 bytes (``Sxx.Gyy.zz.aaa,'``) and last byte are compared as numpy arrays.
    """
    return clean_heads(text) is not None


def clean_heads(text: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`clean_lines`, giving what it found when it holds: each line's start and first 16 bytes (a row per
    line), which the reader of clean lines needs next (``gateway.parse.together``); None when a line is not clean."""
    if not text.endswith(b"\n") or text.translate(None, _ALLOWED):
        return None
    data = np.frombuffer(text, dtype=np.uint8)
    if not text.isascii() and len(mangled_starts(data)):
        return None
    starts, ends = line_bounds(data)
    lengths = ends - starts
    if lengths.min() < 17 or lengths.max() > MAX_LINE or (data[ends - 1] != _QUOTE).any():
        return None
    heads = line_heads(data, starts, len(_HEAD))
    return (starts, heads) if ((heads == _HEAD) | (_DIGIT_AT & (heads - 48 < 10))).all() else None


def clean_mask(text: bytes) -> np.ndarray:
    """For each line of ``text`` (LF-ended), whether it is a well-formed rubric line with no defect at all:
    the checks of :func:`clean_lines` line by line, so that a declaration with a few bad lines tokenizes only
    those one by one."""
    data = np.frombuffer(text, dtype=np.uint8)
    starts, ends = line_bounds(data)
    lengths = ends - starts
    clean = (lengths >= 17) & (lengths <= MAX_LINE)
    clean[clean] &= data[ends[clean] - 1] == _QUOTE
    heads = line_heads(data, starts[clean], len(_HEAD))
    clean[clean] &= ((heads == _HEAD) | (_DIGIT_AT & (heads - 48 < 10))).all(axis=1)
    bad = np.flatnonzero(_FORBIDDEN_BYTE[data])
    if not text.isascii():
        bad = np.concatenate([bad, mangled_starts(data)])
    clean[np.searchsorted(ends, bad)] = False          # the line holding each bad byte (its LF is at or after it)
    return clean


def mangled_starts(data: np.ndarray) -> np.ndarray:
    """Where each match of ``_MANGLED`` (UTF-8 read as Latin-1) starts in ``data``, found over arrays: a lead byte
    C2 or C3 followed by a byte 80-BF, or EF BF BD. No match can start inside another (none of their later bytes is
    a lead byte), so these are exactly the starts ``_MANGLED.finditer`` gives."""
    size = len(data)
    lead = np.flatnonzero((data[:-1] == 0xC2) | (data[:-1] == 0xC3))
    follow = data[lead + 1]
    pairs = lead[(follow >= 0x80) & (follow <= 0xBF)]
    ef = np.flatnonzero(data[:-2] == 0xEF) if size > 2 else np.empty(0, dtype=np.int64)
    triples = ef[(data[ef + 1] == 0xBF) & (data[ef + 2] == 0xBD)]
    return np.sort(np.concatenate([pairs, triples])).astype(np.int64)


def tokenize(raw: RawLine) -> tuple[Token | None, list[Defect]]:
    """One line -> its token (None if unusable) and its defects."""
    defects: list[Defect] = []
    if raw.length > MAX_LINE:
        defects.append(Defect.TOO_LONG)
    data = raw.data
    if _FORBIDDEN.search(data):
        defects.append(Defect.FORBIDDEN_BYTES)
    match = _GRAMMAR.fullmatch(data)
    if match is None:
        defects.append(Defect.MALFORMED)
        return None, defects
    if _MANGLED.search(match.group(2)):
        defects.append(Defect.MANGLED_UTF8)
    if defects and defects != [Defect.MANGLED_UTF8]:
        return None, defects
    return Token(raw.number, match.group(1).decode("ascii"), match.group(2).decode("latin-1")), defects
