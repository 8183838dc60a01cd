"""``convcalc show SPEC`` (also plain ``convcalc SPEC``): the per-layer table or a document.

The document goes to standard output, every error to standard error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..base.errors import ExitCode, SpecError
from ..base.text import visible
from ..outputs.formats import Terminal, choices, writer
from .common import (
    SPEC_PATH,
    Invalid,
    about,
    check_shape,
    checked_input,
    format_option,
    load,
    rank_option,
    read,
    returns_exit_code,
    set_option,
)
from .declare import command
from .files import write_atomically


def terminal(color: str, width: int | None = None, depth: int | None = None) -> Terminal:
    """What standard output is: a terminal (its width, or ``width``), coloured or not (``--color``,
    NO_COLOR).  A pipe has no width, and the table its full layout, unless ``width`` is given."""
    is_tty = sys.stdout.isatty()
    wants = {"always": True, "never": False}.get(color, is_tty and not os.environ.get("NO_COLOR"))
    height = None
    if is_tty:
        import shutil  # start-up: only a terminal has a size

        size = shutil.get_terminal_size()
        width, height = width or size.columns, size.lines
    term = Terminal(is_tty=is_tty or color == "always", color=wants, width=width, height=height, fold=is_tty)
    if depth is not None:  # --depth N, or --depth all (0): no folding to fit the terminal
        term = term._replace(depth=depth or None, fold=False)
    return term


def depth_value(value: str | None) -> int | None:
    """``--depth``: a whole number ≥ 1, or ``all`` (0: every row, no folding)."""
    if value is None:
        return None
    if value == "all":
        return 0
    if value.isascii() and value.isdigit() and 0 < int(value) < 10**6:
        return int(value)
    raise click.BadParameter(f"{visible(value)!r} is not a number ≥ 1 or all", param_hint="'--depth'")


def sizes_value(value: str | None) -> tuple[int, ...]:
    """``--sizes 224,256,320``: whole numbers ≥ 1, each a size for every spatial axis."""
    if value is None:
        return ()
    parts = [p.strip() for p in value.split(",")]
    if not all(p.isascii() and p.isdigit() and 0 < int(p) < 10**9 for p in parts):
        raise click.BadParameter(f"{visible(value)!r} is not a list of sizes such as 224,256,320", param_hint="'--sizes'")
    return tuple(int(p) for p in parts)


def run_many(
    specs: tuple[str, ...],
    inputs: tuple[str, ...],
    sizes: tuple[int, ...],
    summary: bool,
    batch: int | None,
    fmt: str,
    strict: bool,
    rank: int | None,
    term: Terminal,
    settings: dict[str, str] | None = None,
) -> int:
    """Several specs, or one spec at several inputs: each table (or document), or with a summary
    (asked, or implied by several inputs) one row per spec and input.  An invalid spec is its
    error line on standard error; the others still print, and the exit code is the worst."""
    from ..engine.evaluate import evaluate  # start-up: --help and --version never evaluate

    worst, entries = ExitCode.OK, []
    for arg in specs:
        try:
            path, loaded = load(arg, settings)
            variants: list[str | tuple[int, ...] | None] = [*inputs] or [None]
            if sizes:
                dims = loaded.input or ()
                if len(dims) < 2:
                    raise click.UsageError(f"--sizes needs a spec with a spatial input; {visible(path)} has {'x'.join(map(str, dims)) or 'none'}")
                variants = [*inputs, *((n,) * (len(dims) - 1) + (dims[-1],) for n in sizes)]
            for variant in variants:
                if isinstance(variant, str) or variant is None:
                    checked_input(loaded, variant, rank)
                with about(path):
                    report = evaluate(loaded, input=variant, batch=batch)
                    figures_need_torch(report, term)
                entries.append((path, report))
                if strict and (report.failing_flags(strict=True) or report.failures):
                    worst = max(worst, ExitCode.PROBLEMS)
        except Invalid as err:
            worst = max(worst, ExitCode(err.show()))
    several = summary or len(inputs) + len(sizes) > 1
    if entries:
        click.echo(writer(fmt, "summary" if several else "several")(entries, term), nl=False, color=term.color)
    return worst


@returns_exit_code
def write_baseline(
    specs: tuple[str, ...], output: str, input: str | None, batch: int | None, train: str | None,
    settings: dict[str, str] | None,
) -> int:
    """``show --baseline-out FILE SPECS…``: each spec's figures, for ``check --baseline``."""
    from ..engine.baseline import document, entry, key  # start-up: only --baseline-out
    from ..engine.evaluate import evaluate

    entries = {}
    for arg in specs:
        path, loaded = load(arg, settings)
        checked_input(loaded, input, None)
        with about(path):
            entries[key(path)] = entry(evaluate(loaded, input=input, batch=batch), settings or {}, train)
    try:
        write_atomically(output, document(entries).encode("utf-8"))
    except OSError as err:
        click.echo(f"convcalc: error: cannot write {visible(output)}: {err.strerror or err}", err=True)
        return ExitCode.INVALID
    click.echo(f"wrote the figures of {len(entries)} spec{'s' if len(entries) != 1 else ''} to {visible(output)}", err=True)
    return ExitCode.OK


