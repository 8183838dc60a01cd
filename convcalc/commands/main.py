"""The command line: parse arguments, call the library, pick a renderer, decide the exit code.

Nothing here computes a figure.  ``show`` prints its document on standard output and every
error on standard error; ``check`` prints findings and a summary on standard output.  Plain
``convcalc SPEC`` means ``convcalc show SPEC``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..base.version import __version__
from ..base.errors import ExitCode, SpecError
from .files import read_source
from ..engine.check import CHECK_FORMATS, FileResult, check_text, exit_code
from ..outputs.report import FORMATS, Terminal

SPEC_PATH = click.Path(allow_dash=True)  # a file name, so that the shell completes it; read by read_source
NO_ARGS: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("NeverRaised", (click.UsageError,), {})
)


class DefaultGroup(click.Group):
    """A group whose first argument, when it is not a command, is a spec for ``show``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


def _input_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from ..spec.parser import parse_shape

    try:
        parse_shape(value, None, "--input")
    except SpecError as err:
        raise click.BadParameter(err.message) from None
    return value


def terminal(color: str) -> Terminal:
    is_tty = sys.stdout.isatty()
    wants = {"always": True, "never": False}.get(color, is_tty and not os.environ.get("NO_COLOR"))
    width = None
    if is_tty:
        import shutil

        width = shutil.get_terminal_size().columns
    return Terminal(is_tty=is_tty or color == "always", color=wants, width=width)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="convcalc")
def main() -> None:
    """convcalc: shapes, params, MACs and FLOPs of a CNN written as a YAML layer stack.

    \b
    convcalc SPEC                 the per-layer table (same as `convcalc show SPEC`)
    convcalc show SPEC -f json    one JSON document for scripts
    convcalc check SPECS...       lint specs in CI: path:line:col findings, exit 0/1/2
    convcalc solve SPEC           which input sizes the network accepts
    convcalc kinds                every layer kind and its options

    Exit codes: 0 all good; 1 check found a problem (an unaccepted warning flag or a failed
    expect; any flag with --strict); 2 the spec or the command line is invalid.
    """


