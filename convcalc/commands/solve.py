"""``convcalc solve SPEC``: which input sizes a network accepts, or which give an output."""

from __future__ import annotations

import sys

import click

from ..base.errors import ExitCode, SpecError
from ..outputs.formats import writer
from .common import (
    SPEC_PATH,
    about,
    checked_input,
    format_option,
    input_option,
    load,
    rank_option,
    returns_exit_code,
    set_option,
)
from .declare import command


@returns_exit_code
def run(
    spec: str,
    output: str | None = None,
    at: str | None = None,
    input: str | None = None,
    fmt: str = "text",
    max_memory: str | None = None,
    optimizer: str = "adam",
    batches: tuple[int, ...] = (),
    rank: int | None = None,
    settings: dict[str, str] | None = None,
) -> int:
    from ..engine import solve as solver  # start-up: only this command needs the solver
    from ..spec.parser import parse_count, parse_shape

    path, loaded = load(spec, settings)
    checked_input(loaded, input, rank)
    if output is None and at is not None:
        raise click.UsageError("--at needs --output")
    if max_memory is not None and output is not None:
        raise click.UsageError("--max-memory and --output ask two questions: give one")
    if batches and max_memory is None:
        raise click.UsageError("--batch asks for --max-memory BYTES: the largest square input of a batch in that memory")
    size = None
    if output is not None:
        try:
            size = parse_shape(output, None, "--output")
        except SpecError as err:
            raise click.BadParameter(err.message, param_hint="--output") from None
    if max_memory is not None:
        from ..engine.training import largest_batch  # start-up: only with --max-memory

        try:
            memory = parse_count(max_memory, None, "--max-memory")
        except SpecError as err:
            raise click.BadParameter(err.message, param_hint="--max-memory") from None
        with about(path):
            budget = largest_batch(loaded, int(memory), optimizer, input, sorted(set(batches)) or None)
        click.echo(writer(fmt, "solve")(budget), nl=False)
        return ExitCode.OK
    with about(path):
        answer = solver.solve(loaded, input) if size is None else solver.inverse(loaded, size, at)
    click.echo(writer(fmt, "solve")(answer), nl=False)
    return ExitCode.OK


@command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option(
    "--output",
    "output",
    metavar="SIZE",
    help="Solve backwards: the input sizes that give this output size (7x7; a length at a flatten).",
)
@click.option("--at", "at", metavar="LAYER", help="With --output: the layer (path name) that must give it.")
@input_option("Solve around this input instead of the spec's (its rank and channels count).")
@rank_option()
@click.option("--train", is_flag=True, help="With --max-memory: a training step's peak (the default and only question).")
@click.option(
    "--max-memory",
    metavar="BYTES",
    help="The largest batch whose training step peaks under this memory (24GiB, 80GiB); implies --train.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "momentum", "adam", "adamw"]),
    default="adam",
    show_default=True,
    help="With --max-memory: the optimizer whose state the step holds.",
)
@click.option(
    "--batch",
    "batches",
    type=click.IntRange(min=1),
    multiple=True,
    metavar="N",
    help="With --max-memory: give the largest square input of this batch (repeatable; default: "
    "powers of two up to the largest batch).",
)
@format_option("solve", "text")
@set_option()
def solve(
    spec: str,
    output: str | None,
    at: str | None,
    input_: str | None,
    rank: int | None,
    train: bool,
    max_memory: str | None,
    optimizer: str,
    batches: tuple[int, ...],
    fmt: str,
    settings: dict[str, str],
) -> None:
    """Which input sizes SPEC accepts, per spatial axis; or, with --output, which give that output;
    or, with --train --max-memory, the largest batch that trains in that memory, and per batch
    the largest square input.

    \b
    clean: no warning flag anywhere (no input data cut off) and every join matches
    exact: no flag at all (every size formula divides evenly)
    With --output: the inputs that give it exactly, and those that get there by flooring.
    """
    if train and max_memory is None:
        raise click.UsageError("--train asks for --max-memory BYTES (24GiB): the memory a step must fit")
    sys.exit(run(spec, output, at, input_, fmt, max_memory, optimizer, batches, rank, settings))
