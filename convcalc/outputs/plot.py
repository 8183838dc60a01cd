"""``convcalc sweep --plot``: the variants as points, one series per setting, the Pareto front
marked.  In the terminal, a grid of characters drawn here (no dependency: a series is a marker,
hollow off the front and filled on it, so the plot reads without colour too); to a file, SVG,
PNG or PDF by matplotlib (the ``plot`` extra)."""

from __future__ import annotations

import math
from typing import Any

from ..base.text import visible
from ..engine.sweep import Chart, Sweep, axes_of, chart
from . import humanize as h
from .formats import Terminal

MARKERS = [("○", "●"), ("□", "■"), ("△", "▲"), ("◇", "◆"), ("▽", "▼"), ("☆", "★")]  # (off, on) the front
COLORS = ["\x1b[34m", "\x1b[31m", "\x1b[32m", "\x1b[35m", "\x1b[33m", "\x1b[36m"]
PLAIN = "\x1b[0m"
NAMES = {"params": "params", "buffers": "buffers", "macs": "MACs", "flops": "FLOPs", "peak": "training peak",
         "size": "input size"}
ROWS = 15  # the plot's height in lines
MOST_SERIES_MARKED = 26  # past the shapes, series are letters: a…z off the front, A…Z on it


def _name(axis: str) -> str:
    return NAMES.get(axis, visible(axis))


def _label(axis: str, value: float) -> str:
    if axis == "peak":
        return h.data_size(round(value))
    if axis in NAMES and axis != "size":
        return h.count(round(value)) if value == round(value) else h.count(value)
    return f"{value:g}"


def _ticks(lo: float, hi: float, count: int) -> list[float]:
    """About ``count`` round values (1, 2 or 5 × 10^k apart) covering lo..hi."""
    if hi == lo:
        pad = abs(lo) / 10 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(lo / step), math.ceil(hi / step)
    return [i * step for i in range(first, last + 1)]


def _bounds(chart: Chart) -> tuple[list[float], list[float]]:
    xs = [float(p.x) for s in chart.series for p in s.points]
    ys = [float(p.y) for s in chart.series for p in s.points]
    y_low = 0.0 if chart.y in NAMES and chart.y != "size" else min(ys)  # a figure's axis starts at 0
    return _ticks(min(xs), max(xs), 4), _ticks(y_low, max(ys), 4)


def _markers(index: int) -> tuple[str, str]:
    if index < len(MARKERS):
        return MARKERS[index]
    letter = chr(ord("a") + (index - len(MARKERS)) % MOST_SERIES_MARKED)
    return letter, letter.upper()


def title(sweep: Sweep, chart: Chart) -> str:
    return f"{_name(chart.y)} against {_name(chart.x)}: {visible(sweep.path)}"


def front_note(chart: Chart) -> str:
    return f"filled: the Pareto front on {_name(chart.front[0])} and {_name(chart.front[1])}"


