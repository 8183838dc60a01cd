"""``convcalc draw``: the network as a picture, SVG (drawsvg), PNG or PDF (CairoSVG).

The picture is :mod:`layout`'s, drawn with drawsvg (the ``draw`` extra: pure Python, no
dependencies of its own, and it writes XML escaped, so spec text cannot become markup).  Boxes
are coloured by what their kind does (Kind.role), outlined in the flag's colour when flagged,
doubled when they fold a group; the caption holds the totals and the legend.  The same spec and
options give the same bytes: no clock, no random ids, coordinates rounded to hundredths.

Every box is a ``<g class="box" data-id=…>`` with a tooltip (``<title>``), every arrow a
``<path class="arrow" data-from=… data-to=…>``; the browser tests read those.
"""

from __future__ import annotations

from typing import Any

from ..base.text import visible
from ..engine.evaluate import Report
from ..engine.graph import network_graph
from . import humanize as h
from .formats import Terminal
from .layout import FONT, LINE, TITLE_FONT, Placed, layout

FONT_FAMILY = "DejaVu Sans, Verdana, sans-serif"  # fontmetrics.py's widths are DejaVu Sans's

THEMES: dict[str, dict[str, str]] = {
    "light": {
        "background": "#ffffff", "text": "#1f2328", "muted": "#57606a", "stroke": "#3d4a5c", "arrow": "#57606a",
        "band": "#f3f5f8", "conv": "#9ecae1", "pool": "#fdd49e", "resample": "#c7e9c0", "dense": "#d4b9da",
        "norm": "#e0e0e0", "pointwise": "#f0f0f0", "attention": "#fcbba1", "shape": "#ffffff", "join": "#ffffff",
        "group": "#c6dbef", "input": "#ffffff", "warning": "#b8860b", "info": "#2a9d8f",
    },
    "dark": {
        "background": "#0d1117", "text": "#e6edf3", "muted": "#9da7b3", "stroke": "#c9d1d9", "arrow": "#9da7b3",
        "band": "#161b22", "conv": "#1f4e79", "pool": "#7a4b12", "resample": "#275e2b", "dense": "#533a66",
        "norm": "#3a3f47", "pointwise": "#2d333b", "attention": "#7a3326", "shape": "#0d1117", "join": "#0d1117",
        "group": "#23446b", "input": "#0d1117", "warning": "#e3b341", "info": "#56d4c4",
    },
}
JOIN_SYMBOL = {"concat": "‖", "add": "+", "residual": "+", "mul": "×", "scale": "×"}


def _n(v: float) -> float:
    return round(v, 2)


def _caption(report: Report, three_d: bool, scale: str) -> tuple[str, ...]:
    t = report.totals
    name = visible(report.name) if report.name else "network"
    first = f"{name}: {report.input} → {report.output}, {h.count(t.params)} params, {h.count(t.macs)} MACs"
    axes = "height ∝ H, depth ∝ W, width ∝ C" if three_d else "height ∝ H, width ∝ C"
    return (first, f"box {axes} ({scale} scale); outlined: flagged sizes (warning, info)")


def svg_text(report: Report, term: Terminal) -> str:
    """The picture as SVG text (drawsvg imported here: the ``draw`` extra)."""
    import drawsvg as draw  # start-up: only `convcalc draw` needs it (the `draw` extra)

    style = term.drawing
    graph = network_graph(report, term.depth)
    plan = layout(graph, style.scale, style.three_d, _caption(report, style.three_d, style.scale))
    colour = THEMES[style.theme]
    d = draw.Drawing(plan.width, plan.height, font_family=FONT_FAMILY)
    d.append(draw.Rectangle(0, 0, plan.width, plan.height, fill=colour["background"]))
    arrowhead = draw.Marker(-0.2, -3, 6, 3, scale=1, orient="auto", id="arrowhead")
    arrowhead.append(draw.Lines(0, -3, 6, 0, 0, 3, close=True, fill=colour["arrow"]))
    for band in plan.bands:
        d.append(draw.Rectangle(_n(band.x0), _n(band.y0), _n(band.x1 - band.x0), _n(band.y1 - band.y0), rx=6,
                                fill=colour["band"], class_="band", data_name=visible(band.name)))
        if band.title:
            d.append(draw.Text(visible(band.title), TITLE_FONT, _n((band.x0 + band.x1) / 2), _n(band.y0 + TITLE_FONT),
                               text_anchor="middle", font_weight="bold", fill=colour["muted"]))
    for route in plan.routes:
        path = draw.Path(stroke=colour["arrow"], stroke_width=1.2, fill="none", marker_end=arrowhead,
                         class_="arrow", data_from=route.arrow.source, data_to=route.arrow.target)
        (x, y), rest = route.points[0], route.points[1:]
        path.M(x, y)
        for px, py in rest[:-1]:
            path.L(px, py)
        ex, ey = rest[-1]
        path.L(_n(ex - 6), ey)  # the arrowhead's tip ends on the box
        if route.arrow.note:
            path.args["stroke-dasharray"] = "4 3"
        d.append(path)
        if route.note is not None:
            d.append(draw.Text(visible(route.arrow.note), FONT - 1, _n(route.note[0]), _n(route.note[1]),
                               text_anchor="middle", fill=colour["muted"], class_="note"))
    for p in plan.boxes:
        d.append(_box(draw, p, colour, style.three_d))
        for i, line in enumerate(p.lines):
            d.append(draw.Text(visible(line), FONT, _n(p.centre), _n(p.label_y + i * LINE), text_anchor="middle",
                               fill=colour["text"] if i == 0 else colour["muted"], font_weight="bold" if i == 0 else None))
    for i, line in enumerate(plan.caption):
        d.append(draw.Text(line, FONT, 16, _n(plan.caption_y + i * LINE), fill=colour["text"] if i == 0 else colour["muted"],
                           font_weight="bold" if i == 0 else None, class_="caption"))
    text: str = d.as_svg()
    return text


