"""``show -f html``: one self-contained page — the picture, the table as a tree, the totals, the
flags with their reasons, the stages' share of params and MACs, and the spec with each layer's
line linked to its row.

Nothing is loaded from anywhere: the styles, the picture (SVG) and a few lines of script are in
the page, and its Content-Security-Policy forbids any other source.  Folding is HTML's own
``<details>``, so the page works with JavaScript off; the script only adds "fold to depth N".
Every string from the spec is made visible (control characters as ``\\x1b``) and HTML-escaped;
no spec text is ever inside the script.  The picture needs drawsvg (the ``draw`` extra): without
it the page says so in its place.
"""

from __future__ import annotations

import re
from html import escape

from ..base.text import visible
from ..base.version import __version__
from ..engine.evaluate import Group, Report, Row
from ..engine.graph import box_counts, deepest_fold, tree
from ..spec.loader import LINE_BREAK
from . import humanize as h
from .formats import MOST_BOXES, Terminal
from .report import totals_lines, worst_flag

PICTURE_BOXES = 40  # the picture folds groups until it has at most this many boxes (as `draw` does)

STYLE = """
:root { color-scheme: light dark; --text: #1f2328; --muted: #57606a; --line: #d0d7de; --band: #f6f8fa;
  --bar: #54aeff; --bar2: #f0883e; --warning: #9a6700; --info: #1a7f72; }
@media (prefers-color-scheme: dark) { :root { --text: #e6edf3; --muted: #9da7b3; --line: #30363d;
  --band: #161b22; --bar: #388bfd; --bar2: #db6d28; --warning: #e3b341; --info: #56d4c4; } }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--text); margin: 24px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.muted { color: var(--muted); }
table.totals td { padding: 1px 16px 1px 0; } table.totals td:last-child { text-align: right; font-variant-numeric: tabular-nums; }
.picture { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
.picture svg { display: block; }
.tree { font-variant-numeric: tabular-nums; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
.row, summary { display: grid; grid-template-columns: 4em 22em 10em 13em 11em 7em 7em 7em 8em; gap: 0 8px;
  padding: 2px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
.head { font-weight: 600; background: var(--band); }
summary { cursor: pointer; background: var(--band); list-style: none; }
summary::-webkit-details-marker { display: none; }
summary .name::before { content: "▸ "; } details[open] > summary .name::before { content: "▾ "; }
.num { text-align: right; } .name { overflow: hidden; text-overflow: ellipsis; }
.row:target, summary:target { outline: 2px solid var(--bar); }
.warning { color: var(--warning); font-weight: 600; } .info { color: var(--info); }
.bars td { padding: 1px 8px 1px 0; white-space: nowrap; } .bar { height: 10px; background: var(--bar); border-radius: 2px; }
.bar.macs { background: var(--bar2); } .bars td.track { width: 40%; }
ol.flags li { margin: 4px 0; }
pre.spec { border: 1px solid var(--line); border-radius: 6px; padding: 8px 0; overflow-x: auto; counter-reset: line; }
pre.spec span.line { display: block; padding: 0 12px; } pre.spec span.line:target { background: var(--band); }
pre.spec a.ln { display: inline-block; width: 3.5em; color: var(--muted); text-decoration: none; }
pre.spec a.row-link { margin-left: 2em; color: var(--muted); font-size: 12px; }
"""

# The one script: a "fold to depth" control over the <details> (all of the rest works without it).
SCRIPT = """
var fold = document.getElementById("fold");  // none when the network has no groups
if (fold) {
  fold.addEventListener("change", function (event) {
    var depth = Number(event.target.value);
    document.querySelectorAll("details.group").forEach(function (d) {
      d.open = depth === 0 || Number(d.dataset.depth) < depth - 1;
    });
  });
}
"""


def _e(text: str) -> str:
    """Spec text for HTML: control characters shown, then escaped (quotes too, for attributes)."""
    return escape(visible(text), quote=True)


CELLS = ("#", "name", "kind", "settings", "output", "params", "MACs", "FLOPs", "flags")


