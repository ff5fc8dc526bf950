import io

from fixtures import builders as B
from gateway.parse.index import EnvoiIndex, FileIndex, index_envois


def _index(data: bytes):
    items = list(index_envois(io.BytesIO(data), "f.dsn"))
    return [i for i in items if isinstance(i, EnvoiIndex)], items[-1]


def test_an_envelope_with_two_envois_gives_two_envois_and_envelope_lines(tmp_path):
    """Lot envelope lines (S05/S06/S96/S95) are recognised; each S10…S90 is one envoi."""
    data = (B.render([("S05.G51.00.001", "V01R02"), ("S06.G51.00.001", "DSNOK")]) + B.a_dsn_file() + B.a_dsn_file()
            + B.render([("S96.G51.00.001", "FINSL"), ("S95.G51.00.001", "1")]))
    envois, index = _index(data)
    assert [len(e.declarations) for e in envois] == [1, 1]
    assert isinstance(index, FileIndex) and sum(span.lines for span in index.envelope) == 4
    assert all(e.closed_by == "S90" for e in envois)


def test_declaration_spans_cover_exactly_their_lines():
    """A declaration span runs from its S20.G00.05.001 line to the line before S90."""
    data = B.a_dsn_file()
    [envoi], _ = _index(data)
    [declaration] = envoi.declarations
    text = data[declaration.span.start:declaration.span.end]
    assert text.startswith(b"S20.G00.05.001,") and text.endswith(b"\n")
    assert declaration.span.lines == text.count(b"\n")
    assert envoi.lines == int(envoi.values["S90.G00.90.001"])


def test_an_envoi_cut_before_its_s90_is_closed_by_end_of_file():
    data = B.a_dsn_file()
    [envoi], _ = _index(data[: data.index(b"S90")])
    assert envoi.closed_by == "end of file" and envoi.footer is None