def _box(draw: Any, p: Placed, colour: dict[str, str], three_d: bool) -> Any:
    b = p.box
    stroke = colour[b.severity] if b.severity else colour["stroke"]
    width = 2.2 if b.severity else 1.0
    fill = colour.get(b.role, colour["shape"])
    group = draw.Group(class_="box", data_id=b.id)
    tip = f"{visible(b.name)} ({visible(b.kind)}): {b.output}, {h.grouped(b.params)} params, {h.grouped(b.macs)} MACs"
    group.append_title(tip)
    x, y, w, hgt, dx = _n(p.x), _n(p.y), _n(p.w), _n(p.h), _n(p.dx)
    if b.role == "join":
        cx, cy = _n(x + w / 2), _n(y + hgt / 2)
        group.append(draw.Circle(cx, cy, _n(w / 2), fill=fill, stroke=stroke, stroke_width=width))
        group.append(draw.Text(JOIN_SYMBOL.get(b.kind, "·"), FONT + 1, cx, _n(cy + 4), text_anchor="middle",
                               fill=colour["text"]))
        return group
    if three_d and dx > 0:
        top = draw.Lines(x, y, _n(x + dx), _n(y - dx), _n(x + w + dx), _n(y - dx), _n(x + w), y, close=True)
        side = draw.Lines(_n(x + w), y, _n(x + w + dx), _n(y - dx), _n(x + w + dx), _n(y + hgt - dx), _n(x + w), _n(y + hgt),
                          close=True)
        top.args.update({"fill": _shade(fill, 0.85), "stroke": stroke, "stroke-width": width})
        side.args.update({"fill": _shade(fill, 0.7), "stroke": stroke, "stroke-width": width})
        group.append(top)
        group.append(side)
    dash = "3 2" if b.role == "input" else None
    group.append(draw.Rectangle(x, y, w, hgt, fill=fill, stroke=stroke, stroke_width=width, stroke_dasharray=dash))
    if b.role == "group":  # a folded group: a second outline inside
        inset = min(2.5, w / 4, hgt / 4)
        group.append(draw.Rectangle(_n(x + inset), _n(y + inset), _n(w - 2 * inset), _n(hgt - 2 * inset), fill="none",
                                    stroke=stroke, stroke_width=0.8))
    return group


def _shade(colour: str, factor: float) -> str:
    """``#rrggbb`` darkened by ``factor`` (the faces of a 3-D box that the light does not face)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(round(v * factor) for v in (r, g, b)))


def write_svg(report: Report, term: Terminal) -> str:
    return svg_text(report, term)


def write_png(report: Report, term: Terminal) -> bytes:
    return _convert(svg_text(report, term), "png")


def write_pdf(report: Report, term: Terminal) -> bytes:
    return _convert(svg_text(report, term), "pdf")


class ConverterMissing(Exception):
    """CairoSVG, or the Cairo library it loads, is not installed."""


def _convert(svg: str, to: str) -> bytes:
    try:
        import cairosvg  # start-up: only PNG and PDF need it (the `cairo` extra)
    except ImportError as err:
        raise ConverterMissing(f"{to.upper()} needs CairoSVG: pip install 'convcalc[cairo]' (or draw -f svg)") from err
    except OSError as err:  # cairocffi found no Cairo library
        raise ConverterMissing(
            f"{to.upper()} needs the Cairo library, which CairoSVG could not load ({visible(str(err).splitlines()[0])}): "
            "install it (Debian: apt-get install libcairo2), or draw -f svg"
        ) from err
    convert = cairosvg.svg2png if to == "png" else cairosvg.svg2pdf
    data: bytes = convert(bytestring=svg.encode("utf-8"), scale=2 if to == "png" else 1)
    return data
