"""``convcalc kinds``: every layer kind with its aliases and options (docs/kinds.md is -f markdown)."""

from __future__ import annotations

import click

from ..base.errors import SpecError
from ..outputs.formats import writer
from .common import format_option
from .declare import command


@command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@format_option("kinds", "text")
def kinds(names: tuple[str, ...], fmt: str) -> None:
    """List every layer kind with its aliases and options, and the constructs; or only NAME...
    (a kind, one of its spellings, or a construct)."""
    try:
        text = writer(fmt, "kinds")(names)
    except SpecError as err:
        raise click.UsageError(err.message) from None
    click.echo(text, nl=False)
