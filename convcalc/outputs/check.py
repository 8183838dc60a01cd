"""``convcalc check``'s findings as text, GitHub workflow commands and a JSON document."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..base.errors import ExitCode
from ..base.text import json_safe, visible
from ..engine.check import FileResult, exit_code


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(results: Sequence[FileResult]) -> str:
    n = len(results)
    clean = sum(r.status == ExitCode.OK for r in results)
    problems = sum(r.status == ExitCode.PROBLEMS for r in results)
    invalid = sum(r.status == ExitCode.INVALID for r in results)
    flags = sum(f.severity in ("warning", "info") for r in results for f in r.findings)
    expects = sum(r.failed_expects for r in results)
    verdict = "all clean" if clean == n else f"{clean} clean, {problems} with problems, {invalid} invalid"
    details = f" ({plural(flags, 'failing flag')}, {plural(expects, 'failed expectation')})" if problems else ""
    return f"checked {plural(n, 'file')}: {verdict}{details}"


def write_text(results: Sequence[FileResult]) -> str:
    return "".join(f.text() + "\n" for r in results for f in r.findings) + summary(results) + "\n"


def _escape(value: str, *, prop: bool) -> str:
    """GitHub workflow-command escaping (properties also escape ':' and ',')."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    value = visible(value)  # then no other control character reaches the log either
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def write_github(results: Sequence[FileResult]) -> str:
    lines = []
    for r in results:
        for f in r.findings:
            props = [f"file={_escape(f.path, prop=True)}"]
            if f.line is not None:
                props += [f"line={f.line}", f"col={f.col}"]
            props.append(f"title={_escape('convcalc ' + f.severity, prop=True)}")
            lines.append(f"::error {','.join(props)}::{_escape(f.message, prop=False)}")
    return "".join(line + "\n" for line in lines) + summary(results) + "\n"


def write_json(results: Sequence[FileResult]) -> str:
    document = {
        "schema_version": 1,
        "files": [
            {
                "path": r.path,
                "status": {0: "clean", 1: "problems", 2: "invalid"}[int(r.status)],
                "findings": [
                    {"line": f.line, "col": f.col, "severity": f.severity, "message": f.message} for f in r.findings
                ],
            }
            for r in results
        ],
        "exit_code": int(exit_code(results)),
        "summary": summary(results),
    }
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
