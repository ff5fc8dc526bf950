"""The reports' charts: inline SVG that is the same bytes when drawn again, shows hostile labels as text and
loads nothing from the web."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gateway.publish import charts

HOSTILE = ["<svg onload=alert(1)>", "\"><script>alert(1)</script>", "$x$ & {{ 7*7 }}", "DRM-VAL-001"]
SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return ["".join(node.itertext()) for node in ET.fromstring(svg).iter(f"{SVG}text")]


def test_a_chart_drawn_again_from_the_same_figures_is_the_same_bytes_and_another_chart_has_another_id():
    first = charts.bar_chart(HOSTILE, [3, 2, 1, 0], title="Anomalies par règle")
    again = charts.bar_chart(HOSTILE, [3, 2, 1, 0], title="Anomalies par règle")
    other = charts.bar_chart(HOSTILE, [3, 2, 1, 5], title="Anomalies par règle")
    ids = [ET.fromstring(svg).get("id") for svg in (first, other)]
    assert first == again and ids[0] != ids[1] and all(re.fullmatch(r"chart-[0-9a-f]{16}", i) for i in ids)


def test_hostile_labels_and_titles_are_drawn_as_text_never_as_markup():
    svg = charts.bar_chart(HOSTILE, [1, 2, 3, 4], title="<b onmouseover=x>titre</b>")
    tree = ET.fromstring(svg)                     # well-formed: nothing the labels hold closed or opened a tag
    assert not [node for node in tree.iter() if node.tag in (f"{SVG}script", f"{SVG}b", f"{SVG}foreignObject")]
    assert not any("onload" in value or "onmouseover" in value for node in tree.iter() for value in node.attrib.values())
    texts = _texts(svg)
    assert set(HOSTILE) <= set(texts) and "<b onmouseover=x>titre</b>" in texts
    trend = charts.trend_chart(["1", "2"], {HOSTILE[0]: [0.1, 0.2], HOSTILE[1]: [0.0, 0.5]}, title=HOSTILE[2])
    assert {HOSTILE[0], HOSTILE[1], HOSTILE[2]} <= set(_texts(trend))


def test_the_charts_load_nothing_from_the_web_and_list_bars_in_the_order_given():
    svg = charts.bar_chart(["premier", "deuxième", "troisième"], [1, 2, 3], title="Lignes")
    assert "<script" not in svg and not re.search(r"(href|src)=\"(https?:)?//", svg)
    labels = [t for t in _texts(svg) if t in ("premier", "deuxième", "troisième")]
    positions = {}
    for node in ET.fromstring(svg).iter(f"{SVG}text"):
        if node.text in ("premier", "deuxième", "troisième"):
            positions[node.text] = float(node.get("y"))
    assert len(labels) == 3 and positions["premier"] < positions["deuxième"] < positions["troisième"]   # top down
    assert charts.bar_chart([], [], title="vide") == ""


def test_upright_bars_and_a_timeline_show_their_labels_as_text_and_every_revised_value():
    """The console's charts: upright bars (runs in order) and a person's amounts month by month, with the values
    since revised as points of their own (two in a month revised twice)."""
    bars = charts.bar_chart(["n° 1", HOSTILE[0]], [1.5, 2.5], title="Lignes en quarantaine (%)", horizontal=False)
    assert HOSTILE[0] in _texts(bars) and "<svg onload" not in bars
    months = ["2025-01", "2025-02", "2025-03"]
    timeline = charts.timeline_chart(months, {f"{HOSTILE[1]} SALARY": {"2025-01": 1500.0, "2025-02": 1100.0},
                                              "11890845800011 PENSION": {"2025-03": 500.0}},
                                     [("2025-02", 1500.0), ("2025-02", 1200.0)], title="Montant net social",
                                     revised_label="valeur antérieure (révisée)")
    tree = ET.fromstring(timeline)
    texts = _texts(timeline)
    assert f"{HOSTILE[1]} SALARY" in texts and "valeur antérieure (révisée)" in texts and set(months) <= set(texts)
    assert not [node for node in tree.iter() if node.tag == f"{SVG}script"]
    dots: dict[str, int] = {}              # points drawn, by series (the n of its class "serie-n")
    for node in tree.iter():
        serie = next((c for c in (node.get("class") or "").split() if c.startswith("serie-")), None)
        if serie is not None:
            dots[serie] = dots.get(serie, 0) + sum("dot" in (d.get("class") or "").split() for d in node.iter())
    assert dots == {"serie-0": 2, "serie-1": 1, "serie-2": 2}   # the lines' points, the two revised values


def test_a_missing_or_non_finite_value_is_left_undrawn_never_an_error():
    """A rate read back from an older manifest may be missing or not a number: the report is still drawn."""
    nan, inf = float("nan"), float("inf")
    drawn = [charts.bar_chart(["a", "b", "c"], [nan, inf, 2], title="x"),
             charts.bar_chart(["a", "b"], [None, 0], title="x", horizontal=False),
             charts.trend_chart(["1", "2", "3"], {"a": [None, nan, 0.5]}, title="t"),
             charts.timeline_chart(["2025-01", "2025-02"], {"a": {"2025-01": nan, "2025-02": 1.0}}, [("2025-01", inf)],
                                   title="t", revised_label="r")]
    assert all(ET.fromstring(svg).tag == f"{SVG}svg" for svg in drawn)
