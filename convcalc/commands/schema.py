"""``convcalc schema``: the JSON Schema of the spec format, for editors and validators."""

from __future__ import annotations

import click

from .declare import command


@command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors and validators."""
    from ..outputs.schema import schema_json  # start-up: the schema walks every kind

    click.echo(schema_json(), nl=False)
