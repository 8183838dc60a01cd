"""``convcalc sweep``'s formats: a table (humanised, warnings in red on a terminal), JSON, CSV,
TSV and Markdown (exact integers).  A row per variant: the varied args, the input when sizes
vary, the output, params, MACs, FLOPs, the training peak with --train, and the flags."""

from __future__ import annotations

from typing import Any

from ..base.text import json_safe, visible
from ..engine.sweep import Sweep, Variant
from . import humanize as h
from .formats import Terminal

RED, PLAIN = "\x1b[31m", "\x1b[0m"


def _value(value: Any) -> str:
    return visible(value) if isinstance(value, str) else ("true" if value is True else "false" if value is False else str(value))


def rows(sweep: Sweep) -> list[dict[str, Any]]:
    out = []
    for v in sweep.variants:
        row: dict[str, Any] = {name: value for name, value in v.settings}
        row.update({"input": list(v.input.dims), "output": list(v.output.dims), "params": v.params, "buffers": v.buffers,
                    "macs": v.macs, "flops": v.flops})
        if sweep.train:
            row["train_peak_bytes"] = v.train_peak
        row.update({"flags": v.flags, "warnings": v.warnings})
        out.append(row)
    return out


def write_json(sweep: Sweep, term: Terminal) -> str:
    import json  # start-up: only the JSON sweep

    document = {"schema_version": 1, "spec": sweep.path, "varied": list(sweep.names), "train": sweep.train,
                "variants": rows(sweep)}
    return json_safe(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


def _delimited(sweep: Sweep, delimiter: str) -> str:
    import csv  # start-up: only the CSV and TSV sweeps
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    table = rows(sweep)
    head = list(table[0]) if table else [*sweep.names, "input", "output", "params", "buffers", "macs", "flops"]
    writer.writerow([visible(c) for c in head])
    for row in table:
        writer.writerow(["x".join(map(str, v)) if isinstance(v, list) else _value(v) for v in row.values()])
    return out.getvalue()


def write_csv(sweep: Sweep, term: Terminal) -> str:
    return _delimited(sweep, ",")


def write_tsv(sweep: Sweep, term: Terminal) -> str:
    return _delimited(sweep, "\t")


def _cells(sweep: Sweep, exact: bool) -> tuple[list[str], list[list[str]], list[bool]]:
    num = h.grouped if exact else h.count
    head = [visible(n) for n in sweep.names] + ["input", "output", "params", "MACs", "FLOPs"]
    head += ["train peak"] if sweep.train else []
    head += ["flags"]
    body = []
    for v in sweep.variants:
        flags = ", ".join(f"{n} {w}" for n, w in ((v.warnings, "warning"), (v.flags - v.warnings, "info")) if n)
        cells = [_value(value) for _, value in v.settings]
        cells += [h.shape(v.input), h.shape(v.output), num(v.params), num(v.macs), num(v.flops)]
        cells += [h.data_size(v.train_peak or 0)] if sweep.train else []
        body.append([*cells, flags])
    right = [True] * (len(head) - 1) + [False]
    return head, body, right


def write_table(sweep: Sweep, term: Terminal) -> str:
    head, body, right = _cells(sweep, exact=False)
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]

    def line(cells: list[str], variant: Variant | None = None) -> str:
        text = "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()
        return f"{RED}{text}{PLAIN}" if term.color and variant is not None and variant.warnings else text

    lines = [line(head), *(line(cells, v) for cells, v in zip(body, sweep.variants))]
    if not sweep.variants:
        lines.append("(no variant passes --where)")
    return "\n".join(lines) + "\n"


def write_markdown(sweep: Sweep, term: Terminal) -> str:
    head, body, right = _cells(sweep, exact=True)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("--:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"
