"""``convcalc check SPEC...``: a linter for CI; findings and a summary on standard output."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from ..base.errors import ExitCode, SpecError
from ..outputs.formats import writer
from .common import SPEC_PATH, Invalid, format_option, read, set_option
from .declare import command


def run(
    specs: Sequence[str],
    fmt: str = "text",
    strict: bool = False,
    settings: dict[str, str] | None = None,
    baseline: str | None = None,
    max_growth: str | None = None,
) -> int:
    """Every file's findings (an unreadable file is one error finding), then the exit code."""
    from ..engine.check import FileResult, Finding, check_text, exit_code  # start-up: not for --help

    figures: dict[str, dict[str, Any]] = {}
    allowed = None
    if baseline is not None:
        from ..engine.baseline import key, limits, read as read_baseline  # start-up: only with --baseline

        path, data = read(baseline)
        try:
            figures = read_baseline(data.decode("utf-8", errors="replace"), path)
            allowed = limits(max_growth)
        except SpecError as err:
            return Invalid(path, err).show()
    results: list[FileResult] = []
    for spec in specs:
        try:
            path, text = read(spec)
        except Invalid as err:
            finding = Finding(err.path, None, None, "error", err.error.message)
            results.append(FileResult(err.path, ExitCode.INVALID, (finding,)))
            continue
        base = figures.get(key(path)) if baseline is not None else None
        results.append(check_text(text, path, strict=strict, settings=settings, baseline=base, allowed=allowed))
    click.echo(writer(fmt, "check")(results), nl=False)
    return int(exit_code(results))


@command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=SPEC_PATH)
@format_option("check", "text", "text (path:line:col: severity: message), json, or github (workflow annotations).")
@click.option("--strict", is_flag=True, help="Also fail on info flags (every non-integer size).")
@set_option()
@click.option("--baseline", metavar="FILE",
              help="Fail a spec whose params, MACs or training peak grew past --max-growth against FILE "
              "(made by show --baseline-out SPECS, or JSON Lines of show -f json on several specs).")
@click.option("--max-growth", metavar="PERCENT", help="With --baseline: 5% (the default) for every figure, or "
              "params=2%,macs=10%,peak=5%.")
def check(specs: tuple[str, ...], fmt: str, strict: bool, settings: dict[str, str], baseline: str | None,
          max_growth: str | None) -> None:
    """Check spec files for CI: validate, evaluate, verify every expect.

    Prints one finding per line and a summary, all on standard output.  Exit 0 when every file
    is clean, 1 when a file has an unaccepted warning flag (any flag with --strict) or a failed
    expect, 2 when a file is invalid.
    """
    if max_growth is not None and baseline is None:
        raise click.UsageError("--max-growth needs --baseline FILE")
    sys.exit(run(specs, fmt, strict, settings, baseline, max_growth))
