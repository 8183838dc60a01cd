"""``convcalc draw SPEC -o net.svg``: a picture of the network with its exact shapes.

SVG needs the ``draw`` extra (drawsvg), PNG and PDF the ``cairo`` extra too (CairoSVG and the
Cairo library); a missing one is one error line naming what to install, and exit 2.  The file
is written whole or not at all (a temporary file, then a rename).
"""

from __future__ import annotations

import os
import sys

import click

from ..base.errors import ExitCode
from ..base.text import visible
from ..outputs.formats import MOST_BOXES, SCALES, DrawStyle, Terminal, choices, writer
from .common import SPEC_PATH, about, checked_input, input_option, load, rank_option, returns_exit_code, set_option
from .declare import command
from .files import write_atomically
from .show import depth_value

MAX_BOXES = 40  # without --depth, groups are folded until the picture has at most this many boxes


def fail(message: str) -> int:
    click.echo(f"convcalc: error: {message}", err=True)
    return ExitCode.INVALID


@returns_exit_code
def run(
    spec: str,
    output: str | None,
    fmt: str | None = None,
    depth: int | None = None,
    scale: str = "log",
    style: str = "3d",
    theme: str = "light",
    input: str | None = None,
    rank: int | None = None,
    settings: dict[str, str] | None = None,
) -> int:
    if fmt is None:  # from the file's name, else SVG
        suffix = os.path.splitext(output or "")[1].lower().lstrip(".")
        fmt = suffix if suffix in choices("draw") else "svg"
    try:
        import drawsvg  # noqa: F401  # start-up: only to say which extra is missing, before any work
    except ImportError:
        return fail("draw needs drawsvg: pip install 'convcalc[draw]'")
    from ..engine.evaluate import evaluate  # start-up: only the commands that evaluate load it
    from ..engine.graph import box_counts, deepest_fold
    from ..outputs.svg import ConverterMissing

    path, loaded = load(spec, settings)
    checked_input(loaded, input, rank)
    with about(path):
        report = evaluate(loaded, input=input)
    counts = box_counts(report)  # boxes at each depth; [0]: every row
    if depth is None:  # the deepest folding with at most MAX_BOXES boxes (none when all fit)
        depth = deepest_fold(counts, MAX_BOXES) or 0
    boxes = counts[depth] if depth < len(counts) else counts[0]
    if boxes > MOST_BOXES:
        folds = [d for d in range(len(counts) - 1, 0, -1) if counts[d] <= MOST_BOXES]
        hint = f": fold it with --depth {folds[0]} ({counts[folds[0]]:,} boxes)" if folds else ""
        return fail(f"the picture would have {boxes:,} boxes, more than the {MOST_BOXES:,} convcalc draws{hint}")
    term = Terminal(depth=depth or None, drawing=DrawStyle(scale, style == "3d", theme))
    try:
        data = writer(fmt, "draw")(report, term)
    except ConverterMissing as err:
        return fail(str(err))
    body = data.encode("utf-8") if isinstance(data, str) else data
    if output is None or output == "-":
        if fmt != "svg" and sys.stdout.isatty():
            return fail(f"{fmt.upper()} is binary: write it to a file with -o FILE, or pipe it")
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return ExitCode.OK
    try:
        write_atomically(output, body)
    except OSError as err:
        return fail(f"cannot write {visible(output)}: {err.strerror or err}")
    return ExitCode.OK


@command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.option("-o", "--output", metavar="FILE",
              help="Write the picture to FILE, whole or not at all (default: standard output).")
@click.option("-f", "--format", "fmt", type=click.Choice(choices("draw")),
              help="svg, png or pdf (default: FILE's extension, else svg). PNG and PDF need the cairo extra.")
@click.option("--depth", callback=lambda ctx, param, value: depth_value(value), metavar="N|all",
              help=f"Fold blocks, repeats and branches nested N deep into one box (default: as deep as keeps "
              f"{MAX_BOXES} boxes at most); all: every layer.")
@click.option("--scale", type=click.Choice(SCALES), default="log", show_default=True,
              help="How a box's height, depth and width follow H, W and C.")
@click.option("--style", type=click.Choice(("3d", "flat")), default="3d", show_default=True,
              help="3-D boxes as in the papers, or flat rectangles.")
@click.option("--theme", type=click.Choice(("light", "dark")), default="light", show_default=True)
@input_option("Draw for this input instead of the spec's.")
@rank_option()
@set_option()
def draw(spec: str, output: str | None, fmt: str | None, depth: int | None, scale: str, style: str, theme: str,
         input_: str | None, rank: int | None, settings: dict[str, str]) -> None:
    """Draw SPEC: one box per layer (or folded block) scaled to its H×W×C and labelled with its
    exact shape, branches as parallel lanes, skips as arrows that cross no box, flagged layers
    outlined, the totals in the caption."""
    sys.exit(run(spec, output, fmt, depth, scale, style, theme, input_, rank, settings))
