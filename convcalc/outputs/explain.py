"""``convcalc explain``'s formats: text (a block per layer), JSON and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base.text import json_safe, visible
from ..engine.explain import Explanation
from . import humanize as h


def _head(e: Explanation) -> str:
    r = e.row
    summary = f" {r.summary}" if r.summary and not r.inputs else ""
    return f"{visible(r.name)} ({r.kind}{visible(summary)}): {h.shape(r.input)} → {h.shape(r.output)}"


def _result(line: str) -> str:
    """The number a derivation line ends in: ``… = 260`` → ``260``."""
    return line.rsplit(" = ", 1)[1]


def _lines(e: Explanation, batch: int) -> list[str]:
    r = e.row
    lines = [*e.sizes]
    lines += [f"params: {p}" for p in e.params]
    if len(e.params) > 1:
        lines.append("params: " + " + ".join(_result(p) for p in e.params) + f" = {r.params:,}")
    lines += [f"MACs: {m}" for m in e.macs]
    if len(e.macs) > 1:
        lines.append("MACs: " + " + ".join(_result(m) for m in e.macs) + f" = {r.macs:,}")
    if r.macs:
        lines.append(f"FLOPs: 2·{r.macs:,} = {r.flops:,}" + (f" (batch {batch})" if batch > 1 else ""))
    lines += list(e.fields)
    lines += [f"flag {f}" for f in e.flags]
    return [visible(line) for line in lines]


def write_text(explanations: Sequence[Explanation], batch: int) -> str:
    blocks = [_head(e) + "".join(f"\n  {line}" for line in _lines(e, batch)) for e in explanations]
    return "\n\n".join(blocks) + "\n"


def write_markdown(explanations: Sequence[Explanation], batch: int) -> str:
    blocks = [f"**{_head(e)}**\n\n" + "\n".join(f"- {line}" for line in _lines(e, batch)) for e in explanations]
    return "\n\n".join(blocks) + "\n"


def write_json(explanations: Sequence[Explanation], batch: int) -> str:
    import json  # start-up: only explain's JSON

    doc: list[dict[str, Any]] = [
        {
            "name": e.row.name,
            "kind": e.row.kind,
            "input": list(e.row.input.dims),
            "output": list(e.row.output.dims),
            "sizes": list(e.sizes),
            "params": list(e.params),
            "macs": list(e.macs),
            "flags": list(e.flags),
            "receptive_field": list(e.fields),
            "totals": {"params": e.row.params, "macs": e.row.macs, "flops": e.row.flops},
        }
        for e in explanations
    ]
    return json_safe(json.dumps({"schema_version": 1, "batch": batch, "layers": doc}, ensure_ascii=False, indent=2)) + "\n"
