"""``convcalc export SPEC --to torch``: the spec as a self-contained PyTorch module.

The code is :mod:`convcalc.engine.export`'s; this module writes it, as UTF-8 bytes whatever
the locale (the file declares utf-8 on its first line).
"""

from __future__ import annotations

import sys

import click

from ..base.errors import ExitCode
from ..base.text import visible
from .common import SPEC_PATH, about, load, returns_exit_code, set_option
from .declare import command
from .files import write_atomically

TARGETS = ("torch",)


@returns_exit_code
def run(spec: str, target: str, output: str | None, settings: dict[str, str] | None = None) -> int:
    from ..engine.export import export_torch  # start-up: only this command exports

    path, loaded = load(spec, settings)
    with about(path):
        code = export_torch(loaded, source=path)
    if output is None or output == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(code.encode("utf-8"))
        sys.stdout.buffer.flush()
        return ExitCode.OK
    try:
        write_atomically(output, code.encode("utf-8"))
    except OSError as err:
        click.echo(f"convcalc: error: cannot write {visible(output)}: {err.strerror or err}", err=True)
        return ExitCode.INVALID
    return ExitCode.OK


@command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option("--to", "target", type=click.Choice(TARGETS), required=True, help="The framework: torch (PyTorch).")
@click.option("-o", "--output", metavar="FILE", help="Write the code to FILE, atomically (default: standard output).")
@set_option()
def export(spec: str, target: str, output: str | None, settings: dict[str, str]) -> None:
    """Write SPEC as a self-contained PyTorch module (a Python file that imports only torch).

    Every layer's output shape is a comment; an invalid spec is one error line and exit 2.
    """
    sys.exit(run(spec, target, output, settings))
