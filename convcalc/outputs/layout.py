"""Where ``convcalc draw`` puts every box, label and arrow: a layered layout, left to right.

Columns are ranks: a box stands one column right of the furthest box it reads.  Rows are lanes:
a box takes its first input's lane when that is free in its column, else the next free one
below, so branches run as parallel lanes and rejoin.  A network that upsamples after it has
downsampled (an encoder-decoder) is laid out by resolution instead: a box's lane starts at its
level, ⌊log₂(input size / its size)⌋, so U-Net comes out as the U of its paper with its skips
running level across.

Each lane is a band: boxes centred on its axis, then their labels (name, kind and settings,
output shape), then a gap.  A box's front face is as tall as its height and as wide as its
channels on the chosen scale (log, square root or linear), and as deep as its width in 3-D; a
flat vector is a thin bar as tall as its length, a join a circle.  Labels are measured with
DejaVu Sans's own advance widths (fontmetrics.py) and columns are as wide as their widest
label, so no two texts overlap.  Arrows leave a box's right and enter the next box's left;
one that spans columns runs along a lane left free, else through the gap between lane bands,
and turns only in the gaps between columns, so it crosses no box.  Top-level groups (stages,
blocks) are bands behind their columns, titled above the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..base.record import Record
from ..engine.graph import Arrow, Box, Graph
from .fontmetrics import text_width
from .graph import box_lines

FONT = 11.0  # label size, px
LINE = 14.0  # label line pitch
TITLE_FONT = 12.0
GAP_X = 26.0  # between columns: where arrows turn
GAP_Y = 30.0  # between lane bands: where arrows that jump lanes run, and their notes
MARGIN = 16.0
LABEL_GAP = 6.0  # from a box's bottom to its label's first line
FACE = (10.0, 110.0)  # a front face's height, from size 1 to the largest size
CHANNELS = (4.0, 44.0)  # its width, from 1 channel to the most
DEPTH = (3.0, 34.0)  # its 3-D depth (drawn at 45°, foreshortened by half)
BAR = 6.0  # a flat vector's width
JOIN_RADIUS = 9.0
ASCENT, DESCENT = 0.928, 0.236  # DejaVu Sans's, in ems: a line's box from baseline − ascent to baseline + descent


class Placed(Record):
    box: Box
    column: int
    lane: int
    x: float  # the front face's left
    y: float  # the front face's top
    w: float
    h: float
    dx: float  # the 3-D offset: the back face is dx right and dx up (0 when flat)
    lines: tuple[str, ...]  # the label's lines
    label_y: float  # the first line's baseline

    @property
    def right(self) -> float:
        return self.x + self.w + self.dx

    @property
    def centre(self) -> float:
        return self.x + (self.w + self.dx) / 2

    @property
    def axis(self) -> float:
        return self.y + self.h / 2


class Route(Record):
    arrow: Arrow
    points: tuple[tuple[float, float], ...]
    note: tuple[float, float] | None  # where the arrow's note is written (its centre), if it fits


class Band(Record):
    name: str
    x0: float
    x1: float
    y0: float
    y1: float
    title: str  # shortened to fit, "" when nothing fits


class Layout(Record):
    width: int
    height: int
    boxes: tuple[Placed, ...]
    routes: tuple[Route, ...]
    bands: tuple[Band, ...]
    caption: tuple[str, ...]
    caption_y: float  # the caption's first baseline
    by_level: bool


def _scaler(kind: str, largest: int, low: float, high: float) -> Callable[[int], float]:
    def f(v: float) -> float:
        return math.log(v) if kind == "log" else math.sqrt(v) if kind == "sqrt" else float(v)

    span = f(largest) - f(1)

    def scale(v: int) -> float:
        return low if span <= 0 else low + (high - low) * (f(max(v, 1)) - f(1)) / span

    return scale


def _sides(box: Box) -> tuple[int, int, int]:
    """(height, width, channels) as drawn: a map's last two axes (a 1-D map is L×1), a token
    sequence's length, a flat vector's length as its height."""
    s = box.output
    if s.tokens or len(s.spatial) == 1:
        return s.spatial[0], 1, s.channels
    if s.spatial:
        return s.spatial[-2], s.spatial[-1], s.channels
    return s.channels, 1, 1


def _width(lines: tuple[str, ...]) -> float:
    return max(text_width(line, FONT, bold=i == 0) for i, line in enumerate(lines))


def fit_text(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text``, or its start and "…", as wide as ``width`` at most ("" when not even "…" fits)."""
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + "…", size, bold) > width:
        text = text[:-1]
    return text + "…" if text else ""


