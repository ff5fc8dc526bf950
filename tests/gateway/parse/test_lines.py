import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.parse import lines as L
from gateway.parse.declaration import LineDefect, declaration_text, tokens_of
from gateway.parse.lines import Defect, clean_lines, clean_mask, iter_raw_lines, tokenize


def _tokens(data: bytes):
    return [tokenize(raw) for raw in iter_raw_lines(io.BytesIO(data))]


def test_value_runs_to_the_last_apostrophe_so_names_with_apostrophes_survive():
    """Apostrophes inside a value are not escaped: the value ends at the line's last quote."""
    [(token, defects)] = _tokens(b"S21.G00.30.002,'D'ALMEIDA'\n")
    assert token.value == "D'ALMEIDA" and defects == []


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_lf_and_crlf_line_ends_give_the_same_tokens(newline):
    """CR LF and LF are both line ends; neither leaks into the value."""
    data = newline.join([b"S10.G00.00.001,'A'", b"S10.G00.00.002,'B C'"]) + newline
    assert [(t.number, t.rubric, t.value) for t, _ in _tokens(data)] == [
        (1, "S10.G00.00.001", "A"), (2, "S10.G00.00.002", "B C")]


def test_values_are_read_as_latin1():
    """A Latin-1 'é' (0xE9) decodes as é, with no warning."""
    [(token, defects)] = _tokens("S21.G00.40.006,'Préparateur'\n".encode("latin-1"))
    assert token.value == "Préparateur" and defects == []


@pytest.mark.parametrize("text, defect", [
    ("S21.G00.40.006,'Pr\ufffdparateur'", Defect.MANGLED_UTF8),
    ("S21.G00.40.006,'Préparateur'", Defect.MANGLED_UTF8),
])
def test_utf8_round_trips_are_reported_as_mangled(text, defect):
    """UTF-8 bytes in a Latin-1 file (the ONS sample's EF BF BD) are flagged but the line is kept."""
    [(token, defects)] = _tokens(text.encode("utf-8") + b"\n")
    assert token is not None and defects == [defect]


@pytest.mark.parametrize("line, defect", [
    (b"S21.G00.40.006 'NO COMMA'", Defect.MALFORMED),
    (b"S21.G00.40.006,'unterminated", Defect.MALFORMED),
    (b"S21.G00.4.006,'short id'", Defect.MALFORMED),
    (b"S21.G00.40.006,'NUL\x00INSIDE'", Defect.FORBIDDEN_BYTES),
    (b"S21.G00.40.006,'" + b"X" * 300 + b"'", Defect.TOO_LONG),
])
def test_unusable_lines_give_no_token_and_name_their_defect(line, defect):
    """Malformed, binary or over-long lines are never turned into values."""
    [(token, defects)] = _tokens(line + b"\n")
    assert token is None and defect in defects


def test_a_huge_line_without_newline_is_held_only_in_part(monkeypatch):
    """A 5 MB line costs at most KEEP bytes of it in memory, and its true length is known."""
    monkeypatch.setattr(L, "CHUNK", 64 * 1024)
    data = b"S10.G00.00.001,'" + b"A" * 5_000_000
    [raw] = list(iter_raw_lines(io.BytesIO(data)))
    assert raw.length == len(data) and len(raw.data) <= L.KEEP


def test_offsets_point_at_line_starts_across_chunk_boundaries(monkeypatch):
    """Byte offsets stay exact when lines straddle read chunks, so declarations can be re-read."""
    monkeypatch.setattr(L, "CHUNK", 7)
    data = b"S10.G00.00.001,'A'\r\nS10.G00.00.002,'BB'\nS10.G00.00.003,'C'"
    raws = list(iter_raw_lines(io.BytesIO(data)))
    assert [data[r.offset:r.offset + r.length] for r in raws] == [r.data for r in raws]
    assert [r.number for r in raws] == [1, 2, 3]


_LINES = [b"S21.G00.30.001,'1234567890123'", b"S21.G00.30.002,'D'ALMEIDA'", "S21.G00.40.006,'Préparateur'".encode("latin-1"),
          "S21.G00.40.006,'Préparateur'".encode("utf-8"), b"S21.G00.40.006,'Pr\xef\xbf\xbdparateur'",
          b"S21.G00.51.013,''", b"S21.G00.51.013,'1'", b"S21.G00.51.013,'12.00", b"S21.G00.51.013 '12.00'",
          b"S21.G00.5.013,'12.00'", b"S2X.G00.51.013,'12.00'", b"S21.G00.51.0130'12.00'", b"S21.G00.51.013,'A\tB'",
          b"S21.G00.51.013,'A\x00B'", b"S21.G00.51.013,'A\x85B'", b"S21.G00.51.013,'A\rB'", b"S21.G00.51.013,'A'\r",
          b"S21.G00.40.006,'" + b"X" * 239 + b"'", b"S21.G00.40.006,'" + b"X" * 240 + b"'", b"", b"'",
          b"s21.g00.51.013,'1'", b"S21.G00.51.01:,'1'", b"S2/.G00.51.013,'1'"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_LINES), min_size=1, max_size=30), st.integers(1, 10_000))
def test_a_declaration_is_tokenized_alike_as_a_whole_and_line_by_line(lines, first):
    """The whole-text fast path gives the tokens and defects that tokenizing line by line gives, whatever
    mix of good and bad lines (quotes, Latin-1, mangled UTF-8, control bytes, CR, over-long) it holds."""
    text = declaration_text(b"\n".join(lines) + b"\n")
    expected_tokens, expected_defects = [], []
    for raw in iter_raw_lines(io.BytesIO(text), first_number=first):
        token, defects = tokenize(raw)
        expected_defects += [LineDefect(raw.number, d, token.rubric if token else "") for d in defects]
        if token is not None:
            expected_tokens.append(tuple(token))
    numbers, rubrics, values, defects = tokens_of(text, first)
    assert list(zip(numbers, rubrics, values)) == expected_tokens
    assert defects == expected_defects


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_LINES), min_size=1, max_size=30))
def test_a_line_is_clean_in_a_declaration_exactly_when_it_is_clean_alone(lines):
    """The per-line check (which lets a declaration with a few bad lines tokenize only those one by one)
    says of each line what the whole-text check says of that line alone."""
    text = declaration_text(b"\n".join(lines) + b"\n")
    mask = clean_mask(text).tolist()
    assert mask == [clean_lines(line + b"\n") for line in text[:-1].split(b"\n")]
    assert all(mask) == clean_lines(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-2**40, max_value=2**40), max_size=60), st.sampled_from(["int32", "int64"]))
def test_distinct_codes_number_keys_as_sorting_them_does(keys, dtype):
    """The rubric and block codes of lines read together are numbered by hashing: the same first positions and the
    same numbers, in ascending key order, as np.unique gives, repeats, negatives and no key at all included."""
    import numpy as np
    array = np.array(keys, dtype=np.int64)
    if dtype == "int32":
        array = (array % 2**31).astype(np.int32)
    first, which = L.distinct_codes(array)
    _, expected_first, expected_which = np.unique(array, return_index=True, return_inverse=True)
    assert first.tolist() == expected_first.tolist() and which.tolist() == expected_which.ravel().tolist()
