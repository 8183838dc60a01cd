"""``convcalc kinds``: every layer kind with its aliases and options (docs/kinds.md is -f markdown)."""

from __future__ import annotations

import click

from ..outputs.formats import writer
from .common import format_option


@click.command()
@format_option("kinds", "text")
def kinds(fmt: str) -> None:
    """List every layer kind with its aliases and options."""
    click.echo(writer(fmt, "kinds")(), nl=False)