def layout(graph: Graph, scale: str = "log", three_d: bool = True, caption: tuple[str, ...] = ()) -> Layout:
    boxes = graph.boxes
    order = {b.id: i for i, b in enumerate(boxes)}
    sources: dict[str, list[str]] = {b.id: [] for b in boxes}
    for a in graph.arrows:
        sources[a.target].append(a.source)

    # Columns: the longest path from the input.
    column: dict[str, int] = {}
    for b in boxes:
        column[b.id] = 1 + max((column[s] for s in sources[b.id]), default=-1)

    # Lanes: by resolution level for an encoder-decoder, else by the first input's lane.
    sides = {b.id: _sides(b) for b in boxes}
    maps = [b for b in boxes if b.output.is_map]
    top = max((sides[b.id][0] for b in maps), default=1)
    by_level = False
    smallest = top
    for b in maps:
        size = sides[b.id][0]
        if size > 2 * smallest:  # upsampled past twice the smallest size so far: a decoder
            by_level = True
        smallest = min(smallest, size)
    lane: dict[str, int] = {}
    taken: set[tuple[int, int]] = set()
    deepest = 0
    for b in boxes:
        if by_level and b.output.is_map:
            want = int(math.floor(math.log2(top / max(sides[b.id][0], 1))))
        elif by_level and not b.output.is_map:
            want = deepest  # flat heads stay at the deepest level reached so far
        else:
            want = lane[sources[b.id][0]] if sources[b.id] else 0
        while (column[b.id], want) in taken:
            want += 1
        lane[b.id] = want
        taken.add((column[b.id], want))
        deepest = max(deepest, want)

    # Box sizes.
    face_height = _scaler(scale, max([top] + [sides[b.id][0] for b in boxes]), *FACE)
    width_of = _scaler(scale, max((sides[b.id][2] for b in boxes), default=1), *CHANNELS)
    depth_of = _scaler(scale, max((sides[b.id][1] for b in maps), default=1), *DEPTH)
    sizes: dict[str, tuple[float, float, float]] = {}
    for b in boxes:
        h_side, w_side, c_side = sides[b.id]
        if b.role == "join":
            sizes[b.id] = (2 * JOIN_RADIUS, 2 * JOIN_RADIUS, 0.0)
        elif not b.output.is_map and not b.output.tokens:  # a flat vector: a bar
            sizes[b.id] = (BAR, face_height(h_side), BAR / 2 if three_d else 0.0)
        else:
            dx = depth_of(w_side) / 2 if three_d and b.output.is_map else (BAR / 2 if three_d else 0.0)
            sizes[b.id] = (width_of(c_side), face_height(h_side), dx)
    lines = {b.id: box_lines(b) for b in boxes}

    # Column widths and lane bands.
    columns = max(column.values()) + 1
    col_width = [0.0] * columns
    for b in boxes:
        w, _, dx = sizes[b.id]
        col_width[column[b.id]] = max(col_width[column[b.id]], w + dx, _width(lines[b.id]))
    lanes = sorted(set(lane.values()))
    up = {k: 0.0 for k in lanes}  # above the axis: half the tallest face and its 3-D offset
    down = {k: 0.0 for k in lanes}  # below: half the tallest face, then the label
    for b in boxes:
        w, h, dx = sizes[b.id]
        up[lane[b.id]] = max(up[lane[b.id]], h / 2 + dx)
        down[lane[b.id]] = max(down[lane[b.id]], h / 2)
    has_bands = any(c.parent is None for c in graph.clusters)
    y = MARGIN + (TITLE_FONT + DESCENT * TITLE_FONT + GAP_Y if has_bands else 0.0)  # px, going down
    axis, band_top, label_top, band_bottom = {}, {}, {}, {}
    for k in lanes:
        band_top[k] = y
        axis[k] = y + up[k]
        label_top[k] = axis[k] + down[k] + LABEL_GAP
        band_bottom[k] = label_top[k] + 3 * LINE
        y = band_bottom[k] + GAP_Y
    col_left: list[float] = []
    x = MARGIN
    for c in range(columns):
        col_left.append(x)
        x += col_width[c] + GAP_X
    width = x - GAP_X + MARGIN

    placed = []
    for b in boxes:
        w, h, dx = sizes[b.id]
        c, k = column[b.id], lane[b.id]
        left = col_left[c] + (col_width[c] - (w + dx)) / 2
        placed.append(Placed(b, c, k, left, axis[k] - h / 2, w, h, dx, lines[b.id], label_top[k] + FONT))
    at = {p.box.id: p for p in placed}
    occupied = {(p.column, p.lane) for p in placed}

    def free(k: int, c0: int, c1: int) -> bool:
        return all((c, k) not in occupied for c in range(c0 + 1, c1))

    def gap_after(c: int) -> float:
        return col_left[c] + col_width[c] + GAP_X / 2

    routes: list[Route] = []
    # What a note must not meet: every box (with its 3-D offset) and every label line.
    taken_rects = [(p.x, p.y - p.dx, p.right, p.y + p.h) for p in placed]
    for p in placed:
        for i, line in enumerate(p.lines):
            wide, base = text_width(line, FONT, bold=i == 0), p.label_y + i * LINE
            taken_rects.append((p.centre - wide / 2, base - ASCENT * FONT, p.centre + wide / 2, base + DESCENT * FONT))
    for a in sorted(graph.arrows, key=lambda a: (order[a.target], order[a.source])):
        s, t = at[a.source], at[a.target]
        x0, y0, x1, y1 = s.right, axis[s.lane], t.x, axis[t.lane]
        if s.lane == t.lane and free(s.lane, s.column, t.column):
            points = [(x0, y0), (x1, y1)]
        elif t.column == s.column + 1 or free(s.lane, s.column, t.column):
            xg = gap_after(t.column - 1)
            points = [(x0, y0), (xg, y0), (xg, y1), (x1, y1)]
        elif free(t.lane, s.column, t.column):
            xg = gap_after(s.column)
            points = [(x0, y0), (xg, y0), (xg, y1), (x1, y1)]
        else:  # through the gap above the upper lane's band
            yc = band_top[min(s.lane, t.lane)] - GAP_Y / 2
            xa, xb = gap_after(s.column), gap_after(t.column - 1)
            points = [(x0, y0), (xa, y0), (xa, yc), (xb, yc), (xb, y1), (x1, y1)]
        note = None
        if a.note:  # above its longest horizontal run, where it meets no text, box or other note
            runs = [(u, v) for u, v in zip(points, points[1:]) if u[1] == v[1]]
            u, v = max(runs, key=lambda r: abs(r[1][0] - r[0][0]))
            wide, cx, base = text_width(a.note, FONT - 1), (u[0] + v[0]) / 2, u[1] - 4
            rect = (cx - wide / 2, base - ASCENT * (FONT - 1), cx + wide / 2, base + DESCENT * (FONT - 1))
            if wide <= abs(v[0] - u[0]) - 12 and not any(_meets(rect, r) for r in taken_rects):
                note = (cx, base)
                taken_rects.append(rect)
        routes.append(Route(a, tuple((round(px, 2), round(py, 2)) for px, py in points), note))

    bands: list[Band] = []
    outermost: dict[str, str] = {}  # cluster → the top-level cluster around it (clusters come after their parents)
    for cluster in graph.clusters:
        outermost[cluster.id] = cluster.id if cluster.parent is None else outermost[cluster.parent]
    members: dict[str, list[Placed]] = {}
    for p in placed:
        if p.box.cluster is not None:
            members.setdefault(outermost[p.box.cluster], []).append(p)
    for cluster in graph.clusters:
        inside = members.get(cluster.id, [])
        if cluster.parent is not None or not inside:
            continue
        c0, c1 = min(p.column for p in inside), max(p.column for p in inside)
        x0, x1 = col_left[c0] - GAP_X / 4, col_left[c1] + col_width[c1] + GAP_X / 4
        y1 = max(band_bottom[p.lane] for p in inside) + GAP_Y / 4
        title = fit_text(cluster.name.rpartition(".")[2], x1 - x0 - 8, TITLE_FONT, bold=True)
        if any(x0 < b.x1 and b.x0 < x1 for b in bands):  # bands that share columns: one title there
            title = ""
        bands.append(Band(cluster.name, x0, x1, MARGIN, y1, title))

    caption_y = y + FONT
    width = max([width] + [2 * MARGIN + text_width(line, FONT, bold=i == 0) for i, line in enumerate(caption)])
    total_height = caption_y + (len(caption) - 1) * LINE + MARGIN if caption else y - GAP_Y + MARGIN
    # Whole pixels: a PNG at twice the size is exactly twice as large.
    return Layout(math.ceil(width), math.ceil(total_height), tuple(placed), tuple(routes), tuple(bands), caption,
                  caption_y, by_level)


def _meets(a: tuple[float, float, float, float], b: tuple[float, float, float, float], pad: float = 2.0) -> bool:
    """Whether rectangles (x0, y0, x1, y1) ``a`` and ``b`` come within ``pad`` of each other."""
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad
