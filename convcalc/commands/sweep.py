"""``convcalc sweep SPEC --vary width=0.5,0.75,1 --sizes 160..224/32``: every variant in one process."""

from __future__ import annotations

import sys

import click

from ..base.errors import ExitCode
from ..base.text import visible
from ..outputs.formats import writer
from .common import SPEC_PATH, about, format_option, read, returns_exit_code, set_option
from .show import terminal


def _vary(values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for given in values:
        name, sep, text = given.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{visible(given)!r} is not NAME=V1,V2,… or NAME=FIRST..LAST/STEP", param_hint="'--vary'")
        pairs.append((name.strip(), text))
    return pairs


@returns_exit_code
def run(
    spec: str,
    vary: list[tuple[str, str]],
    sizes: str | None = None,
    settings: dict[str, str] | None = None,
    batch: int | None = None,
    train: str | None = None,
    where: str | None = None,
    front: str | None = None,
    fmt: str = "table",
    color: str = "auto",
) -> int:
    from ..engine.sweep import Sweep, pareto, sweep, where_test  # start-up: only this command sweeps

    path, text = read(spec)
    with about(path):
        test = where_test(where) if where else None  # a bad --where is found before any evaluation
        variants = sweep(text, vary, sizes, settings, batch, train)
        if test is not None:
            variants = [v for v in variants if test(v)]
        if front:
            variants = pareto(variants, [f.strip() for f in front.split(",")])
    result = Sweep(path, tuple(name for name, _ in vary), train, tuple(variants))
    term = terminal(color)
    click.echo(writer(fmt, "sweep")(result, term), nl=False, color=term.color)
    return ExitCode.OK


@click.command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option("--vary", "vary", metavar="NAME=V1,V2,…", multiple=True, callback=lambda ctx, param, values: _vary(values),
              help="One of the spec's args and its values: width=0.5,0.75,1.0, or a range depth=1..3/1 (both ends "
              "in); repeat for more args (every combination is a variant).")
@click.option("--sizes", metavar="S1,S2,…",
              help="Input sizes: 160,192,224 or 160..320/32, a size on every spatial axis with the spec's channels, "
              "or full shapes such as 160x160x3.")
@set_option()
@click.option("--batch", type=click.IntRange(min=1), help="Batch size (MACs, FLOPs and memory scale).")
@click.option("--train", "train", flag_value="adam", default=None,
              help="Add a column with a training step's peak memory (Adam; about doubles the time).")
@click.option("--where", metavar="TEST",
              help="Keep the variants that pass: 'macs <= 300M and params < 4M' (params, buffers, macs, flops, flags, "
              "warnings, peak; < <= == != >= >; K/M/G/T; and binds tighter than or).")
@click.option("--pareto", "front", metavar="F1,F2",
              help="Keep the variants that no other beats on every figure named (all minimised): --pareto params,macs.")
@format_option("sweep", "table")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the table (warnings in red): auto is only on a terminal, and not with NO_COLOR set.")
def sweep(spec: str, vary: list[tuple[str, str]], sizes: str | None, settings: dict[str, str], batch: int | None,
          train: str | None, where: str | None, front: str | None, fmt: str, color: str) -> None:
    """Evaluate SPEC for every combination of --vary values and --sizes, in one process: a row per
    variant with its args, input, output, params, MACs, FLOPs and flags."""
    if not vary and not sizes:
        raise click.UsageError("give what to vary: --vary NAME=V1,V2,… (the spec's args) and/or --sizes S1,S2,…")
    sys.exit(run(spec, vary, sizes, settings, batch, train, where, front, fmt, color))
