"""``convcalc solve``'s answers as text and as a JSON document."""

from __future__ import annotations

import json

from ..base.text import json_safe, visible
from ..engine.solve import Answer
from ..engine.training import BatchBudget
from .humanize import data_size


def solve_document(answer: Answer) -> dict[str, object]:
    """The JSON form of an answer (``convcalc solve --format json``)."""
    return {
        "schema_version": 1,
        "name": answer.report.name,
        "input": list(answer.report.input.dims),
        "question": "inverse" if answer.target else "accepted",
        "target": answer.target,
        "axes": [
            {
                "axis": s.axis,
                "given": s.given,
                "levels": {
                    name: {
                        "text": lv.text,
                        "progressions": [{"start": p.start, "step": p.step, "stop": p.stop} for p in lv.progressions],
                        "below": lv.below,
                        "above": lv.above,
                    }
                    for name, lv in s.levels.items()
                },
            }
            for s in answer.solutions
        ],
        "notes": answer.notes,
    }


LEVEL_WORDS = {
    "clean": "clean (no input data cut off, every join matches)",
    "exact": "exact (every size divides evenly)",
    "floored": "by flooring (some size rounds down on the way)",
}


def budget_document(budget: BatchBudget) -> dict[str, object]:
    """The JSON form of ``solve --train --max-memory``."""
    return {
        "schema_version": 1,
        "name": budget.report.name,
        "input": list(budget.report.input.dims),
        "question": "max_memory",
        "max_memory": budget.max_memory,
        "optimizer": budget.optimizer,
        "dtype": budget.report.dtype,
        "batch": budget.batch,
        "peak_bytes": budget.peak_bytes,
        "next_peak_bytes": budget.next_peak_bytes,
        "squares": None if budget.squares is None else [
            {
                "batch": q.batch,
                "input": None if q.side is None else [*(q.side,) * budget.report.input.rank, budget.report.input.channels],
                "peak_bytes": q.peak_bytes if q.side is not None else None,
                "capped": q.capped,
            }
            for q in budget.squares
        ],
    }


def budget_text(budget: BatchBudget) -> str:
    report = budget.report
    title = f"{visible(report.name)}: " if report.name else ""
    where = f"at {report.input}, {budget.optimizer}, {report.dtype}"
    memory = f"{data_size(budget.max_memory)} ({budget.max_memory:,} bytes)"
    if not budget.batch:
        lines = [f"{title}not one sample trains in {memory} {where}: one needs {budget.next_peak_bytes:,} bytes"]
    else:
        lines = [
            f"{title}largest batch whose training step peaks within {memory} {where}: {budget.batch:,}",
            f"  batch {budget.batch:,}: peak {budget.peak_bytes:,} bytes ({data_size(budget.peak_bytes)})",
            f"  batch {budget.batch + 1:,}: peak {budget.next_peak_bytes:,} bytes ({data_size(budget.next_peak_bytes)})",
        ]
    lines += squares_lines(budget)
    lines.append("note: the peak is show --train's estimate (docs/format.md, Training figures)")
    return "\n".join(lines) + "\n"


def squares_lines(budget: BatchBudget) -> list[str]:
    """The largest square input per batch, one line each, in aligned columns."""
    x = budget.report.input
    if budget.squares is None:
        kind = "length" if x.rank == 1 else "square" if x.rank == 2 else "cube"
        return [f"largest {kind} input: none, as no {kind} input is clean and accepted (see convcalc solve SPEC)"]
    if not budget.squares:
        return []
    kind = {1: "length", 2: "square input", 3: "cube input"}[x.rank]
    rows = []
    for q in budget.squares:
        if q.side is None:
            rows.append((f"batch {q.batch:,}", "none fits", ""))
            continue
        shape = "×".join([str(q.side)] * x.rank + [str(x.channels)])
        more = " or more (the search stops there)" if q.capped else ""
        rows.append((f"batch {q.batch:,}", shape + more, f"peak {q.peak_bytes:,} bytes ({data_size(q.peak_bytes)})"))
    left = max(len(r[0]) for r in rows)
    middle = max(len(r[1]) for r in rows)
    head = f"largest {kind} per batch (clean sizes: no input data cut off, every join matching):"
    return [head, *(f"  {a.ljust(left)}  {b.ljust(middle)}  {c}".rstrip() for a, b, c in rows)]


def write_text(answer: Answer | BatchBudget) -> str:
    if isinstance(answer, BatchBudget):
        return budget_text(answer)
    report = answer.report
    title = f"{visible(report.name)}: " if report.name else ""
    if answer.target:
        lines = [f"{title}input sizes that give {answer.target}"]
    else:
        lines = [f"{title}input sizes this network accepts (spec input {report.input})"]
    for s in answer.solutions:
        lines.append(f"{s.axis} (spec: {s.given})")
        for name, lv in s.levels.items():
            near = ""
            if lv.progressions and not answer.target:
                if lv.below == lv.above == s.given:
                    near = f"  [{s.given} is in]"
                else:
                    near = f"  [nearest to {s.given}: {lv.below if lv.below is not None else '–'} below, "
                    near += f"{lv.above if lv.above is not None else '–'} above]"
            lines.append(f"  {LEVEL_WORDS[name]}: {lv.text}{near}")
    if not answer.solutions:
        lines.append("  none")
    lines += [f"note: {n}" for n in answer.notes]
    return "\n".join(lines) + "\n"


def write_json(answer: Answer | BatchBudget) -> str:
    document = budget_document(answer) if isinstance(answer, BatchBudget) else solve_document(answer)
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
