"""Lines of a file as *runs*, found with numpy over large chunks instead of one Python step per line.

The first pass (:mod:`gateway.parse.index`) only needs to look at a line on its own when it
changes something: an envelope, S10 or S90 line, a declaration's first rubrics, a line that is
too short, too long or holds a NUL byte. Every other line just extends the span the line before
it was added to. :func:`iter_line_runs` therefore yields ``(raw, tail)``: ``raw`` is a line to
look at, and ``tail`` (or None) describes the plain lines that follow it and go wherever ``raw``
went. :func:`iter_single_runs` yields every line as its own run: the straightforward path, which
tests compare the fast one against.

Memory is bounded as in :func:`gateway.parse.lines.iter_raw_lines`: chunks of ``CHUNK`` bytes,
and past ``KEEP`` bytes only the length of a line is tracked.
"""
from __future__ import annotations

from typing import BinaryIO, Iterator, NamedTuple

import numpy as np

from gateway.parse import rubrics as R
from gateway.parse.lines import KEEP, MAX_LINE, RawLine, finished_line, iter_raw_lines, line_bounds

CHUNK = 256 << 10           # at most 256 k lines at once: the per-line arrays stay a few MB
_SHORT = 16                     # shorter lines cannot be a plain rubric line: looked at one by one
_DECLARATION_START = (b".G00.05.001,", b".G00.05.002,")   # after "S20": read by the index


class Tail(NamedTuple):
    """The last of the plain lines following a looked-at line (they extend the same span)."""

    number: int
    offset: int
    length: int
    end: int        # byte offset just past the line end (LF or CR LF)


def _prefix_code(prefix: bytes) -> int:
    return prefix[0] << 16 | prefix[1] << 8 | prefix[2]


_STRUCTURAL = tuple(_prefix_code(p) for p in (*R.ENVELOPE_PREFIXES, b"S10", b"S90"))
_S20 = _prefix_code(b"S20")


def iter_single_runs(fh: BinaryIO) -> Iterator[tuple[RawLine, Tail | None]]:
    """Every line on its own (the reference the fast path is tested against)."""
    return ((raw, None) for raw in iter_raw_lines(fh))


def iter_line_runs(fh: BinaryIO) -> Iterator[tuple[RawLine, Tail | None]]:
    """The lines of a binary stream as runs; same RawLines as ``iter_raw_lines`` for looked-at lines."""
    number, offset = 1, 0
    head, head_len, head_last = b"", 0, b""      # an unfinished line: first KEEP bytes, true length, last byte
    while True:
        data = fh.read(CHUNK)
        if not data:
            break
        cut = data.find(b"\n")
        if cut < 0:
            if head_len < KEEP:
                head += data[: KEEP - head_len]
            head_len += len(data)
            head_last = data[-1:]
            continue
        if head_len:
            part = data[:cut]
            if head_len < KEEP:
                head += part[: KEEP - head_len]
            raw_len = head_len + len(part)
            yield finished_line(number, offset, head, raw_len, part[-1:] if part else head_last), None
            offset += raw_len + 1
            number += 1
            head, head_len, head_last = b"", 0, b""
            data = data[cut + 1:]
        last = data.rfind(b"\n")
        if last >= 0:
            whole = data[: last + 1]
            yield from _runs(whole, number, offset)
            number += whole.count(b"\n")
            offset += len(whole)
            data = data[last + 1:]
        if data:
            head, head_len, head_last = data[:KEEP], len(data), data[-1:]
    if head_len:
        yield finished_line(number, offset, head, head_len, head_last), None


def _runs(whole: bytes, number: int, offset: int) -> Iterator[tuple[RawLine, Tail | None]]:
    """Runs of ``whole`` (complete lines, each ended by LF) whose first line is ``number`` at ``offset``."""
    buf = np.frombuffer(whole, dtype=np.uint8)
    starts, ends = line_bounds(buf)
    raw_len = ends - starts
    ends_cr = (raw_len > 0) & (buf[np.maximum(ends - 1, 0)] == 13)
    length = raw_len - ends_cr
    short = length < _SHORT
    at = np.where(short, 0, starts)                       # short lines are looked at anyway
    top = len(buf) - 1
    prefix = (buf[at].astype(np.int64) << 16 | buf[np.minimum(at + 1, top)].astype(np.int64) << 8
              | buf[np.minimum(at + 2, top)])
    look = short | (length > MAX_LINE)
    for code in _STRUCTURAL:                              # a few codes: one comparison each (isin sorts)
        look |= prefix == code
    nul = np.flatnonzero(buf == 0)
    if nul.size:
        look[np.searchsorted(ends, nul)] = True
    s20 = np.flatnonzero(~look & (prefix == _S20))
    if s20.size:
        tails = buf[starts[s20][:, None] + np.arange(3, 15)]
        for marker in _DECLARATION_START:
            look[s20[(tails == np.frombuffer(marker, dtype=np.uint8)).all(axis=1)]] = True
    # A run starts at every looked-at line and at every plain line that follows a looked-at one.
    first = look.copy()
    first[1:] |= look[:-1]
    first[0] = True
    heads = np.flatnonzero(first)
    lasts = np.empty_like(heads)
    lasts[:-1] = heads[1:] - 1
    lasts[-1] = len(ends) - 1
    # Python ints for the runs' first and last lines, converted once per chunk (not one numpy scalar at a time).
    head_start, head_size, head_end = starts[heads].tolist(), length[heads].tolist(), (ends[heads] + 1).tolist()
    last_start, last_size, last_end = starts[lasts].tolist(), length[lasts].tolist(), (ends[lasts] + 1).tolist()
    for i, (h, t) in enumerate(zip(heads.tolist(), lasts.tolist())):
        start, size = head_start[i], head_size[i]
        raw = RawLine(number + h, offset + start, whole[start: start + min(size, KEEP)], size, offset + head_end[i])
        yield raw, (Tail(number + t, offset + last_start[i], last_size[i], offset + last_end[i]) if t > h else None)
