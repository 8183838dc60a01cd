"""``convcalc sweep SPEC --vary width=0.5,0.75,1 --sizes 160..224/32``: every variant in one process."""

from __future__ import annotations

import os
import sys

import click

from ..base.errors import ExitCode
from ..base.text import visible
from ..outputs.formats import writer
from .common import SPEC_PATH, about, format_option, read, returns_exit_code, set_option
from .declare import command
from .files import write_atomically
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
    plot: str | None = None,
    axes: str | None = None,
) -> int:
    from ..engine.sweep import Sweep, axes_of, pareto, sweep, where_test  # start-up: only this command sweeps

    to_file = plot not in (None, "-")
    if plot == "-":  # --plot alone: the plot is the output, in the terminal
        if fmt not in ("table", "plot"):
            raise click.UsageError(f"--plot alone draws in the terminal, not as -f {fmt}: give --plot FILE.svg|png|pdf")
        fmt = "plot"
    plot_format = _plot_file(None, None, plot)
    if axes and not plot and fmt not in (*PLOT_FILES, "plot"):
        raise click.UsageError("--axes chooses the plot's axes: give it with --plot (or -f plot, svg, png or pdf)")
    path, text = read(spec)
    with about(path):
        test = where_test(where) if where else None  # a bad --where is found before any evaluation
        variants = sweep(text, vary, sizes, settings, batch, train)
        if test is not None:
            variants = [v for v in variants if test(v)]
        if front:
            variants = pareto(variants, [f.strip() for f in front.split(",")])
        result = Sweep(path, tuple(name for name, _ in vary), train, tuple(variants))
        result = result._replace(axes=axes_of(axes, result))
    term = terminal(color)
    if to_file:
        from ..outputs.plot import PlotterMissing  # start-up: only a plot to a file

        if not variants:
            click.echo(f"convcalc: error: no variant passes --where: there is no plot to write to {visible(plot or '')}",
                       err=True)
            return ExitCode.INVALID
        try:
            data = writer(plot_format, "sweep")(result, term)
        except PlotterMissing as err:
            click.echo(f"convcalc: error: {err}", err=True)
            return ExitCode.INVALID
        try:
            write_atomically(plot or "", data.encode("utf-8") if isinstance(data, str) else data)
        except OSError as err:
            click.echo(f"convcalc: error: cannot write {visible(plot or '')}: {err.strerror or err}", err=True)
            return ExitCode.INVALID
    body = writer(fmt, "sweep")(result, term)
    if isinstance(body, bytes):  # -f png or pdf: the plot to standard output
        if sys.stdout.isatty():
            click.echo(f"convcalc: error: {fmt.upper()} is binary: give --plot FILE.{fmt}, or pipe it", err=True)
            return ExitCode.INVALID
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return ExitCode.OK
    click.echo(body, nl=False, color=term.color)
    return ExitCode.OK


PLOT_FILES = ("svg", "png", "pdf")


def _plot_file(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> str:
    """The plot file's format from its name (checked as --plot is parsed: `--plot spec.yaml` is
    caught here, not reported as a missing SPEC)."""
    if value in (None, "-"):
        return ""
    suffix = os.path.splitext(value or "")[1].lower().lstrip(".")
    if suffix not in PLOT_FILES:
        raise click.BadParameter(f"{visible(value or '')!r} does not end in .svg, .png or .pdf (--plot alone draws in "
                                 "the terminal: put it after SPEC, or before another option)", param_hint="'--plot'")
    return suffix


@command()
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
@click.option("--plot", is_flag=False, flag_value="-", default=None, metavar="[FILE]",
              callback=lambda ctx, param, value: (_plot_file(ctx, param, value), value)[1],
              help="Plot the variants (a series per setting, the Pareto front marked): alone, in the terminal in "
              "place of the table; --plot FILE.svg|png|pdf to a file, by matplotlib (the plot extra).")
@click.option("--axes", metavar="X,Y",
              help="The plot's axes: params, buffers, macs, flops, peak (with --train), size (the input's) or a "
              "varied arg [default: size,macs when sizes vary, else params,macs].")
@format_option("sweep", "table")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the table (warnings in red): auto is only on a terminal, and not with NO_COLOR set.")
def sweep(spec: str, vary: list[tuple[str, str]], sizes: str | None, settings: dict[str, str], batch: int | None,
          train: str | None, where: str | None, front: str | None, plot: str | None, axes: str | None, fmt: str,
          color: str) -> None:
    """Evaluate SPEC for every combination of --vary values and --sizes, in one process: a row per
    variant with its args, input, output, params, MACs, FLOPs and flags."""
    if not vary and not sizes:
        raise click.UsageError("give what to vary: --vary NAME=V1,V2,… (the spec's args) and/or --sizes S1,S2,…")
    sys.exit(run(spec, vary, sizes, settings, batch, train, where, front, fmt, color, plot, axes))
