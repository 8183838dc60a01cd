"""The network as a graph of boxes and arrows, folded like the table: what every picture draws.

``show -f dot``, ``show -f mermaid`` (and the diagrams built on them) read this one structure,
so that a picture and the table always agree on what is a box, what is folded and what feeds
what.  A box is a row of the table at ``--depth N``: a layer, a join, or a group folded into one
box (its rows' figures summed).  Groups that stay open are clusters around their boxes, nested
as in the table.  An arrow joins the box that makes a tensor to each box that reads it, once,
and says how a skip was fitted (``crop → 56×56×512``) when the join changed its size.
"""

from __future__ import annotations

from ..base.record import Record
from ..model.geometry import Shape
from ..model.kinds import role_of
from .evaluate import Group, Report, Row

INPUT = "in"  # the input's box id; a row's box is "r<number>", a folded group's "g<index>"


class Box(Record):
    id: str  # ASCII, unique in the graph: "in", "r12", "g3"
    name: str  # the full path, as the table and --at name it ("input" for the input)
    kind: str  # a layer's kind, a join's op, or a folded group's kind (its block's name, "repeat", …)
    summary: str  # a layer's kernel/stride/pad text, a folded group's "N rows" (as the table says)
    output: Shape
    cluster: str | None  # the innermost open group around it
    params: int
    macs: int
    severity: str  # the worst unaccepted flag of its rows: "warning", "info" or ""
    rows: int  # table rows it stands for (0 for the input)
    is_output: bool = False  # one of the network's outputs
    role: str = "shape"  # what it is drawn as: a kind's role (Kind.role), "join", "group" or "input"


class Arrow(Record):
    source: str
    target: str
    note: str = ""  # "crop → 56×56×512" when a join fitted this input to another size


class Cluster(Record):
    id: str  # "c<index>"
    name: str  # the group's full path
    kind: str
    parent: str | None


class Graph(Record):
    name: str | None
    boxes: tuple[Box, ...]  # in the table's order, the input first
    arrows: tuple[Arrow, ...]
    clusters: tuple[Cluster, ...]  # each after its parent
    totals: tuple[int, int]  # params, MACs of the whole network


def _worst(rows: list[Row]) -> str:
    unaccepted = [f.severity for r in rows for f in r.flags if not f.accepted]
    return "warning" if "warning" in unaccepted else "info" if unaccepted else ""


def _lone_joins(report: Report) -> dict[int, Group]:
    """The groups that are one join row of their own name (``add: {with: x}``), by id: no header
    of their own (another group may span the same row: a branch holding only that join)."""
    return {id(g): g for g in report.groups
            if g.end - g.start == 1 and report.rows[g.start].inputs and report.rows[g.start].name == g.path}


def tree(report: Report, depth: int | None) -> list[Row | Group]:
    """The table's entries: rows in order, each group's header before its first row, nothing
    nested ``depth`` deep or more.  A group that is one join row of its own name (``add: {with:
    x}``) has no header; its row stands at the group's depth, so folding never hides it alone."""
    joins = _lone_joins(report)
    lone = {g.start for g in joins.values()}
    starts: dict[int, list[Group]] = {}
    for g in report.groups:
        if g.end > g.start and id(g) not in joins and (depth is None or g.depth < depth):
            starts.setdefault(g.start, []).append(g)
    entries: list[Row | Group] = []
    for i, r in enumerate(report.rows):
        entries += sorted(starts.get(i, ()), key=lambda g: g.depth)
        if depth is None or r.depth - (i in lone) < depth:
            entries.append(r)
    return entries


def box_counts(report: Report) -> list[int]:
    """How many boxes :func:`network_graph` makes at each ``depth`` (index 0: no folding, every
    row), without making them: one pass over the rows and groups, for a network of any size."""
    joins = _lone_joins(report)
    lone = {g.start for g in joins.values()}
    deepest = max([r.depth for r in report.rows] + [g.depth + 1 for g in report.groups], default=0) + 1
    rows_at, groups_at = [0] * (deepest + 1), [0] * (deepest + 1)
    for i, r in enumerate(report.rows):
        rows_at[r.depth - (i in lone)] += 1
    for g in report.groups:
        if g.end > g.start and id(g) not in joins:
            groups_at[g.depth] += 1
    counts, shown = [1 + len(report.rows)], 1
    for depth in range(1, deepest + 1):
        shown += rows_at[depth - 1]  # rows less deep than depth are boxes; groups depth − 1 deep fold
        counts.append(shown + groups_at[depth - 1])
    return counts


def deepest_fold(counts: list[int], most: int) -> int | None:
    """From :func:`box_counts`: the deepest ``--depth`` with at most ``most`` boxes (None when
    every row fits unfolded, 1 when no depth fits)."""
    if counts[0] <= most:
        return None
    return next((d for d in range(len(counts) - 1, 0, -1) if counts[d] <= most), 1)


def network_graph(report: Report, depth: int | None = None) -> Graph:
    """The boxes and arrows of ``report`` with groups nested ``depth`` deep folded, as the table folds them."""
    index = {id(g): k for k, g in enumerate(report.groups)}
    number = {id(r): n for n, r in enumerate(report.rows, 1)}
    outputs = {o.row for o in report.outputs}
    boxes = [Box(INPUT, "input", "input", "", report.input, None, 0, 0, "", 0, 0 in outputs, "input")]
    clusters: list[Cluster] = []
    box_of = [INPUT] * (len(report.rows) + 1)  # row number → the box that shows it
    open_: list[tuple[Group, str]] = []  # the open groups around the current entry, outermost first
    for entry in tree(report, depth):
        start = entry.start if isinstance(entry, Group) else number[id(entry)] - 1
        while open_ and start >= open_[-1][0].end:
            open_.pop()
        parent = open_[-1][1] if open_ else None
        if isinstance(entry, Row):
            n = number[id(entry)]
            box_of[n] = f"r{n}"
            boxes.append(Box(f"r{n}", entry.name, entry.kind, entry.summary, entry.output, parent,
                             entry.params, entry.macs, _worst([entry]), 1, n in outputs,
                             "join" if entry.inputs else role_of(entry.kind)))
        elif depth is not None and entry.depth == depth - 1:  # folded: one box for all its rows
            g, rows = entry, report.rows[entry.start : entry.end]
            box = Box(f"g{index[id(g)]}", g.path, g.kind, f"{len(rows)} row{'s' if len(rows) != 1 else ''}",
                      g.output, parent, sum(r.params for r in rows), sum(r.macs for r in rows), _worst(list(rows)),
                      len(rows), any(g.start < n <= g.end for n in outputs), "group")
            box_of[g.start + 1 : g.end + 1] = [box.id] * len(rows)
            boxes.append(box)
        else:
            clusters.append(Cluster(f"c{index[id(entry)]}", entry.path, entry.kind, parent))
            open_.append((entry, clusters[-1].id))
    arrows: dict[tuple[str, str], Arrow] = {}
    for n, (row, step) in enumerate(zip(report.rows, report.steps), 1):
        target = box_of[n]
        for k, source_row in enumerate(step.inputs):
            source = box_of[source_row]
            if source == target or (source, target) in arrows:
                continue
            have = report.input if source_row == 0 else report.rows[source_row - 1].output
            fitted = row.inputs[k] if step.join is not None and k < len(row.inputs) else have
            fit = step.fit
            arrows[source, target] = Arrow(source, target, f"{fit.name} → {fitted}" if fit and fitted != have else "")
    return Graph(report.name, tuple(boxes), tuple(arrows.values()), tuple(clusters),
                 (report.totals.params, report.totals.macs))
