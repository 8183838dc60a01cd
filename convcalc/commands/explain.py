"""``convcalc explain SPEC [LAYER]...``: each layer's figures derived step by step."""

from __future__ import annotations

import sys

import click

from ..base.errors import ExitCode
from ..outputs.formats import writer
from .common import SPEC_PATH, about, format_option, load, returns_exit_code, set_option
from .declare import command


@returns_exit_code
def run(
    spec: str, layers: tuple[str, ...] = (), fmt: str = "text", batch: int | None = None,
    settings: dict[str, str] | None = None,
) -> int:
    from ..engine.evaluate import evaluate  # start-up: only this command explains
    from ..engine.explain import explain as derive

    path, loaded = load(spec, settings)
    with about(path):
        report = evaluate(loaded, batch=batch)
        explanations = derive(report, layers)
    click.echo(writer(fmt, "explain")(explanations, report.batch), nl=False)
    return ExitCode.OK


@command()
@click.argument("spec", metavar="SPEC", type=SPEC_PATH)
@click.argument("layers", metavar="[LAYER]...", nargs=-1)
@click.option("--batch", type=click.IntRange(min=1), help="Batch size (MACs and FLOPs scale).")
@format_option("explain", "text")
@set_option()
def explain(spec: str, layers: tuple[str, ...], batch: int | None, fmt: str, settings: dict[str, str]) -> None:
    """Derive each layer's output size, parameters, MACs and FLOPs with the numbers substituted,
    as the shape-formula articles do by hand; every layer, or the LAYERs named (their paths)."""
    sys.exit(run(spec, layers, fmt, batch, settings))
