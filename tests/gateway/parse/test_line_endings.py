"""The reference oracle for every fast path of the parser: LF, CR LF, mixed line ends and a last line with
or without its end give exactly what the plain line-by-line path gives.

The plain path is :func:`gateway.parse.lines.iter_raw_lines` + :func:`gateway.parse.lines.tokenize`, one line
at a time. The fast paths are the first pass by runs (:mod:`gateway.parse.runs`), the declaration re-read
from its byte span and cut by position (:func:`gateway.parse.declaration.read_tokens`), and a big
declaration read in parts (:mod:`gateway.parse.windows`). Any future optimisation of these must pass here.
"""
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import builders as B
from gateway.ingest import DeclarationTask, index_file, process_file, process_tasks
from gateway.parse.declaration import read_tokens
from gateway.parse.index import EnvoiIndex, index_envois
from gateway.parse.lines import iter_raw_lines, tokenize
from gateway.parse.runs import iter_line_runs, iter_single_runs
from gateway.pseudonym import Pseudonymiser
from gateway.validate.registry import DEFAULT_RULES

from tests.conftest import TEST_KEY

PSEUDONYMS = Pseudonymiser(TEST_KEY)
ENDINGS = (b"\n", b"\r\n")
# Real-format text: a DSN with Latin-1 accents and apostrophes in names, a PASRAU nature 14, a lot envelope.
_DSN = B.a_dsn_file((B.a_person(last_name="D'ALMEIDA", first_names="JOÃO".encode("latin-1").decode("latin-1")),
                     [B.a_payment()]),
                    (B.a_person(nir=B.nir_for(2, B.date(1990, 7, 2), 69, 123, 7), last_name="O'NEIL",
                                first_names="ANNE MARIE", birth=B.date(1990, 7, 2), contract="C00002"),
                     [B.a_payment(net_taxable=150000, pas_base=150000, gross=190000, net_social=148000,
                                  net_paid=145000)]))
_PASRAU = B.a_pasrau_file((B.a_person(), [B.a_payment(income_class="101", net_paid=None)]))
_LOT = (B.render([("S05.G51.00.001", "V01R02"), ("S06.G51.00.001", "DSNOK")]) + _DSN + _PASRAU
        + B.render([("S96.G51.00.001", "FINSL"), ("S95.G51.00.001", "000042")]))
BASES = {"dsn": _DSN, "pasrau": _PASRAU, "lot": _LOT}


def _lines(base: str, mutations) -> list[bytes]:
    lines = BASES[base].split(b"\n")[:-1]
    for kind, position, value in mutations:
        i = position % len(lines)
        if kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "drop" and len(lines) > 1:
            del lines[i]
        elif kind == "accent":
            lines[i] = lines[i][:-1] + bytes([0xC0 + value % 64]) + b"'"
        elif kind == "apostrophe":
            lines[i] = lines[i][:-1] + b"'" + lines[i][-1:]
        elif kind == "cr_inside" and len(lines[i]) > 2:
            lines[i] = lines[i][:2] + b"\r" + lines[i][2:]
    return lines


def _join(lines: list[bytes], endings: list[bytes], final: bool) -> bytes:
    body = b"".join(line + endings[i % len(endings)] for i, line in enumerate(lines[:-1]))
    return body + lines[-1] + (endings[(len(lines) - 1) % len(endings)] if final else b"")


def _reference_tokens(data: bytes, first: int, last: int):
    """Tokens and defects of lines ``first..last``, one line at a time (the plain path)."""
    numbers, rubrics, values, defects = [], [], [], []
    for raw in iter_raw_lines(io.BytesIO(data)):
        if first <= raw.number <= last:
            token, found = tokenize(raw)
            defects.extend((raw.number, defect, token.rubric if token else "") for defect in found)
            if token is not None:
                numbers.append(token.number)
                rubrics.append(token.rubric)
                values.append(token.value)
    return numbers, rubrics, values, defects


def _fast_tokens(data: bytes, span):
    _, (numbers, rubrics, values, defects) = read_tokens(io.BytesIO(data), span)
    return list(numbers), list(rubrics), list(values), [(d.line, d.defect, d.rubric) for d in defects]


def _assert_fast_paths_agree(data: bytes, tmp_path, lf: bytes) -> None:
    fast = list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_line_runs))
    assert fast == list(index_envois(io.BytesIO(data), "f.dsn", runs=iter_single_runs))
    for envoi in (item for item in fast if isinstance(item, EnvoiIndex)):
        for span in envoi.declarations:
            expected = _reference_tokens(data, span.span.first_line, span.span.last_line)
            assert _fast_tokens(data, span) == expected, span
    mixed, plain = tmp_path / "f.dsn", tmp_path / "lf" / "f.dsn"
    plain.parent.mkdir(exist_ok=True)
    mixed.write_bytes(data)
    plain.write_bytes(lf)
    outcome = process_file(str(mixed), DEFAULT_RULES, PSEUDONYMS)
    assert outcome == process_file(str(plain), DEFAULT_RULES, PSEUDONYMS)
    tasks = [item for item in index_file(str(mixed), DEFAULT_RULES) if isinstance(item, DeclarationTask)]
    for task in tasks:
        assert (process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=8)
                == process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=10**9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(BASES)),
       st.lists(st.tuples(st.sampled_from(["dup", "drop", "accent", "apostrophe", "cr_inside"]),
                          st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       st.lists(st.sampled_from(ENDINGS), min_size=1, max_size=64), st.booleans())
def test_any_line_ends_give_what_the_line_by_line_path_gives(tmp_path, base, mutations, endings, final):
    """Mutated real-format text with line ends drawn per line: the first pass by runs indexes it as the
    line-by-line pass does; every declaration's tokens, re-read from its byte span, are those of its lines
    tokenized one by one; the whole outcome equals the outcome of the same text with LF ends; a declaration
    read in parts gives what it gives read whole."""
    lines = _lines(base, mutations)
    _assert_fast_paths_agree(_join(lines, endings, final), tmp_path, _join(lines, [b"\n"], final))


def test_a_crlf_declaration_gives_its_resources_like_its_lf_copy(run_file):
    """The last line of a CR LF declaration keeps no CR: nothing is quarantined and both people are paid."""
    lf = run_file(_DSN, "lf.dsn")
    crlf = run_file(_DSN.replace(b"\n", b"\r\n"), "crlf.dsn")
    assert crlf.quarantine == lf.quarantine == ()
    assert len(crlf.resources) == len(lf.resources) > 0
    assert crlf.counts == lf.counts


def test_a_last_line_ended_by_cr_alone_is_read_as_ended(run_file):
    """A file whose last line ends with CR but no LF (a cut CR LF) reads as if the line were ended."""
    lf = run_file(_DSN, "lf.dsn")
    cut = run_file(_DSN.replace(b"\n", b"\r\n")[:-1], "cut.dsn")
    assert [r.rule_id for r in cut.quarantine] == [r.rule_id for r in lf.quarantine]
    assert len(cut.resources) == len(lf.resources)
