"""``convcalc annotate SPEC...``: each layer's output shape as a comment at the end of its line.

The annotating is :mod:`convcalc.engine.annotate`'s; this module reads and writes the files.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from ..base.errors import ExitCode, SpecError
from ..base.text import visible
from .common import SPEC_PATH, Invalid, about, read
from .declare import command
from .files import STDIN, write_atomically


def run(specs: Sequence[str], check: bool = False, output: str | None = None, stdout: bool = False) -> int:
    """The exit code; usage mistakes raise click.UsageError."""
    from ..engine.annotate import annotate_text  # start-up: only this command annotates

    if stdout:
        if output not in (None, STDIN):
            raise click.UsageError("--stdout and -o FILE contradict each other: give one")
        output = STDIN
    if output is not None and check:
        raise click.UsageError("--check writes nothing: drop --stdout / -o")
    if output is not None and len(specs) > 1:
        raise click.UsageError("--stdout / -o take a single SPEC")
    if not check and STDIN in specs and len(specs) > 1:
        raise click.UsageError("- (standard input) is annotated to standard output: give it alone")
    status = ExitCode.OK
    for spec in specs:
        try:
            with about(spec):
                if any(name.lower().endswith(".json") for name in (spec, output or "")):
                    raise SpecError("JSON has no comments: annotate writes YAML comments, so give it a YAML spec")
            path, data = read(spec)
            with about(path):
                result = annotate_text(data)
        except Invalid as err:
            status = max(status, ExitCode(err.show()))
            continue
        for line in result.skipped:
            click.echo(f"{visible(path)}:{line}: note: not annotated: a value continues past the end of this line", err=True)
        if check:
            for c in result.changes:
                found = f", found '{c.found}'" if c.found is not None else " (missing)"
                click.echo(f"{visible(path)}:{c.line}: expected '{c.expected}'{found}")
            if result.changes:
                status = max(status, ExitCode.PROBLEMS)
            continue
        encoded = result.text.encode("utf-8")
        if output == STDIN or (output is None and spec == STDIN):
            sys.stdout.flush()
            sys.stdout.buffer.write(encoded)
            sys.stdout.buffer.flush()
            continue
        target = output if output is not None else spec
        if output is None and not result.changes:
            continue  # already current: leave the file (and its modification time) alone
        try:
            write_atomically(target, encoded)
        except OSError as err:
            status = max(status, ExitCode(Invalid(target, SpecError(f"cannot write the file: {err.strerror or err}")).show()))
    return int(status)


@command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=SPEC_PATH)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when an annotation is missing or stale.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the annotated spec instead of writing it (= -o -).")
@click.option("-o", "--output", metavar="FILE", help="Write the annotated spec to FILE (- for standard output).")
def annotate(specs: tuple[str, ...], check: bool, to_stdout: bool, output: str | None) -> None:
    """Write each layer's output shape at the end of its line: `# → 24×24×10` (` ⚠` if input is cut off).

    Only those comments change; a second run changes nothing.  The file is rewritten atomically
    and never when the spec is invalid (exit 2).  - reads standard input and prints the result.
    """
    sys.exit(run(specs, check=check, output=output, stdout=to_stdout))
