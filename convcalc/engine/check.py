"""``check``: what is wrong with each spec file, as findings, and the formats that print them.

A finding is a value (path, line, column, severity, message).  :func:`check_text` turns one
file into its findings and status; the renderers in :data:`CHECK_FORMATS` print them; the
exit code comes from the statuses alone (:func:`exit_code`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..base.errors import ExitCode, SpecError
from .evaluate import evaluate
from ..spec.parser import load_spec


class Finding(NamedTuple):
    path: str
    line: int | None
    col: int | None
    severity: str  # "error" (invalid or a failed expect), "warning" or "info" (flags)
    message: str

    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col}" if self.line is not None else self.path

    def text(self) -> str:
        return f"{self.where()}: {self.severity}: {self.message}"


class FileResult(NamedTuple):
    path: str
    status: ExitCode
    findings: tuple[Finding, ...]
    flags: int = 0  # all flags, failing or not
    failed_expects: int = 0


def check_text(path: str, text: str | bytes, strict: bool = False) -> FileResult:
    """Validate, evaluate and check one spec; every problem becomes a finding."""
    try:
        report = evaluate(load_spec(text))
    except SpecError as err:
        mark = err.mark
        finding = Finding(path, mark.line if mark else None, mark.col if mark else None, "error", err.message)
        return FileResult(path, ExitCode.INVALID, (finding,))
    findings = [Finding(path, f.mark.line, f.mark.col, f.severity, f.describe()) for f in report.failing_flags(strict)]
    findings += [
        Finding(path, f.mark.line if f.mark else None, f.mark.col if f.mark else None, "error", f"expect: {f.message}")
        for f in report.failures
    ]
    findings.sort(key=lambda f: (f.line or 0, f.col or 0))
    status = ExitCode.PROBLEMS if findings else ExitCode.OK
    return FileResult(path, status, tuple(findings), len(report.flags), len(report.failures))


def exit_code(results: Sequence[FileResult]) -> ExitCode:
    return max((r.status for r in results), default=ExitCode.OK)


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


CheckRenderer = Callable[[Sequence[FileResult]], str]
CHECK_FORMATS: dict[str, CheckRenderer] = {}


def check_renderer(name: str) -> Callable[[CheckRenderer], CheckRenderer]:
    def add(fn: CheckRenderer) -> CheckRenderer:
        if name in CHECK_FORMATS:
            raise ValueError(f"check format {name!r} is defined twice")
        CHECK_FORMATS[name] = fn
        return fn

    return add


@check_renderer("text")
def render_text(results: Sequence[FileResult]) -> str:
    return "".join(f.text() + "\n" for r in results for f in r.findings) + summary(results) + "\n"


def _escape(value: str, *, prop: bool) -> str:
    """GitHub workflow-command escaping (properties also escape ':' and ',')."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


@check_renderer("github")
def render_github(results: Sequence[FileResult]) -> str:
    lines = []
    for r in results:
        for f in r.findings:
            props = [f"file={_escape(f.path, prop=True)}"]
            if f.line is not None:
                props += [f"line={f.line}", f"col={f.col}"]
            props.append(f"title={_escape('convcalc ' + f.severity, prop=True)}")
            lines.append(f"::error {','.join(props)}::{_escape(f.message, prop=False)}")
    return "".join(line + "\n" for line in lines) + summary(results) + "\n"


@check_renderer("json")
def render_json(results: Sequence[FileResult]) -> str:
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
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
