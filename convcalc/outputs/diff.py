"""``convcalc diff``'s formats: text for a terminal, Markdown for a pull-request comment, JSON."""

from __future__ import annotations

from typing import Any

from ..base.text import json_safe, visible
from ..engine.diff import Diff
from . import humanize as h
from .formats import Terminal

LABELS = {"output": "output", "params": "params", "macs": "MACs", "flags": "flags", "buffers": "buffers",
          "flops": "FLOPs", "activation_bytes": "activations", "param_bytes": "params memory"}


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return h.grouped(value)
    return visible(str(value)) or "none"


def _delta(before: Any, after: Any) -> str:
    """``+12,345 (+3.5%)`` for numbers; nothing for text or a side that is missing."""
    if not isinstance(before, int) or not isinstance(after, int) or before == after:
        return ""
    change, sign = after - before, "+" if after > before else "−"
    percent = f" ({sign}{abs(change) / before:.1%})" if before else ""
    return f"{sign}{h.grouped(abs(change))}{percent}"


def _rows(d: Diff) -> list[list[str]]:
    rows = []
    for c in d.changes:
        name = visible(c.name) if c.before is None else f"{visible(c.before)} → {visible(c.name)}"
        if c.status in ("inserted", "removed"):  # one line: the layer as it is on its side
            values = {f: (a if c.status == "removed" else b) for f, a, b in c.fields}
            layer = f"{values['output']}, {h.grouped(values['params'])} params, {h.grouped(values['macs'])} MACs"
            rows.append([name, c.status, "layer", layer if c.status == "removed" else "–",
                         layer if c.status == "inserted" else "–", ""])
            continue
        if not c.fields:
            rows.append([name, c.status, "", "", "", ""])
        for i, (field, before, after) in enumerate(c.fields):
            rows.append([name if i == 0 else "", c.status if i == 0 else "", LABELS[field], _number(before),
                         _number(after), _delta(before, after)])
    return rows


def _totals(d: Diff) -> list[list[str]]:
    return [[LABELS[t], _number(a), _number(b), _delta(a, b)] for t, a, b in d.totals]


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def write_text(d: Diff, term: Terminal) -> str:
    lines = [f"{visible(d.a)} → {visible(d.b)}: "
             f"{d.input[0]} → {d.output[0]}  vs  {d.input[1]} → {d.output[1]}"]
    if not d.changed:
        return "\n".join(lines + ["no change: every layer, shape and figure is the same"]) + "\n"
    rows = _rows(d)
    if rows:
        lines += ["", *_aligned([["layer", "change", "field", "before", "after", "delta"], *rows])]
    lines += ["", *_aligned([["total", "before", "after", "delta"], *_totals(d)])]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def write_markdown(d: Diff, term: Terminal) -> str:
    lines = [f"**{_md(visible(d.a))} → {_md(visible(d.b))}**: {d.input[0]} → {d.output[0]} vs "
             f"{d.input[1]} → {d.output[1]}", ""]
    if not d.changed:
        return "\n".join(lines + ["No change: every layer, shape and figure is the same."]) + "\n"
    rows = _rows(d)
    if rows:
        lines += ["| layer | change | field | before | after | delta |", "|---|---|---|--:|--:|--:|"]
        lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
        lines.append("")
    lines += ["| total | before | after | delta |", "|---|--:|--:|--:|"]
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in _totals(d)]
    return "\n".join(lines) + "\n"


def write_json(d: Diff, term: Terminal) -> str:
    import json  # start-up: only the JSON diff

    document = {
        "schema_version": 1, "a": d.a, "b": d.b, "changed": d.changed,
        "input": list(d.input), "output": list(d.output),
        "layers": [{"status": c.status, "name": c.name, **({"before_name": c.before} if c.before else {}),
                    "fields": {f: {"before": a, "after": b} for f, a, b in c.fields}} for c in d.changes],
        "total": {t: {"before": a, "after": b, "delta": b - a} for t, a, b in d.totals},
    }
    return json_safe(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"