def _cells(number: str, name: str, kind: str, settings: str, output: str, params: int, macs: int, flags: str,
           link: str) -> str:
    return (f'<span class="num">{number}</span><span class="name">{link or name}</span><span>{kind}</span>'
            f'<span>{settings}</span><span class="num">{output}</span><span class="num">{h.count(params)}</span>'
            f'<span class="num">{h.count(macs)}</span><span class="num">{h.count(2 * macs)}</span><span>{flags}</span>')


def _indent(depth: int, text: str) -> str:
    return f'<span style="padding-left:{1.2 * depth:.1f}em">{text}</span>'


def _row(r: Row) -> str:
    worst = worst_flag(r.flags)
    flags = ", ".join(f"{f.axis} {f.exact_text}" for f in r.flags if not f.accepted)
    flag_cell = f'<span class="{worst}">{worst}: {escape(flags)}</span>' if worst in ("warning", "info") else ""
    short = _e(r.name.rpartition(".")[2])
    name = _indent(r.depth, f'{"↳ " if r.inputs else ""}<a href="#L{r.mark.line}" title="{_e(r.name)}">{short}</a>')
    return (f'<div class="row" id="row-{r.number}">'
            + _cells(str(r.number), "", _e(r.kind), _e(r.summary), _e(str(r.output)), r.params, r.macs, flag_cell, name)
            + "</div>")


def _table(report: Report, depth: int | None) -> str:
    """The table as nested <details>: each group folds its rows (open to ``depth``, or all)."""
    out = ['<div class="tree">', '<div class="row head">' + "".join(f"<span>{c}</span>" for c in CELLS) + "</div>"]
    open_: list[Group] = []
    index = {id(g): k for k, g in enumerate(report.groups)}
    number = {id(r): r.number for r in report.rows}
    for entry in tree(report, None):
        start = entry.start if isinstance(entry, Group) else number[id(entry)] - 1
        while open_ and start >= open_[-1].end:
            open_.pop()
            out.append("</details>")
        if isinstance(entry, Row):
            out.append(_row(entry))
            continue
        g, rows = entry, report.rows[entry.start : entry.end]
        is_open = depth is None or g.depth < depth - 1
        name = _indent(g.depth, _e(g.path.rpartition(".")[2]))
        params, macs = sum(r.params for r in rows), sum(r.macs for r in rows)
        worst = worst_flag(tuple(f for r in rows for f in r.flags))
        flag = f'<span class="{worst}">{worst}</span>' if worst in ("warning", "info") else ""
        out.append(f'<details class="group" data-depth="{g.depth}" id="group-{index[id(g)]}"{" open" if is_open else ""}>'
                   f"<summary>{_cells('', '', _e(g.kind), f'{len(rows)} rows', _e(str(g.output)), params, macs, flag, name)}"
                   "</summary>")
        open_.append(g)
    out += ["</details>"] * len(open_) + ["</div>"]
    return "\n".join(out)


def _stages(report: Report) -> str:
    """A bar each for the top-level entries' share of the params and of the MACs."""
    entries: list[tuple[str, int, int]] = []
    for entry in tree(report, 1):
        if isinstance(entry, Group):
            rows = report.rows[entry.start : entry.end]
            entries.append((entry.path, sum(r.params for r in rows), sum(r.macs for r in rows)))
        else:
            entries.append((entry.name, entry.params, entry.macs))
    total_params, total_macs = max(report.totals.params, 1), max(report.totals.macs, 1)
    out = ['<table class="bars"><tr><th></th><th>params</th><th></th><th>MACs</th><th></th></tr>']
    for name, params, macs in entries:
        out.append(f"<tr><td>{_e(name)}</td><td class=\"num\">{h.count(params)}</td>"
                   f'<td class="track"><div class="bar" style="width:{100 * params / total_params:.2f}%"></div></td>'
                   f"<td class=\"num\">{h.count(macs)}</td>"
                   f'<td class="track"><div class="bar macs" style="width:{100 * macs / total_macs:.2f}%"></div></td></tr>')
    out.append("</table>")
    return "\n".join(out)


