"""The click declarations every command shares, with their help texts written here.

click looks the default text of its ``--help`` and ``--version`` options and of ``click.Path``'s
name up in a gettext catalogue, and the first lookup imports :mod:`locale` and searches the
file system for catalogues convcalc does not ship: about 1 ms of every run, a tenth of
ResNet-50's ``show -f json`` beyond its dependencies (bench/startup.py).  So a command is made
by :func:`command`, which declares ``-h``/``--help`` itself, as click would and where click
would (the last option), the group declares ``--version``/``-V`` the same way, and the spec
argument has a type of its own.  The texts are click's.

click's parser also tries every option as a long one before it tries it as a short one, and for
``-f`` that failed try builds a "no such option" error, with a gettext lookup and difflib's
suggestions, only to drop it: 2 ms, for ``show -f json``.  :class:`Command` therefore gives the
parser ``-f json`` as ``--format json``, which click reads the same way (:func:`long_spelling`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

HELP = "Show this message and exit."
HELP_NAMES = ("--help", "-h")
VERSION = "Show the version and exit."
VERSION_NAMES = ("--version", "-V")


def _show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


def help_option() -> click.Option:
    """``-h``/``--help``: print the command's help and exit, before any other option is read."""
    return click.Option(list(HELP_NAMES), is_flag=True, expose_value=False, is_eager=True, callback=_show_help, help=HELP)


def version_option(line: str) -> click.Option:
    """``--version``/``-V``: print ``line`` and exit, before any other option is read."""

    def show(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            click.echo(line, color=ctx.color)
            ctx.exit()

    return click.Option(list(VERSION_NAMES), is_flag=True, expose_value=False, is_eager=True, callback=show, help=VERSION)


def long_spelling(command: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with each short option that stands alone and has its values after it (``-f json``)
    spelt long (``--format json``): the same parse, without click's failed long-option try.

    Only what is certainly an option is respelt: the walk skips each option's values, stops at
    ``--``, at anything it does not know that starts with ``-`` (``-qf`` may end in an option
    whose value comes next), and, where options cannot follow arguments (a group's, before its
command's name), at the first argument that is not an option.  An
    option short of its values keeps its spelling, so click's error names what was typed.
    """
    options: dict[str, tuple[str | None, int]] = {}  # spelling -> (its long spelling, values taken)
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        takes = 0 if param.is_flag or param.count else param.nargs
        if takes < 0 or getattr(param, "_flag_needs_value", False):  # (a flag that may take a value)
            return args  # an option of a shape this walk does not follow: left to click as typed
        longs = [o for o in param.opts if o.startswith("--")]
        for spelling in (*param.opts, *param.secondary_opts):
            short = len(spelling) == 2 and spelling in param.opts and bool(longs)
            options[spelling] = (longs[0] if short else None, takes)
    spelt: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        known = options.get(arg)
        if known is None:
            if (arg.startswith("-") and arg != "-") or not ctx.allow_interspersed_args:  # "-" is standard input
                break
            spelt.append(arg)
            i += 1
            continue
        long, takes = known
        if i + takes >= len(args):
            break
        spelt += [long or arg, *args[i + 1 : i + 1 + takes]]
        i += 1 + takes
    return spelt + args[i:]


class Command(click.Command):
    """A convcalc command: short options reach click's parser spelt long (module docstring)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, long_spelling(self, ctx, args))


def command(name: str | None = None, cls: type[click.Command] = Command, **settings: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """``@click.command(name)`` whose help option is :func:`help_option`, listed last."""

    def declare(f: Callable[..., Any]) -> click.Command:
        made: click.Command = click.command(name, cls=cls, add_help_option=False, **settings)(f)
        made.params.append(help_option())
        return made

    return declare


class SpecPath(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic from click 8.3 on
    """A spec's file name, or ``-``: taken as written (read_source reads it), completed as a file."""

    name = "path"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem  # start-up: only when the shell completes

        return [CompletionItem(incomplete, type="file")]
