"""``check``: what is wrong with each spec file, as findings.

A finding is a value (path, line, column, severity, message).  :func:`check_text` turns one
file into its findings and status; the exit code comes from the statuses alone
(:func:`exit_code`); :mod:`convcalc.outputs.check` prints them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..base.record import Record
from ..base.errors import ExitCode, SpecError
from ..base.text import visible
from .evaluate import Report, evaluate
from ..spec.parser import load_spec


class Finding(Record):
    path: str
    line: int | None
    col: int | None
    severity: str  # "error" (invalid or a failed expect), "warning" or "info" (flags)
    message: str

    def where(self) -> str:
        path = visible(self.path)  # a file's name is untrusted: no line break or escape reaches the output
        return f"{path}:{self.line}:{self.col}" if self.line is not None else path

    def text(self) -> str:
        return f"{self.where()}: {self.severity}: {visible(self.message)}"


class FileResult(Record):
    path: str
    status: ExitCode
    findings: tuple[Finding, ...]
    flags: int = 0  # all flags, failing or not
    failed_expects: int = 0


def check_text(
    text: str | bytes,
    path: str = "<text>",
    *,
    strict: bool = False,
    settings: Mapping[str, Any] | None = None,
    baseline: Mapping[str, Any] | None = None,
    allowed: Mapping[str, Any] | None = None,
) -> FileResult:
    """Validate, evaluate and check one spec; every problem becomes a finding."""
    try:
        report = evaluate(load_spec(text, settings))
    except SpecError as err:
        # Like a linter, every flag and failed expect found before the invalid part, then the
        # one error line for that part.
        before = problems(err.partial, path, strict) if isinstance(err.partial, Report) else []
        mark = err.mark
        finding = Finding(path, mark.line if mark else None, mark.col if mark else None, "error", err.message)
        flags = len(err.partial.flags) if isinstance(err.partial, Report) else 0
        return FileResult(path, ExitCode.INVALID, (*before, finding), flags, sum(f.message.startswith("expect") for f in before))
    findings = problems(report, path, strict)
    if baseline is not None:  # budgets against the baseline's figures for this spec
        from .baseline import growth, limits  # start-up: only check --baseline

        findings += [Finding(path, None, None, "error", m)
                     for m in growth(report, baseline, settings or {}, allowed or limits(None))]
    status = ExitCode.PROBLEMS if findings else ExitCode.OK
    return FileResult(path, status, tuple(findings), len(report.flags), len(report.failures))


def problems(report: Report, path: str, strict: bool) -> list[Finding]:
    """The failing flags and failed expects of ``report``, in the file's order."""
    findings = [Finding(path, f.mark.line, f.mark.col, f.severity, f.describe()) for f in report.failing_flags(strict)]
    findings += [
        Finding(path, f.mark.line if f.mark else None, f.mark.col if f.mark else None, "error", f"expect: {f.message}")
        for f in report.failures
    ]
    findings.sort(key=lambda f: (f.line or 0, f.col or 0))
    return findings


def exit_code(results: Sequence[FileResult]) -> ExitCode:
    return max((r.status for r in results), default=ExitCode.OK)
