"""Text diagrams of the network: Graphviz DOT (``show -f dot``) and Mermaid (``show -f mermaid``).

Both draw :func:`convcalc.engine.graph.network_graph`, folded by ``--depth`` as the table is:
one box per row (name, kind and settings, output shape), open groups as nested clusters, an
arrow per tensor read, a skip's crop or pad written on its arrow, flagged boxes outlined in the
flag's colour, the network's outputs doubled, and the totals in the title.

Every string from the spec is made visible (control characters as ``\\x1b``) and then escaped
for the format, so that a name can neither end a label nor add a statement: DOT's quoted
strings escape ``\\`` and ``"``, and ``&`` (Graphviz reads entities); Mermaid's quoted labels take entity codes (``#quot;``,
``#lt;``) for every character its parser or its HTML labels give a meaning to, and the title (YAML
front matter) is single-quoted, where only ``'`` needs escaping.  Box and
cluster ids are convcalc's own (``r12``, ``c3``), never a spec's name.
"""

from __future__ import annotations

from ..base.text import visible
from ..engine.evaluate import Report
from ..engine.graph import Box, Cluster, Graph, network_graph
from . import humanize as h
from .formats import Terminal

# The terminal's colours for flags (rich's "yellow" and "cyan"), as web colours.
SEVERITY_COLOURS = {"warning": "#b8860b", "info": "#2a9d8f"}


def box_lines(box: Box) -> tuple[str, ...]:
    """A box's label, in every picture: its last name, its kind and settings (a folded group's
    row count), its output shape.  A join's settings list every input's shape: its arrows show those."""
    if box.id == "in":
        return ("input", str(box.output))
    short = box.name.rpartition(".")[2]
    if box.role == "join":
        kind = box.kind
    elif box.role == "group":
        kind = f"{box.kind}, {box.summary}"
    else:
        kind = f"{box.kind} {box.summary}".strip()
    return (short, kind, str(box.output))


def _cluster_title(c: Cluster) -> str:
    """``layer1 (stage)``: the group's last name, and its kind when that says more."""
    short = c.name.rpartition(".")[2]
    return short if short == c.kind else f"{short} ({c.kind})"


def _title(graph: Graph) -> str:
    params, macs = graph.totals
    name = f"{graph.name}: " if graph.name else ""
    return f"{name}{h.count(params)} params, {h.count(macs)} MACs"


def _nesting(graph: Graph) -> tuple[dict[str | None, list[Box]], dict[str | None, list[Cluster]]]:
    """The boxes directly in each cluster, and the clusters directly in each (None: the top)."""
    members: dict[str | None, list[Box]] = {}
    for b in graph.boxes:
        members.setdefault(b.cluster, []).append(b)
    children: dict[str | None, list[Cluster]] = {}
    for c in graph.clusters:
        children.setdefault(c.parent, []).append(c)
    return members, children


def _dot_text(text: str) -> str:
    """``text`` inside a DOT quoted string: visible, with backslash and quote escaped, and ``&``
    written ``&amp;`` (Graphviz decodes HTML entities in every label)."""
    return visible(text).replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')


def write_dot(report: Report, term: Terminal) -> str:
    graph = network_graph(report, term.depth)
    out = [
        f'digraph "{_dot_text(graph.name or "network")}" {{',
        f'  graph [rankdir=LR, fontname="Helvetica", fontsize=11, labelloc=t, label="{_dot_text(_title(graph))}"];',
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    members, children = _nesting(graph)

    def node(b: Box, indent: str) -> str:
        label = "\\n".join(_dot_text(line) for line in box_lines(b))  # DOT's own line break
        attrs = [f'label="{label}"']
        if b.id == "in":
            attrs.append("shape=oval")
        if b.rows > 1 or b.id.startswith("g"):
            attrs.append('style="rounded,bold"')
        if b.severity:
            attrs.append(f'color="{SEVERITY_COLOURS[b.severity]}", penwidth=2')
        if b.is_output:
            attrs.append("peripheries=2")
        return f"{indent}{b.id} [{', '.join(attrs)}];"

    def cluster(cid: str | None, indent: str) -> None:
        for b in members.get(cid, ()):
            out.append(node(b, indent))
        for c in children.get(cid, ()):
            out.append(f"{indent}subgraph cluster_{c.id} {{")
            out.append(f'{indent}  label="{_dot_text(_cluster_title(c))}"; style="rounded"; color="#999999";')
            cluster(c.id, indent + "  ")
            out.append(f"{indent}}}")

    cluster(None, "  ")
    for a in graph.arrows:
        note = f' [label="{_dot_text(a.note)}", style=dashed]' if a.note else ""
        out.append(f"  {a.source} -> {a.target}{note};")
    out.append("}")
    return "\n".join(out) + "\n"


# Mermaid decodes `#name;` and `#123;` entity codes in labels; these characters would otherwise
# end a quoted label ("), start an entity (#), become HTML (<, >, &), a markdown string (`) or,
# outside quotes, a comment (%).
_MERMAID_ENTITIES = str.maketrans({'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
                                   "`": "#96;", "%": "#37;"})


def _mermaid_text(text: str) -> str:
    return visible(text).translate(_MERMAID_ENTITIES)


def write_mermaid(report: Report, term: Terminal) -> str:
    graph = network_graph(report, term.depth)
    title = visible(_title(graph)).replace("'", "''")  # YAML's single quotes: no escapes but ''
    out = ["---", f"title: '{title}'", "---", "flowchart LR"]
    members, children = _nesting(graph)

    def node(b: Box) -> str:
        label = "<br>".join(_mermaid_text(line) for line in box_lines(b))
        return f'{b.id}(["{label}"])' if b.id == "in" else f'{b.id}["{label}"]'

    def cluster(cid: str | None, indent: str) -> None:
        for b in members.get(cid, ()):
            out.append(indent + node(b))
        for c in children.get(cid, ()):
            out.append(f'{indent}subgraph {c.id} ["{_mermaid_text(_cluster_title(c))}"]')
            cluster(c.id, indent + "  ")
            out.append(f"{indent}end")

    cluster(None, "  ")
    for a in graph.arrows:
        out.append(f'  {a.source} -. "{_mermaid_text(a.note)}" .-> {a.target}' if a.note else f"  {a.source} --> {a.target}")
    styled = {s: [b.id for b in graph.boxes if b.severity == s] for s in SEVERITY_COLOURS}
    for severity, colour in SEVERITY_COLOURS.items():
        if styled[severity]:
            out.append(f"  classDef {severity} stroke:{colour},stroke-width:2px")
            out.append(f"  class {','.join(styled[severity])} {severity}")
    ends = [b.id for b in graph.boxes if b.is_output]
    if ends:
        out.append("  classDef output stroke-width:3px")
        out.append(f"  class {','.join(ends)} output")
    return "\n".join(out) + "\n"
