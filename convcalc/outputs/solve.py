"""``convcalc solve``'s answers as text and as a JSON document."""

from __future__ import annotations

import json

from ..base.text import json_safe, visible
from ..engine.solve import Answer


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


def write_text(answer: Answer) -> str:
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


def write_json(answer: Answer) -> str:
    return json_safe(json.dumps(solve_document(answer), indent=2, ensure_ascii=False)) + "\n"