@returns_exit_code
def run(
    spec: str,
    input: str | None = None,
    batch: int | None = None,
    fmt: str = "table",
    strict: bool = False,
    depth: int | None = None,
    color: str = "auto",
    rf: bool = False,
    memory: bool = False,
    train: str | None = None,
    width: int | None = None,
    rank: int | None = None,
    verbose: bool = False,
    quiet: bool = False,
    settings: dict[str, str] | None = None,
) -> int:
    from ..engine.evaluate import Report, channels_first_hint, evaluate  # start-up: --help and --version never evaluate
    from ..spec.parser import load_spec

    path, text = read(spec)
    with about(path):
        loaded = load_spec(text, settings)
    checked_input(loaded, input, rank)
    hint = channels_first_hint(loaded.input) if input is None and loaded.input is not None else None
    if hint:  # a note, not a flag: exit codes do not change
        click.echo(f"{visible(path)}: {hint}", err=True)
    term = terminal(color, width, depth)._replace(rf=rf, memory=memory, train=train, verbose=verbose, quiet=quiet)
    if fmt == "html":  # the page shows the spec itself, each line linked to its rows
        term = term._replace(source=text.decode("utf-8", errors="replace").removeprefix("\ufeff"))
    with about(path):
        try:
            report = evaluate(loaded, input=input, batch=batch)
        except SpecError as err:  # the table up to the failing layer; the error itself on stderr
            if fmt == "table" and term.height is not None and isinstance(err.partial, Report):  # a terminal
                partial = writer(fmt, "show")(err.partial, term._replace(rf=False, memory=False, train=None))
                click.echo(partial + "(the rows up to the error below)\n", nl=False, color=term.color)
            raise
        figures_need_torch(report, term)
    click.echo(writer(fmt, "show")(report, term), nl=False, color=term.color)
    failed = strict and (report.failing_flags(strict=True) or report.failures)
    return ExitCode.PROBLEMS if failed else ExitCode.OK


