"""A report in Python and in notebooks: ``Report.table()``, ``to_records()`` and the displays
Jupyter asks for (``_repr_markdown_``, ``_repr_html_``).  Importing this module registers them
in :data:`convcalc.engine.evaluate.DISPLAYS`; the API's ``evaluate()`` does."""

from __future__ import annotations

from html import escape

from ..engine.evaluate import DISPLAYS, Report
from . import humanize as h
from .formats import Terminal
from .report import COLUMNS, _cells, flag_notes, totals_lines, write_markdown, write_table


def table(report: Report, width: int | None = None) -> str:
    return write_table(report, Terminal(width=width))


def records(report: Report) -> list[dict[str, object]]:
    """The CSV columns of each row (shapes as lists of ints), and its output's ``memory``."""
    out = []
    for r in report.rows:
        row = dict(zip(COLUMNS, _cells(r)))
        row["input"], row["output"] = list(r.input.dims), list(r.output.dims)
        row["memory"] = report.memory(r)
        out.append(row)
    return out


def markdown(report: Report) -> str:
    return write_markdown(report, Terminal())


def html(report: Report) -> str:
    """The table as HTML, every text from the spec escaped; flagged rows coloured."""
    head = ["#", "name", "kind", "kernel/stride/pad", "output", "params", "MACs", "FLOPs", "flags"]
    title = f"{report.name}: " if report.name else ""
    parts = [
        f"<p><b>{escape(title)}{escape(h.shape(report.input))} → {escape(h.shape(report.output))}</b></p>",
        "<table>",
        "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr>",
    ]
    for r in report.rows:
        cells = [str(r.number), r.name, r.kind, r.summary, h.shape(r.output), f"{r.params:,}", f"{r.macs:,}",
                 f"{r.flops:,}", ", ".join(sorted({f.severity for f in r.flags}))]
        worst = "warning" in cells[-1] and any(not f.accepted for f in r.flags)
        style = ' style="color:#b00000"' if worst else (' style="color:#8a6d00"' if r.flags else "")
        parts.append(f"<tr{style}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    parts.append("</table>")
    parts.append("<ul>" + "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in totals_lines(report, True)) + "</ul>")
    notes = flag_notes(report) + [f"expect failed: {f.message}" for f in report.failures]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(parts)


DISPLAYS.update(table=table, records=records, markdown=markdown, html=html)
