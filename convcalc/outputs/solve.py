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
    }


def budget_text(budget: BatchBudget) -> str:
    report = budget.report
    title = f"{visible(report.name)}: " if report.name else ""
    where = f"at {report.input}, {budget.optimizer}, {report.dtype}"
    memory = f"{data_size(budget.max_memory)} ({budget.max_memory:,} bytes)"
    if not budget.batch:
        return f"{title}not one sample trains in {memory} {where}: one needs {budget.next_peak_bytes:,} bytes\n"
    return (
        f"{title}largest batch whose training step peaks within {memory} {where}: {budget.batch:,}\n"
        f"  batch {budget.batch:,}: peak {budget.peak_bytes:,} bytes ({data_size(budget.peak_bytes)})\n"
        f"  batch {budget.batch + 1:,}: peak {budget.next_peak_bytes:,} bytes ({data_size(budget.next_peak_bytes)})\n"
        "note: the peak is show --train's estimate (docs/format.md, Training figures)\n"
    )


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
