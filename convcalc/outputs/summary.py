"""``show --summary`` and ``show`` of several specs or sizes: one row per network and input.

Every format a summary has is here: the text table (humanised), JSON (one document, exact
integers), CSV/TSV and Markdown.  The per-spec documents of ``show`` with several specs and no
summary are :func:`json_lines` (one compact JSON document a line) and :func:`prefixed_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base.text import json_safe, visible
from ..engine.evaluate import Report
from . import humanize as h
from .formats import Terminal

SUMMARY_COLUMNS = ("spec", "name", "input", "output", "params", "macs", "flops", "activation_bytes", "param_bytes",
                   "warnings", "infos")

Entry = tuple[str, Report]  # the spec's path as given, its report (for one input)


def summary_rows(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    rows = []
    for path, report in entries:
        t = report.totals
        unaccepted = [f for f in report.flags if not f.accepted]
        rows.append({
            "spec": path,
            "name": report.name,
            "input": list(report.input.dims),
            "output": list(report.output.dims),
            "params": t.params,
            "macs": t.macs,
            "flops": t.flops,
            "activation_bytes": t.activation_bytes,
            "param_bytes": t.param_bytes,
            "warnings": sum(f.severity == "warning" for f in unaccepted),
            "infos": sum(f.severity == "info" for f in unaccepted),
        })
    return rows


def write_json(entries: Sequence[Entry], term: Terminal) -> str:
    import json  # start-up: only the JSON summary

    return json_safe(json.dumps({"schema_version": 1, "summary": summary_rows(entries)}, ensure_ascii=False, indent=2)) + "\n"


def _cell(value: Any) -> Any:
    """A CSV cell: a shape as ``224x224x3``; text from a spec or a file name with its control
    characters shown (``\x1b``), as every text output does."""
    if isinstance(value, list):
        return "x".join(map(str, value))
    return visible(value) if isinstance(value, str) else value


def _delimited(entries: Sequence[Entry], delimiter: str) -> str:
    import csv  # start-up: only the CSV and TSV summaries
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for row in summary_rows(entries):
        writer.writerow([_cell(row[c]) for c in SUMMARY_COLUMNS])
    return out.getvalue()


def write_csv(entries: Sequence[Entry], term: Terminal) -> str:
    return _delimited(entries, ",")


def write_tsv(entries: Sequence[Entry], term: Terminal) -> str:
    return _delimited(entries, "\t")


def _cells(entries: Sequence[Entry], exact: bool) -> tuple[list[str], list[list[str]]]:
    num = h.grouped if exact else h.count
    head = ["spec", "input", "output", "params", "MACs", "FLOPs", "activations", "flags"]
    body = []
    for row, (_, report) in zip(summary_rows(entries), entries):
        flags = ", ".join(f"{n} {w}" for n, w in ((row["warnings"], "warning"), (row["infos"], "info")) if n)
        body.append([
            visible(row["spec"]), h.shape(report.input), h.shape(report.output), num(row["params"]),
            num(row["macs"]), num(row["flops"]), h.data_size(row["activation_bytes"]), flags,
        ])
    return head, body


def write_table(entries: Sequence[Entry], term: Terminal) -> str:
    head, body = _cells(entries, exact=False)
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    right = [False, True, True, True, True, True, True, False]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(head), *(line(r) for r in body)]) + "\n"


def write_markdown(entries: Sequence[Entry], term: Terminal) -> str:
    head, body = _cells(entries, exact=True)
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|--:|--:|--:|--:|---|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def json_lines(entries: Sequence[Entry], term: Terminal) -> str:
    """``show`` of several specs in JSON: each spec's document on a line of its own (JSON Lines)."""
    from .report import json_encoder, report_document  # start-up: only several specs in JSON

    dump = json_encoder()
    return "".join(json_safe(dump({"spec": path, **report_document(report, term.rf, term.train, memory=term.memory)})) + "\n"
                   for path, report in entries)


def prefixed_rows(entries: Sequence[Entry], term: Terminal, delimiter: str) -> str:
    """``show`` of several specs in CSV or TSV: every layer row, a first column naming its spec."""
    from .report import write_csv, write_tsv  # start-up: only several specs in CSV or TSV

    import csv  # start-up: only several specs in CSV or TSV
    import io

    write = write_csv if delimiter == "," else write_tsv
    out = []
    for k, (path, report) in enumerate(entries):
        lines = write(report, term).splitlines()
        cell = io.StringIO()
        csv.writer(cell, delimiter=delimiter, lineterminator="").writerow([visible(path)])  # quoted as CSV quotes
        out += ([f"spec{delimiter}{lines[0]}"] if k == 0 else []) + [f"{cell.getvalue()}{delimiter}{line}" for line in lines[1:]]
    return "\n".join(out) + "\n"


def several_csv(entries: Sequence[Entry], term: Terminal) -> str:
    return prefixed_rows(entries, term, ",")


def several_tsv(entries: Sequence[Entry], term: Terminal) -> str:
    return prefixed_rows(entries, term, "\t")


def several_markdown(entries: Sequence[Entry], term: Terminal) -> str:
    from .report import write_markdown  # start-up: only several specs in Markdown

    return "\n".join(write_markdown(report, term) for _, report in entries)


def several_tables(entries: Sequence[Entry], term: Terminal) -> str:
    from .report import write_table  # start-up: only several specs in a table

    return "\n".join(write_table(report, term) for _, report in entries)