def _flags(report: Report) -> str:
    if not report.flags:
        return '<p class="muted">Every size comes out whole.</p>'
    number = {r.name: r.number for r in report.rows}
    items = []
    for f in report.flags:
        severity = "accepted" if f.accepted else f.severity
        link = f'<a href="#row-{number[f.layer]}">{_e(f.layer)}</a>' if f.layer in number else _e(f.layer)
        items.append(f'<li><span class="{severity}">{severity}</span> {link}: {_e(f.axis)}: {_e(f.formula)} → '
                     f"PyTorch uses {f.used}; {_e(f.reason)}</li>")
    return '<ol class="flags">' + "".join(items) + "</ol>"


def _spec(report: Report, source: str) -> str:
    """The spec's lines, each with its anchor, and a link to the first row it makes."""
    first_row: dict[int, int] = {}
    for r in report.rows:
        first_row.setdefault(r.mark.line, r.number)
    lines = []
    for i, line in enumerate(re.split(LINE_BREAK, source), 1):  # lines as YAML counts them, as the marks do
        link = f' <a class="row-link" href="#row-{first_row[i]}">→ row {first_row[i]}</a>' if i in first_row else ""
        lines.append(f'<span class="line" id="L{i}"><a class="ln" href="#L{i}">{i}</a>{_e(line)}{link}</span>')
    return '<pre class="spec">' + "".join(lines) + "</pre>"


def _picture(report: Report, term: Terminal) -> str:
    try:
        import drawsvg  # noqa: F401  # start-up: only for the page's picture (the draw extra)
    except ImportError:
        return "<p class=\"muted\">The picture needs drawsvg: pip install 'convcalc[draw]'.</p>"
    from .svg import svg_text  # start-up: only for the page's picture

    counts = box_counts(report)
    depth = term.depth
    if depth is None:
        depth = deepest_fold(counts, PICTURE_BOXES)
    boxes = counts[depth] if depth is not None and depth < len(counts) else counts[0]
    if boxes > MOST_BOXES:
        return f'<p class="muted">The picture would have {boxes:,} boxes, more than the {MOST_BOXES:,} convcalc draws: fold it with --depth.</p>'
    svg = svg_text(report, term._replace(depth=depth))
    return '<div class="picture">' + svg[svg.index("<svg") :] + "</div>"


def write_html(report: Report, term: Terminal) -> str:
    name = _e(report.name) if report.name else "network"
    description = f"<p>{_e(report.description)}</p>" if report.description else ""
    totals = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in totals_lines(report, exact=True))
    deepest = max((g.depth for g in report.groups), default=-1) + 2
    options = "".join(f'<option value="{d}">{d}</option>' for d in range(1, deepest))
    fold = (f'<label>fold to depth <select id="fold"><option value="0">all</option>{options}</select></label>'
            if report.groups else "")
    failures = "".join(f"<li class=\"warning\">expect failed: {_e(f.message)}</li>" for f in report.failures)
    spec = _spec(report, term.source) if term.source is not None else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="convcalc {__version__}">
<title>{name} · convcalc</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{name}</h1><p class="muted">{_e(str(report.input))} → {_e(str(report.output))} · batch {report.batch} · {_e(report.dtype)}</p>{description}</header>
<section id="totals"><h2>Totals</h2><table class="totals">{totals}</table><ul>{failures}</ul></section>
<section id="picture"><h2>Picture</h2>{_picture(report, term)}</section>
<section id="stages"><h2>Params and MACs by stage</h2>{_stages(report)}</section>
<section id="layers"><h2>Layers</h2><p>{fold}</p>{_table(report, term.depth)}</section>
<section id="flags"><h2>Flags</h2>{_flags(report)}</section>
{'<section id="spec"><h2>Spec</h2>' + spec + '</section>' if spec else ''}
<footer class="muted"><p>Made by convcalc {__version__}: exact sizes, parameters and MACs from the spec, as PyTorch computes them.</p></footer>
<script>{SCRIPT}</script>
</body>
</html>
"""
