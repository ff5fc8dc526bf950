"""Charts for the HTML reports, drawn with matplotlib as inline SVG (the page works offline).

matplotlib's object API (a ``Figure`` on the Agg canvas, saved as SVG: the same bytes as pyplot gave), imported
on the first chart; not pyplot, whose import and global figure manager a batch job does not need (part of a
run's fixed cost)."""
from __future__ import annotations

import functools
import io


@functools.cache
def _figure_type():
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    matplotlib.rcParams.update({"svg.hashsalt": "drm-gateway", "font.size": 9})   # deterministic SVG ids
    return Figure, FigureCanvasAgg


def figure(width: float, height: float):
    """A new figure and its axes (no global state: nothing to close)."""
    figure_type, canvas_type = _figure_type()
    fig = figure_type(figsize=(width, height))
    canvas_type(fig)
    return fig, fig.subplots()


def plain_text(label: str) -> str:
    """A label drawn as the text it is: a ``$`` would start matplotlib's math text (an unbalanced one raises)."""
    return str(label).replace("$", r"\$")


def bar_chart(labels: list[str], values: list[float], *, title: str, color: str = "#3465a4",
              horizontal: bool = True) -> str:
    if not labels:
        return ""
    labels = [plain_text(label) for label in labels]
    height = max(1.6, 0.32 * len(labels) + 0.8) if horizontal else 3.0
    fig, ax = figure(7.0, height)
    if horizontal:
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, values, color=color)
        ax.set_yticks(positions, labels)
    else:
        ax.bar(labels, values, color=color)
    ax.set_title(plain_text(title))
    return svg_of(fig, ax)


def svg_of(fig, ax) -> str:
    """A finished figure as inline SVG (deterministic: no date, fixed hash salt)."""
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    sink = io.StringIO()
    fig.savefig(sink, format="svg", metadata={"Date": None, "Creator": None})
    text = sink.getvalue()
    return text[text.index("<svg"):]


def stacked_lines(used: int, ignored: int, quarantined: int) -> str:
    return bar_chart(["utilisées", "ignorées", "en quarantaine"], [used, ignored, quarantined],
                     title="Lignes lues", color="#4e9a06")


def trend_chart(runs: list[str], series: dict[str, list[float]], *, title: str) -> str:
    """Rates (0..1) run after run, one line per series; x is the run's sequence number."""
    fig, ax = figure(7.0, 2.6)
    for name, values in series.items():
        ax.plot(runs, [100 * value for value in values], marker="o", label=plain_text(name))
    ax.set_ylabel("%")
    ax.set_xlabel("exécution n°")
    ax.set_title(plain_text(title))
    ax.legend(fontsize=7)
    return svg_of(fig, ax)
