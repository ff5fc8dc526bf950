"""Charts for the HTML reports, drawn with pygal as inline SVG (the page works offline).

pygal builds the SVG as an XML tree, so a label or a title is text in an element, escaped when written, never
markup. It is imported on the first chart and draws one in ~10 ms (matplotlib, before: ~0.5 s to import and
~0.15 s a chart, a large part of a small run's fixed cost). Its tooltip script, loaded from the web by default,
is left out, and so is the configuration it writes for it; the chart's id is a digest of what it shows and the
generator's dated comment is dropped, so a report drawn again from the same figures is the same bytes."""
from __future__ import annotations

import functools
import hashlib
import json
import math

WIDTH = 700


@functools.cache
def _pygal():
    import pygal
    from pygal.style import Style
    return pygal, Style


def _finished(chart, shown: list, *, width: int, height: int) -> str:
    """The chart as inline SVG: an id that is a digest of what it shows (``shown``: two charts of a page differ), no
    comment, no script (the configuration pygal writes for its tooltip script, which is left out), its size in
    pixels (a flex item needs one)."""
    chart.uuid = hashlib.sha256(json.dumps(shown, default=str, ensure_ascii=False).encode()).hexdigest()[:16]

    def plain(root):
        for parent in list(root.iter()):
            for node in [node for node in parent if not isinstance(node.tag, str) or node.tag.endswith("script")]:
                parent.remove(node)
        root.attrib.update(width=str(width), height=str(height))
        return root
    chart.add_xml_filter(plain)
    return chart.render(is_unicode=True)


def _chart(kind: str, *, title: str, colors: tuple[str, ...], height: int, **options):
    pygal, style = _pygal()
    return getattr(pygal, kind)(
        js=[], disable_xml_declaration=True, width=WIDTH, height=height, title=str(title),
        style=style(colors=colors, background="white", plot_background="white", font_family="sans-serif",
                    title_font_size=13, label_font_size=11, major_label_font_size=11, legend_font_size=11,
                    value_font_size=10),
        **options)


def _shown(value: float | None) -> float | None:
    """A value as drawn: none for a missing or non-finite one (no bar, a gap in a line), not an error."""
    return value if value is not None and math.isfinite(value) else None


def bar_chart(labels: list[str], values: list[float], *, title: str, color: str = "#3465a4",
              horizontal: bool = True) -> str:
    """One bar a label: horizontal bars, the first on top, or upright ones, the first on the left; nothing when
    there is no label."""
    if not labels:
        return ""
    values = [_shown(value) for value in values]
    if horizontal:
        height = max(160, 26 * len(labels) + 90)
        chart = _chart("HorizontalBar", title=title, colors=(color,), height=height, show_legend=False,
                       print_values=True, truncate_label=-1)
        chart.x_labels = [str(label) for label in reversed(labels)]
        chart.add(str(title), list(reversed(values)))
    else:
        height = 300
        chart = _chart("Bar", title=title, colors=(color,), height=height, show_legend=False, truncate_label=-1,
                       x_label_rotation=45 if len(labels) > 8 else 0)
        chart.x_labels = [str(label) for label in labels]
        chart.add(str(title), list(values))
    return _finished(chart, [title, labels, values, horizontal], width=WIDTH, height=height)


def stacked_lines(used: int, ignored: int, quarantined: int) -> str:
    return bar_chart(["utilisées", "ignorées", "en quarantaine"], [used, ignored, quarantined],
                     title="Lignes lues", color="#4e9a06")


def trend_chart(runs: list[str], series: dict[str, list[float]], *, title: str) -> str:
    """Rates (0..1) run after run, one line per series; x is the run's sequence number."""
    height = 260
    chart = _chart("Line", title=title, colors=("#a40000", "#3465a4", "#4e9a06", "#ce5c00"), height=height,
                   x_title="exécution n°", y_title="%", legend_at_bottom=True, truncate_legend=-1, include_x_axis=True,
                   show_minor_x_labels=len(runs) <= 24, x_labels_major_every=max(1, len(runs) // 12))
    chart.x_labels = [str(run) for run in runs]
    for name, values in series.items():
        chart.add(str(name), [None if _shown(value) is None else round(100 * value, 2) for value in values])
    return _finished(chart, [title, runs, series], width=WIDTH, height=height)


def timeline_chart(months: list[str], lines: dict[str, dict[str, float]], revised: list[tuple[str, float]], *,
                   title: str, revised_label: str) -> str:
    """Amounts month by month: one line per series (``lines``: name -> month -> amount, a gap where a month has
    none), and the earlier values since revised as points of their own (``revised``: (month, amount), several
    in a month when it was revised more than once). x is the month's rank in ``months``."""
    height = 320
    rank = {month: index for index, month in enumerate(months)}

    def month(x: float) -> str:
        return months[int(x)] if x == int(x) and 0 <= x < len(months) else ""

    chart = _chart("XY", title=title, colors=("#3465a4", "#4e9a06", "#ce5c00", "#75507b", "#a40000"),
                   height=height, legend_at_bottom=True, truncate_legend=-1, truncate_label=-1, x_label_rotation=45,
                   include_x_axis=True, x_labels=list(range(len(months))), x_value_formatter=month,
                   allow_interruptions=True)
    for name, points in lines.items():
        chart.add(str(name), [(rank[m], _shown(points[m])) for m in months if m in points])
    drawn = sorted((rank[m], amount) for m, amount in revised if _shown(amount) is not None)
    if drawn:
        chart.add(str(revised_label), drawn, stroke=False, dots_size=5)
    return _finished(chart, [title, months, lines, revised], width=WIDTH, height=height)
