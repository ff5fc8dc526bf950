"""Declarations read together (gateway.parse.together) are exactly what each gives read alone (read_declaration, the
reference): the same tokens, block tree arrays and digest, on the whole corpus (CRLF, LF, mixed line ends, Latin-1,
apostrophes, envelopes, a declaration read in parts, generated flows with many defects in LF and CR LF, the fuzz
seeds, the real samples) and on mutated declarations with random line ends put between clean ones; every clean
declaration is taken, every one with something to report is left to the reference."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ingest import DeclarationTask, index_file
from gateway.parse.declaration import ParsedDeclaration, read_declaration
from gateway.parse.index import DeclarationSpan, Span
from gateway.parse.lines import _MANGLED, mangled_starts
from gateway.parse.together import Piece, ReadAhead, norm_of, read_together
from gateway.validate.registry import DEFAULT_RULES
from tests.corpus import BASES, ENDINGS, MUTATIONS, base_dsn, between_clean_ones, corpus, mutated


def _pieces(paths) -> list[Piece]:
    return [Piece(item.path, item.file, item.envoi_number, item.norm_version, span)
            for path in paths for item in index_file(str(path), DEFAULT_RULES) if isinstance(item, DeclarationTask)
            for span in item.spans]


def _alone(piece: Piece) -> ParsedDeclaration:
    with open(piece.path, "rb") as fh:
        return read_declaration(fh, piece.file, piece.span, piece.envoi_number, piece.norm_version)


def _taken_as_alone(piece: Piece, together: ParsedDeclaration | None) -> bool:
    """Whether ``together`` is what the piece read alone gives (when it was read together), and whether it was
    read together exactly when nothing about it is to be reported: all lines clean, norm known, tree whole."""
    alone = _alone(piece)
    clean = norm_of(piece) is not None and not alone.defects and not alone.problems and alone.columns is not None \
        and bool(alone.columns.rubrics)
    where = f"{piece.file} line {piece.span.span.first_line}"
    assert (together is not None) == clean, where
    if together is None:
        return False
    mine, theirs = together.columns, alone.columns
    assert (together.file, together.span, together.envoi_number, together.norm_version, together.norm, together.flow,
            together.digest, together.defects, together.problems, together.read, together.declarant_hint) == \
        (alone.file, alone.span, alone.envoi_number, alone.norm_version, alone.norm, alone.flow, alone.digest,
         alone.defects, alone.problems, alone.read, alone.declarant_hint), where
    assert (list(mine.lines), mine.rubrics, mine.values) == (list(theirs.lines), theirs.rubrics, theirs.values), where
    ours, reference = mine.structure, theirs.structure
    assert ours.names == reference.names, where
    for name in ("heads", "kinds", "parents", "orphans"):
        assert np.array_equal(getattr(ours, name), getattr(reference, name)), (name, where)
    return True


def test_declarations_read_together_are_what_each_gives_read_alone(tmp_path):
    pieces = _pieces(corpus(tmp_path))
    taken = sum(_taken_as_alone(piece, found) for piece, found in zip(pieces, read_together(pieces)))
    assert taken > 0.8 * len(pieces), f"{taken} of {len(pieces)} read together"
    assert taken < len(pieces)                   # the corpus's defects are left to the reference


def test_read_ahead_hands_out_every_declaration_as_read_alone_a_few_lines_at_a_time(tmp_path):
    """Asked for in order, with room for a few small declarations at a time: the larger ones are left to the
    caller, the others read together, each as read alone."""
    pieces = _pieces(corpus(tmp_path))
    ahead = ReadAhead(pieces, lines=5000, window_lines=100_000)
    taken = 0
    for index, piece in enumerate(pieces):
        found = ahead.take(index)
        if found is None:
            continue
        assert piece.span.span.lines <= 5000
        taken += _taken_as_alone(piece, found)
    assert taken > 0.5 * sum(piece.span.span.lines <= 5000 for piece in pieces)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(BASES)), MUTATIONS, ENDINGS)
def test_a_mutated_declaration_between_clean_ones_reads_as_alone(tmp_path_factory, base, mutations, endings):
    """A declaration with lines dropped, repeated, swapped or given other values, with random LF / CR LF line ends,
    read together with a clean one before and after it: none of them finds a block's parent in another, and each
    is what it is read alone."""
    pieces = _pieces(between_clean_ones(tmp_path_factory.mktemp("together"), mutated(BASES[base], mutations, endings)))
    for piece, found in zip(pieces, read_together(pieces)):
        _taken_as_alone(piece, found)


def test_a_block_without_its_parent_in_its_own_declaration_is_left_to_the_reference(tmp_path):
    """A declaration without its establishment block (S21.G00.11), after one with it: the people's blocks of the
    second have no parent in it, and the establishment of the first must not be taken for theirs; the second goes
    the reference way (its orphan blocks are reported), the first is read together."""
    clean = base_dsn()
    lines = clean.split(b"\n")
    without = b"\n".join(line for line in lines if not line.startswith(b"S21.G00.11."))
    assert without != clean
    (tmp_path / "a.dsn").write_bytes(clean)
    (tmp_path / "b.dsn").write_bytes(without)
    pieces = _pieces([tmp_path / "a.dsn", tmp_path / "b.dsn"])
    found = read_together(pieces)
    assert [item is not None for item in found] == [True, False]
    assert _alone(pieces[1]).problems
    for piece, item in zip(pieces, found):
        _taken_as_alone(piece, item)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 10_000), st.booleans())
def test_declarations_cut_anywhere_read_as_alone(tmp_path_factory, cut, crlf):
    """A declaration's lines handed out as two pieces cut at any line (the second starting inside a block, even
    inside an instance): neither piece's blocks continue or find a parent across the cut; each piece is what it
    is read alone (the second, with orphan blocks, left to the reference)."""
    content = base_dsn().replace(b"\n", b"\r\n") if crlf else base_dsn()
    path = tmp_path_factory.mktemp("cut") / "f.dsn"
    path.write_bytes(content)
    whole = _pieces([path])[0]
    span = whole.span.span
    offsets = [span.start]
    for line in content[span.start:span.end].splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    at = 1 + cut % (span.lines - 1)                     # lines in the first piece
    first = DeclarationSpan(Span(span.start, offsets[at], span.first_line, span.first_line + at - 1),
                            whole.span.nature, whole.span.type)
    second = DeclarationSpan(Span(offsets[at], span.end, span.first_line + at, span.last_line),
                             whole.span.nature, whole.span.type)
    pieces = [whole._replace(span=first), whole._replace(span=second)]
    for piece, found in zip(pieces, read_together(pieces)):
        _taken_as_alone(piece, found)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.lists(st.sampled_from([b"\xc2", b"\xc3", b"\xef", b"\xbf", b"\xbd", b"\x80",
                                                          b"\xa9", b"A", b"\n"]), max_size=30).map(b"".join))
def test_mangled_utf8_is_found_over_arrays_where_the_pattern_finds_it(data):
    assert mangled_starts(np.frombuffer(data, dtype=np.uint8)).tolist() == \
        [match.start() for match in _MANGLED.finditer(data)]


_VALUE_TEXT = st.text(st.sampled_from("AZaz09 '.,-/é'ÿ\u00a0°"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 999), _VALUE_TEXT), min_size=1, max_size=30))
def test_clean_values_are_the_values_the_tokenizer_reads(lines):
    """Values cut out of clean lines over the bytes at once are the tokenizer's, line by line: apostrophes inside
    a value, empty values and Latin-1 letters included."""
    import io
    from gateway.parse.lines import clean_heads, iter_raw_lines, tokenize
    from gateway.parse.together import clean_values
    text = b"".join(f"S21.G00.{block:02d}.{number:03d},'{value}'\n".encode("latin-1")
                    for block, number, value in lines)
    starts, _ = clean_heads(text)
    assert clean_values(text, starts) == [tokenize(raw)[0].value for raw in iter_raw_lines(io.BytesIO(text))]
    assert clean_values(b"", np.empty(0, dtype=np.int64)) == []
