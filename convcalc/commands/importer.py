"""``convcalc import model.onnx [-o spec.yaml]`` and ``convcalc import --torch pkg.mod:factory``:
a model read back into an annotated spec (:mod:`convcalc.engine.importer` does the reading)."""

from __future__ import annotations

import sys
import click

from ..base.errors import ExitCode, SpecError
from ..base.text import visible
from .common import about, check_shape, returns_exit_code
from .declare import command
from .files import STDIN, write_atomically


def _read(path: str) -> bytes:
    from ..engine.importer import MOST_BYTES  # start-up: only this command imports

    try:
        if path == STDIN:
            data: bytes = sys.stdin.buffer.read(MOST_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MOST_BYTES + 1)
    except OSError as err:
        raise SpecError(f"cannot read the file: {err.strerror or err}") from None
    if len(data) > MOST_BYTES:
        raise SpecError(f"the file is more than the {MOST_BYTES:,} bytes convcalc imports")
    return data


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    return tuple(int(v) for v in text.lower().replace("×", "x").split("x"))


def torch_onnx(target: str, args: str | None, input_shape: tuple[int, ...]) -> bytes:
    """Build ``package.module:factory(**args)`` and export it to ONNX bytes (TorchScript exporter,
    training mode preserved so that batch norms stay batch norms)."""
    try:
        import torch  # start-up: only --torch needs it (the `torch` extra)
    except ImportError:
        raise SpecError("--torch needs PyTorch: pip install 'convcalc[torch]' (and onnx: 'convcalc[onnx]')") from None
    import importlib  # start-up: with --torch
    import os  # start-up: with --torch
    import tempfile  # start-up: with --torch
    import warnings  # start-up: with --torch

    import json  # start-up: only --args is JSON (and --help must not load it)

    module_name, sep, factory_name = target.partition(":")
    if not sep or not module_name or not factory_name:
        raise SpecError(f"--torch {visible(target)!r}: give package.module:factory, such as torchvision.models:resnet50")
    try:
        kwargs = json.loads(args) if args else {}
    except json.JSONDecodeError as err:
        raise SpecError(f"--args is not JSON: {err.msg} at character {err.pos}") from None
    if not isinstance(kwargs, dict):
        raise SpecError("--args must be a JSON object of keyword arguments, such as '{\"weights\": null}'")
    if os.getcwd() not in sys.path:  # the user's own module, next to them, as `python -c` would find it
        sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as err:
        raise SpecError(f"--torch {visible(target)}: {visible(str(err))}") from None
    try:
        model = factory(**kwargs)
    except Exception as err:  # the user's factory: whatever it raises is its message
        raise SpecError(f"{visible(target)}(**{visible(json.dumps(kwargs))}) failed: {type(err).__name__}: "
                        f"{visible(str(err))}") from None
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"{visible(target)} did not return a torch.nn.Module but {type(model).__name__}")
    channels, spatial = input_shape[-1], input_shape[:-1]
    x = torch.randn(2, channels, *spatial)  # two samples: a batch norm on 1×1 maps needs more than one value
    model.train()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.onnx")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), path, dynamo=False, training=torch.onnx.TrainingMode.PRESERVE,
                                  opset_version=17)
        except Exception as err:  # the exporter's own refusal: its first line
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SpecError(f"torch.onnx.export could not export {visible(target)}: {visible(first)}") from None
        with open(path, "rb") as f:
            return f.read()


@returns_exit_code
def run(model: str | None, output: str | None, input_: str | None, torch_target: str | None, args: str | None,
        allow_unknown: bool = False) -> int:
    from ..engine.annotate import annotate_text  # start-up: only this command imports
    from ..engine.importer import import_onnx

    if (model is None) == (torch_target is None):
        raise click.UsageError("give an ONNX file, or --torch package.module:factory (not both)")
    if torch_target is not None and input_ is None:
        raise click.UsageError("--torch needs --input HxWxC, the shape to build the model's graph with")
    if args is not None and torch_target is None:
        raise click.UsageError("--args goes with --torch")
    source = torch_target or model or STDIN
    shown = "<stdin>" if source == STDIN else source
    shape = _shape(input_)
    with about(shown):
        data = torch_onnx(torch_target, args, shape or ()) if torch_target else _read(source)
        imported = import_onnx(data, shown, shape, allow_unknown)
        text = annotate_text(imported.text).text
    for note in imported.notes:
        click.echo(f"convcalc: note: {note}", err=True)
    for warning in imported.warnings:
        click.echo(f"convcalc: warning: {warning}", err=True)
    if output in (None, STDIN):
        click.echo(text, nl=False)
        return ExitCode.OK
    try:
        write_atomically(output or "", text.encode("utf-8"))
    except OSError as err:
        click.echo(f"convcalc: error: cannot write {visible(output or '')}: {err.strerror or err}", err=True)
        return ExitCode.INVALID
    return ExitCode.OK


@command("import")
@click.argument("model", metavar="[MODEL.onnx]", required=False)
@click.option("-o", "--output", metavar="FILE", help="Write the spec to FILE, whole or not at all (default: standard output).")
@click.option("--input", "input_", metavar="SHAPE", callback=lambda ctx, param, value: check_shape(value, "--input"),
              help="The input as HxWxC, for a model whose input size is dynamic (and for --torch).")
@click.option("--allow-unknown", is_flag=True,
              help="Write an op convcalc has no kind for as an `opaque` layer (its shape from ONNX, no params), with a "
              "warning each, so that the rest of the network is usable.")
@click.option("--torch", "torch_target", metavar="PKG.MOD:FACTORY",
              help="Build a PyTorch model (torchvision.models:resnet50) and import it through torch.onnx.export.")
@click.option("--args", metavar="JSON", help="With --torch: the factory's keyword arguments, as a JSON object.")
def import_command(model: str | None, output: str | None, input_: str | None, allow_unknown: bool,
                   torch_target: str | None, args: str | None) -> None:
    """Read an ONNX model (or a PyTorch one, with --torch) into a spec: its layers named as the
    model names them, conv → batch norm → activation folded, residuals, concats and repeats found,
    each line annotated with its output shape."""
    sys.exit(run(model, output, input_, torch_target, args, allow_unknown))