def write_plot(sweep: Sweep, term: Terminal) -> str:
    if not sweep.variants:
        return "(no variant passes --where)\n"
    c = chart(sweep, sweep.axes or axes_of(None, sweep))
    x_ticks, y_ticks = _bounds(c)
    y_labels = [_label(c.y, v) for v in y_ticks]
    margin = max(map(len, y_labels)) + 1
    columns = max(20, min(term.width or 80, 120) - margin - 2)
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def col(x: float) -> int:
        return round((x - x_lo) / (x_hi - x_lo) * (columns - 1))

    def row(y: float) -> int:
        return ROWS - 1 - round((y - y_lo) / (y_hi - y_lo) * (ROWS - 1))

    grid = [[" "] * columns for _ in range(ROWS)]
    front = [[False] * columns for _ in range(ROWS)]
    for i, series in enumerate(c.series):
        off, on = _markers(i)
        for p in series.points:
            r, k = row(float(p.y)), col(float(p.x))
            if front[r][k] and not p.front:
                continue  # a front point is never hidden by one behind it
            marker = on if p.front else off
            grid[r][k] = f"{COLORS[i % len(COLORS)]}{marker}{PLAIN}" if term.color else marker
            front[r][k] = p.front
    tick_rows = {row(v): label for v, label in zip(y_ticks, y_labels)}
    lines = [title(sweep, c), ""]
    for r in range(ROWS):
        label = tick_rows.get(r, "")
        axis = "┤" if label else "│"
        lines.append(f"{label.rjust(margin - 1)} {axis}{''.join(grid[r])}".rstrip())
    rule = ["─"] * columns
    under = [" "] * (columns + 1)  # the labels, each centred on its tick as far as the line allows
    for v in x_ticks:
        k = col(v)
        rule[k] = "┬" if k else "─"
        text = _label(c.x, v)
        start = max(0, min(k - len(text) // 2, len(under) - len(text)))
        if all(ch == " " for ch in under[max(0, start - 1):start + len(text) + 1]):
            under[start:start + len(text)] = text
    lines.append(" " * margin + "└" + "".join(rule))
    lines.append((" " * (margin + 1) + "".join(under)).rstrip())
    lines.append(_name(c.x).rjust(margin + 1 + columns))
    legend = [f"{_markers(i)[0]} {s.label}" for i, s in enumerate(c.series) if s.label]
    legend.append(front_note(c))
    lines.extend(_wrap(legend, margin + 1 + columns))
    return "\n".join(lines) + "\n"


def _wrap(items: list[str], width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for item in items:
        if current and len(current) + 3 + len(item) > width:
            lines.append(current)
            current = ""
        current = f"{current}   {item}" if current else item
    return [*lines, current] if current else lines


# --- to a file, by matplotlib ---------------------------------------------------------------------

class PlotterMissing(Exception):
    """matplotlib is not installed: the message names the extra."""


def _figure(sweep: Sweep, fmt: str) -> bytes:
    try:
        import matplotlib  # start-up: only a plot to a file needs it (the `plot` extra)
    except ImportError as err:
        raise PlotterMissing(f"a {fmt.upper()} plot needs matplotlib: pip install 'convcalc[plot]' "
                             "(or --plot alone for the terminal)") from err
    import io  # start-up: the rest of the file plot's imports, with matplotlib's

    from matplotlib.figure import Figure  # start-up: as above
    from matplotlib.ticker import FuncFormatter  # start-up: as above

    c = chart(sweep, sweep.axes or axes_of(None, sweep))
    settings: Any = {"svg.hashsalt": "convcalc", "text.parse_math": False, "text.usetex": False, "svg.fonttype": "none"}
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=(8, 5), layout="constrained")
        ax = figure.add_subplot()
        shapes = "osD^v*pPhX"
        for i, series in enumerate(c.series):
            xs, ys = [float(p.x) for p in series.points], [float(p.y) for p in series.points]
            ax.plot(xs, ys, marker=shapes[i % len(shapes)], label=series.label or None)
        fx = [float(p.x) for s in c.series for p in s.points if p.front]
        fy = [float(p.y) for s in c.series for p in s.points if p.front]
        ax.scatter(fx, fy, s=180, facecolors="none", edgecolors="black", linewidths=1.5, zorder=3,
                   label=f"Pareto front on {_name(c.front[0])} and {_name(c.front[1])}")
        ax.set_xlabel(_name(c.x))
        ax.set_ylabel(_name(c.y))
        ax.set_title(title(sweep, c))
        for axis, name in ((ax.xaxis, c.x), (ax.yaxis, c.y)):
            axis.set_major_formatter(FuncFormatter(lambda v, _pos, name=name: _label(name, v)))
        if c.y in NAMES and c.y != "size":
            ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        out = io.BytesIO()
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
        if fmt == "pdf":
            metadata["CreationDate"] = metadata.pop("Date")
        figure.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()


def write_svg(sweep: Sweep, term: Terminal) -> str:
    return _figure(sweep, "svg").decode("utf-8")


def write_png(sweep: Sweep, term: Terminal) -> bytes:
    return _figure(sweep, "png")


def write_pdf(sweep: Sweep, term: Terminal) -> bytes:
    return _figure(sweep, "pdf")
