"""``convcalc diff A B``: what changed between two specs (or one spec under two settings); exit 0
when nothing did, 1 when something did (as ``diff`` does), 2 on an error."""

from __future__ import annotations

import sys

import click

from ..base.errors import ExitCode
from ..outputs.formats import Terminal, writer
from .common import SPEC_PATH, about, checked_input, format_option, input_option, load
from .declare import command
from .common import returns_exit_code, set_option, settings_of


@returns_exit_code
def run(
    a: str,
    b: str,
    settings: dict[str, str] | None = None,
    a_settings: dict[str, str] | None = None,
    b_settings: dict[str, str] | None = None,
    input: str | None = None,
    fmt: str = "text",
) -> int:
    from ..engine.diff import diff  # start-up: only this command compares
    from ..engine.evaluate import evaluate

    reports, paths = [], []
    for arg, own in ((a, a_settings), (b, b_settings)):
        path, loaded = load(arg, {**(settings or {}), **(own or {})})
        checked_input(loaded, input, None)
        with about(path):
            reports.append(evaluate(loaded, input=input))
        paths.append(path)
    with about(paths[1]):
        result = diff(reports[0], reports[1], paths[0], paths[1])
    click.echo(writer(fmt, "diff")(result, Terminal()), nl=False)
    return ExitCode.PROBLEMS if result.changed else ExitCode.OK


@command()
@click.argument("a", metavar="A", type=SPEC_PATH)
@click.argument("b", metavar="B", type=SPEC_PATH)
@set_option()
@click.option("--set-a", "a_settings", metavar="NAME=VALUE", multiple=True, callback=lambda c, p, v: settings_of(v),
              help="Set one of A's args only (with the same spec twice: one spec under two settings).")
@click.option("--set-b", "b_settings", metavar="NAME=VALUE", multiple=True, callback=lambda c, p, v: settings_of(v),
              help="Set one of B's args only.")
@input_option("Compare both on this input instead of their specs'.")
@format_option("diff", "text", "text, markdown (a pull-request comment) or json.")
def diff(a: str, b: str, settings: dict[str, str], a_settings: dict[str, str], b_settings: dict[str, str],
         input_: str | None, fmt: str) -> None:
    """What changed from spec A to spec B, layer by layer (aligned by name; renames, insertions and
    removals shown as such), then the totals with deltas.  `git show REV:spec.yaml | convcalc diff
    - spec.yaml` compares a revision.  Exit 0: no change; 1: something changed; 2: an error."""
    if a == "-" and b == "-":
        raise click.UsageError("only one of A and B can be standard input (-)")
    sys.exit(run(a, b, settings, a_settings, b_settings, input_, fmt))
