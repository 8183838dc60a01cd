"""The ``convcalc`` command group and the console script's entry point.

Each command lives in a module of its own beside this one (its click declaration and a
``run`` that returns the exit code); this module gathers them, makes a first argument that is
not a command a spec for ``show``, and turns command-line mistakes into one line on standard
error with exit 2.
"""

from __future__ import annotations

import gc
import os
import sys
from importlib import import_module
from typing import Any

import click

from ..base.errors import ExitCode
from ..base.text import suggest, visible
from ..base.version import __version__
from .declare import HELP_NAMES, VERSION_NAMES, command, long_spelling, version_option

NO_ARGS: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("NeverRaised", (click.UsageError,), {})
)


# Each command's module, in the order `convcalc --help` lists them.  A command's module is
# imported when that command runs (or when --help lists them all), so `--version` imports
# neither the other commands nor PyYAML (click's "lazily loading subcommands" pattern).
COMMANDS = ("show", "check", "solve", "explain", "draw", "sweep", "diff", "kinds", "annotate", "export", "import", "schema",
            "help", "version")
MODULES = {"import": ("importer", "import_command")}  # a command whose name is a Python keyword
GROUP_OPTIONS = (*HELP_NAMES, *VERSION_NAMES)  # each long name, then its short one
VERSION_LINE = f"convcalc, version {__version__}"  # --version, -V and `convcalc version`


class DefaultGroup(click.Group):
    """The commands, loaded on use; a first argument that is not a command is a spec for ``show``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name in ("help", "version"):
            return help_command if cmd_name == "help" else version_command
        module, attribute = MODULES.get(cmd_name, (cmd_name, cmd_name))
        command: click.Command = getattr(import_module(f"{__package__}.{module}"), attribute)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in COMMANDS and args[0] not in GROUP_OPTIONS:
            first = args[0]
            if first.startswith("--") and "=" not in first and not _show_option(first):
                raise click.UsageError(f"no such option '{visible(first)}'{suggest(first, GROUP_OPTIONS[::2])}")
            looks_like_a_file = "." in first or "/" in first or os.sep in first
            if first != "-" and not first.startswith("-") and not looks_like_a_file and not os.path.exists(first):
                close = suggest(first, COMMANDS)
                if close:  # a misspelt command rather than a missing file
                    raise click.UsageError(
                        f"no command '{visible(first)}'{close} To read a file of that name: convcalc show ./{visible(first)}"
                    )
            args = ["show", *args]
        return super().parse_args(ctx, long_spelling(self, ctx, args))


def _show_option(word: str) -> bool:
    """Whether ``word`` is one of ``show``'s long options (``convcalc --depth 1 SPEC`` is ``show``'s)."""
    show: click.Command = import_module(f"{__package__}.show").show
    return any(word in p.opts for p in show.params)


@command(cls=DefaultGroup, params=[version_option(VERSION_LINE)], context_settings={"help_option_names": list(HELP_NAMES)})
def main() -> None:
    """convcalc: shapes, params, MACs and FLOPs of a CNN written as a YAML layer stack.

    \b
    convcalc SPEC                 the per-layer table (same as `convcalc show SPEC`)
    convcalc show SPEC -f json    one JSON document for scripts
    convcalc check SPECS...       lint specs in CI: path:line:col findings, exit 0/1/2
    convcalc solve SPEC           which input sizes the network accepts
    convcalc draw SPEC -o F.svg   a picture of the network with its exact shapes
    convcalc sweep SPEC --vary …  a row per variant of its args and input sizes
    convcalc diff A B             what changed, layer by layer (exit 1 if anything)
    convcalc import MODEL.onnx    an ONNX (or PyTorch) model read back into a spec
    convcalc kinds                every layer kind and its options

    Exit codes: 0 all good; 1 check found a problem (an unaccepted warning flag or a failed
    expect; any flag with --strict); 2 the spec or the command line is invalid.
    """


@command("help")
@click.argument("command", required=False, metavar="[COMMAND]")
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> None:
    """Show the help of convcalc, or of COMMAND."""
    group = ctx.parent.command if ctx.parent else main
    assert isinstance(group, click.Group)
    if command is None:
        click.echo((ctx.parent or ctx).get_help())
        return
    found = group.get_command(ctx, command)
    if found is None:
        raise click.UsageError(f"no command '{visible(command)}'{suggest(command, COMMANDS)}")
    with click.Context(found, info_name=command, parent=ctx.parent) as sub:
        click.echo(found.get_help(sub))


@command("version")
def version_command() -> None:
    """Show the version (as --version and -V do)."""
    click.echo(VERSION_LINE)


def run(argv: list[str] | None = None) -> Any:
    """The console script's entry point: command-line mistakes are one line on stderr and exit 2.

    The cyclic garbage collector is off for the run: a walk allocates one object graph that lives
    until the process exits and makes no reference cycles, so each collection only re-scanned the
    growing graph (a third of the time of a 10⁵-row spec).  Memory stays bounded by the budgets.
    """
    gc.disable()
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
        click.echo(f"convcalc: error: {visible(' '.join(err.format_message().split()))}{hint}", err=True)
        sys.exit(ExitCode.INVALID)
    except click.ClickException as err:
        click.echo(f"convcalc: error: {visible(' '.join(err.format_message().split()))}", err=True)
        sys.exit(ExitCode.INVALID)
    except click.Abort:
        click.echo("convcalc: aborted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `convcalc ... | head`: the reader left; that is not an error
        sys.stderr.close()
        sys.exit(ExitCode.OK)
    finally:
        gc.enable()  # for a caller that runs the command in its own process and goes on
    sys.exit(code or 0)