@command()
@click.argument("specs", metavar="SPEC...", type=SPEC_PATH, nargs=-1, required=True)
@click.option(
    "--input",
    "inputs",
    metavar="SHAPE",
    multiple=True,
    callback=lambda ctx, param, values: tuple(check_shape(v, "--input") for v in values),
    help="Evaluate for this input instead of the spec's: 256x256x3 (H×W×C), 100x16 (L×C), 16x112x112x3 "
    "(repeat it for a summary row per input).",
)
@click.option(
    "--sizes",
    metavar="N,N,...",
    callback=lambda ctx, param, value: sizes_value(value),
    help="A summary row per size: each size on every spatial axis, with the spec's channels (224,256,320).",
)
@click.option("--summary", is_flag=True, help="One summary row per spec (and input) instead of each table.")
@rank_option()
@click.option("--batch", type=click.IntRange(min=1), help="Batch size (MACs, FLOPs and activation memory scale).")
@format_option(
    "show",
    "table",
    "Output format: a terminal table; json/csv/tsv with exact integers; markdown with grouped integers.",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any layer is flagged (info too) or an expect fails.")
@click.option(
    "--depth",
    callback=lambda ctx, param, value: depth_value(value),
    metavar="N|all",
    help="Table and diagrams: fold blocks, repeats and branches nested N deep into one row (or box) with summed "
    "figures; all: every row (a terminal's table taller than the screen is folded to fit otherwise).",
)
@click.option("-v", "--verbose", is_flag=True, help="Table: every flag on a line of its own (a terminal groups alike flags).")
@click.option("-q", "--quiet", is_flag=True, help="Table: only the totals, the warnings and failed expects.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour in the table; auto means only on a terminal and when NO_COLOR is not set.",
)
@click.option(
    "--width",
    type=click.IntRange(min=20),
    metavar="N",
    help="Table: fit N columns, as on a terminal that wide (default: the terminal's width; a pipe "
    "gets every column).",
)
@click.option(
    "--rf",
    is_flag=True,
    help="Add each layer's receptive field per axis: size (min–max over positions), jump and start "
    "(a table column; rf in JSON; rf_min/rf_max/jump/start columns in CSV/TSV).",
)
@click.option(
    "--memory",
    is_flag=True,
    help="Add each layer's output memory at the spec's dtype and batch (a table column; a memory "
    "column in CSV/TSV; JSON rows always have memory) and the peak of live activations in "
    "inference (a totals line; peak_activation_bytes and peak_at in the JSON total).",
)
@click.option(
    "--train",
    is_flag=True,
    help="Add the cost of a training step: backward MACs and FLOPs and the bytes kept for backward, "
    "per layer and in total; gradient and optimizer-state bytes.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "momentum", "adam", "adamw"]),
    help="The optimizer whose state --train counts (implies --train)  [default: adam]",
)
@set_option()
@click.option("--baseline-out", metavar="FILE",
              help="Write the specs' figures to FILE for check --baseline (with --train, the training peak too), "
              "instead of printing them.")
def show(
    specs: tuple[str, ...],
    inputs: tuple[str, ...],
    sizes: tuple[int, ...],
    summary: bool,
    rank: int | None,
    batch: int | None,
    fmt: str,
    strict: bool,
    depth: int | None,
    color: str,
    width: int | None = None,
    verbose: bool = False,
    quiet: bool = False,
    rf: bool = False,
    memory: bool = False,
    train: bool = False,
    optimizer: str | None = None,
    settings: dict[str, str] | None = None,
    baseline_out: str | None = None,
) -> None:
    """Print the per-layer table of SPEC (a YAML file, or - for standard input); of several SPECs,
    each table, or with --summary (or several inputs) one row per spec and input."""
    optimizer = optimizer or ("adam" if train else None)
    if baseline_out is not None:
        sys.exit(write_baseline(specs, baseline_out, inputs[0] if len(inputs) == 1 else None, batch, optimizer, settings))
    if len(specs) == 1 and len(inputs) <= 1 and not sizes and not summary:
        input_ = inputs[0] if inputs else None
        sys.exit(run(specs[0], input_, batch, fmt, strict, depth, color, rf, memory, optimizer, width, rank, verbose, quiet,
                     settings))
    if fmt not in choices("several"):  # a diagram is of one network
        raise click.UsageError(f"-f {fmt} draws one network: give one SPEC, without --summary, --sizes or a second --input")
    term = terminal(color, width, depth)._replace(rf=rf, memory=memory, train=optimizer, verbose=verbose, quiet=quiet)
    sys.exit(run_many(specs, inputs, sizes, summary, batch, fmt, strict, rank, term, settings))


def figures_need_torch(report: Any, term: Terminal) -> None:
    """--rf, --memory and --train follow PyTorch's modules: a layer without any (an imported
    opaque one) is a located error here, inside the spec's ``about``, not in the writer."""
    from ..engine.evaluate import refuse_without_torch  # start-up: with the evaluation

    for wanted, what in ((term.rf, "its receptive field is unknown"), (term.memory, "its memory is unknown"),
                         (term.train, "its training memory is unknown")):
        if wanted:
            refuse_without_torch(report, what)