@main.command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option(
    "--input",
    "input_",
    metavar="SHAPE",
    callback=_input_option,
    help="Evaluate for this input instead of the spec's: 256x256x3 (H×W×C), 100x16 (L×C), 16x112x112x3.",
)
@click.option("--batch", type=click.IntRange(min=1), help="Batch size (MACs, FLOPs and activation memory scale).")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="table",
    show_default=True,
    help="Output format: a terminal table; json/csv/tsv with exact integers; markdown with grouped integers.",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any layer is flagged (info too) or an expect fails.")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    metavar="N",
    help="Table: fold blocks, repeats and branches nested N deep into one row with summed figures.",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour in the table; auto means only on a terminal and when NO_COLOR is not set.",
)
@click.option(
    "--rf",
    is_flag=True,
    help="Add each layer's receptive field per axis: size (min–max over positions), jump and start "
    "(a table column; rf in JSON; rf_min/rf_max/jump/start columns in CSV/TSV).",
)
def show(
    spec: str,
    input_: str | None,
    batch: int | None,
    fmt: str,
    strict: bool,
    depth: int | None,
    color: str,
    rf: bool = False,
) -> None:
    """Print the per-layer table of SPEC (a YAML file, or - for standard input)."""
    from ..api import evaluate, load_text

    path = spec
    try:
        path, text = read_source(spec)
        report = evaluate(load_text(text), input=input_, batch=batch)
    except SpecError as err:
        click.echo(err.format(path), err=True)
        sys.exit(ExitCode.INVALID)
    term = terminal(color)._replace(depth=depth, rf=rf)
    click.echo(FORMATS[fmt](report, term), nl=False, color=term.color)
    failed = strict and (report.failing_flags(strict=True) or report.failures)
    sys.exit(ExitCode.PROBLEMS if failed else ExitCode.OK)


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=SPEC_PATH)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(list(CHECK_FORMATS)),
    default="text",
    show_default=True,
    help="text (path:line:col: severity: message), json, or github (workflow annotations).",
)
@click.option("--strict", is_flag=True, help="Also fail on info flags (every non-integer size).")
def check(specs: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Check spec files for CI: validate, evaluate, verify every expect.

    Prints one finding per line and a summary, all on standard output.  Exit 0 when every file
    is clean, 1 when a file has an unaccepted warning flag (any flag with --strict) or a failed
    expect, 2 when a file is invalid.
    """
    results: list[FileResult] = []
    for spec in specs:
        try:
            path, text = read_source(spec)
        except SpecError as err:
            from ..engine.check import Finding

            results.append(FileResult(spec, ExitCode.INVALID, (Finding(spec, None, None, "error", err.message),)))
            continue
        results.append(check_text(path, text, strict))
    click.echo(CHECK_FORMATS[fmt](results), nl=False)
    sys.exit(exit_code(results))


@main.command()
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def kinds(fmt: str) -> None:
    """List every layer kind with its aliases and options."""
    from ..outputs.kinds import kinds_markdown, kinds_text

    click.echo(kinds_markdown() if fmt == "markdown" else kinds_text(), nl=False)


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=SPEC_PATH)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when an annotation is missing or stale.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the annotated spec instead of writing it (= -o -).")
@click.option("-o", "--output", metavar="FILE", help="Write the annotated spec to FILE (- for standard output).")
def annotate(specs: tuple[str, ...], check: bool, to_stdout: bool, output: str | None) -> None:
    """Write each layer's output shape at the end of its line: `# → 24×24×10` (` ⚠` if input is cut off).

    Only those comments change; a second run changes nothing.  The file is rewritten atomically
    and never when the spec is invalid (exit 2).  - reads standard input and prints the result.
    """
    from ..engine.annotate import run as run_annotate

    sys.exit(run_annotate(specs, check=check, output=output, stdout=to_stdout))


@main.command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option("--to", "target", type=click.Choice(["torch"]), required=True, help="The framework: torch (PyTorch).")
@click.option("-o", "--output", metavar="FILE", help="Write the code to FILE, atomically (default: standard output).")
def export(spec: str, target: str, output: str | None) -> None:
    """Write SPEC as a self-contained PyTorch module (a Python file that imports only torch).

    Every layer's output shape is a comment; an invalid spec is one error line and exit 2.
    """
    from ..engine.export import run as run_export

    sys.exit(run_export(spec, target, output))


@main.command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option(
    "--output",
    "output",
    metavar="SIZE",
    help="Solve backwards: the input sizes that give this output size (7x7; a length at a flatten).",
)
@click.option("--at", "at", metavar="LAYER", help="With --output: the layer (path name) that must give it.")
@click.option(
    "--input",
    "input_",
    metavar="SHAPE",
    callback=_input_option,
    help="Solve around this input instead of the spec's (its rank and channels count).",
)
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def solve(spec: str, output: str | None, at: str | None, input_: str | None, fmt: str) -> None:
    """Which input sizes SPEC accepts, per spatial axis; or, with --output, which give that output.

    \b
    clean: no warning flag anywhere (no input data cut off) and every join matches
    exact: no flag at all (every size formula divides evenly)
    With --output: the inputs that give it exactly, and those that get there by flooring.
    """
    from ..engine import solve as solver
    from ..spec.parser import load_spec, parse_shape

    path = spec
    try:
        path, text = read_source(spec)
        loaded = load_spec(text)
        if output is None:
            if at is not None:
                raise click.UsageError("--at needs --output")
            answer = solver.solve(loaded, input_)
        else:
            try:
                size = parse_shape(output, None, "--output")
            except SpecError as err:
                raise click.BadParameter(err.message, param_hint="--output") from None
            answer = solver.inverse(loaded, size, at)
    except SpecError as err:
        click.echo(err.format(path), err=True)
        sys.exit(ExitCode.INVALID)
    if fmt == "json":
        import json

        click.echo(json.dumps(solver.answer_document(answer), indent=2, ensure_ascii=False))
    else:
        click.echo(solver.answer_text(answer), nl=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors and validators."""
    from ..outputs.schema import schema_json

    click.echo(schema_json(), nl=False)


def run(argv: list[str] | None = None) -> Any:
    """The console script's entry point: command-line mistakes are one line on stderr and exit 2."""
    try:
        code = main.main(args=argv, prog_name="convcalc", standalone_mode=False)
    except NO_ARGS as err:  # plain `convcalc`: the help, as click would show it
        click.echo(err.format_message(), err=True)
        sys.exit(ExitCode.INVALID)
    except click.UsageError as err:
        hint = (
            f" (see 'convcalc {err.ctx.info_name} --help')"
            if err.ctx and err.ctx.parent
            else " (see 'convcalc --help')"
        )
        click.echo(f"convcalc: error: {err.format_message()}{hint}", err=True)
        sys.exit(ExitCode.INVALID)
    except click.ClickException as err:
        click.echo(f"convcalc: error: {err.format_message()}", err=True)
        sys.exit(ExitCode.INVALID)
    except click.Abort:
        click.echo("convcalc: aborted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `convcalc ... | head`: the reader left; that is not an error
        sys.stderr.close()
        sys.exit(ExitCode.OK)
    sys.exit(code or 0)
