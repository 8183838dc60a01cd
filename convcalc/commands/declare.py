"""The click declarations every command shares, with their help texts written here.

click looks the default text of its ``--help`` and ``--version`` options and of ``click.Path``'s
name up in a gettext catalogue, and the first lookup imports :mod:`locale` and searches the
file system for catalogues convcalc does not ship: about 1 ms of every run, a tenth of
ResNet-50's ``show -f json`` beyond its dependencies (bench/startup.py).  So a command is made
by :func:`command`, which declares ``-h``/``--help`` itself, as click would and where click
would (the last option), the group declares ``--version``/``-V`` the same way, and the spec
argument has a type of its own.  The texts are click's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

HELP = "Show this message and exit."
HELP_NAMES = ("-h", "--help")
VERSION = "Show the version and exit."


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

    return click.Option(["--version", "-V"], is_flag=True, expose_value=False, is_eager=True, callback=show, help=VERSION)


def command(name: str | None = None, cls: type[click.Command] = click.Command, **settings: Any) -> Callable[[Callable[..., Any]], click.Command]:
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
