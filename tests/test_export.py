"""``convcalc export SPEC --to torch``: the generated module, run in PyTorch, agrees with convcalc.

For every spec in specs/ and for random specs (hypothesis), the exported file is written,
imported with importlib and run: its output shape, parameter count, BN running statistics and
FLOPs (``torch.utils.flop_counter``) must equal convcalc's report.  The big zoo models run on
the ``meta`` device (shapes and counts without data); the small ones on the CPU with real data.
A few hand-made cases check values too (the skips' centre crop and pad, the residual's sum),
and the command line's stdout, ``-o`` and error paths.

torch is imported here only; the package never imports it.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Failed to initialize NumPy" when numpy is absent
    from torch.utils.flop_counter import FlopCounterMode

from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import evaluate
from convcalc.engine.export import class_name, export_torch
from convcalc.spec.parser import load_spec

from helpers import CONVNET_PATH, SPEC_FILES, run, spec_path

torch.set_num_threads(min(2, torch.get_num_threads()))

CPU_MACS = 150_000_000  # above this a spec runs on the meta device
RUNNING_STATS = ("running_mean", "running_var")
_counter = itertools.count()


class Figures(NamedTuple):
    output: Any  # channels-last, without the batch, as convcalc reports it (a tuple of them for several outputs)
    params: int
    buffers: int
    flops: int


def load_module(code: str, directory: Path) -> Any:
    """Write the exported code to a file and import it (a fresh module name every time)."""
    name = f"exported_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exported(text: str, directory: Path) -> tuple[Any, Any]:
    """(the report, the exported class) for a spec's text."""
    spec = load_spec(text)
    report = evaluate(spec)
    code = export_torch(spec)
    module = load_module(code, directory)
    return report, getattr(module, class_name(spec.name))


def run_torch(cls: Any, report: Any, device: str = "cpu", x: Any = None) -> tuple[Figures, Any]:
    """Build the module, run one forward pass on the spec's input, count what torch sees."""
    with torch.device(device):
        model = cls().eval()
    if x is None:
        x = torch.randn(report.batch, report.input.channels, *report.input.spatial, device=device)
    with warnings.catch_warnings(), torch.no_grad(), FlopCounterMode(display=False) as counter:
        warnings.simplefilter("ignore")
        y = model(x)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if n.rpartition(".")[2] in RUNNING_STATS)
    ys = y if isinstance(y, tuple) else (y,)  # a spec with several `outputs:` returns a tuple
    assert all(t.shape[0] == report.batch for t in ys)
    shapes = tuple((*t.shape[2:], t.shape[1]) for t in ys)
    figures = Figures(shapes[0] if len(shapes) == 1 else shapes, params, buffers, counter.get_total_flops())
    return figures, y


def convcalc_figures(report: Any) -> Figures:
    t = report.totals
    shapes = tuple(o.shape.dims for o in report.outputs)
    return Figures(shapes if len(shapes) > 1 else report.output.dims, t.params, t.buffers, t.flops)


# --- every spec in specs/ ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_zoo_spec_exports_and_agrees(path: Path, tmp_path: Path) -> None:
    report, cls = exported(path.read_text(encoding="utf-8"), tmp_path)
    device = "cpu" if report.totals.macs <= CPU_MACS else "meta"
    theirs, y = run_torch(cls, report, device)
    assert theirs == convcalc_figures(report), f"{path.name} on {device}"
    if device == "cpu":
        assert all(torch.isfinite(t).all() for t in (y if isinstance(y, tuple) else (y,)))


def test_state_dict_keys_are_the_row_names(tmp_path: Path) -> None:
    report, cls = exported(spec_path("resnet18.yaml").read_text(encoding="utf-8"), tmp_path)
    with torch.device("meta"):
        model = cls()
    with_params = {r.name for r in report.rows if r.params}
    owners = {name.rpartition(".")[0] for name, _ in model.named_parameters()}
    # a leaf with several modules is an nn.Sequential: conv1.0.weight, conv1.1.weight (its BN)
    assert {o.rpartition(".")[0] if o.rpartition(".")[2].isdigit() else o for o in owners} == with_params
    assert "layer2.basic_down1.residual1.shortcut.conv1.0.weight" in dict(model.named_parameters())


def test_the_file_imports_only_torch_and_has_the_figures() -> None:
    spec = load_spec(spec_path("unet.yaml").read_text(encoding="utf-8"))
    report = evaluate(spec)
    code = export_torch(spec, source="specs/unet.yaml")
    tree = ast.parse(code)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.partition(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").partition(".")[0])
    assert imported == {"torch"}
    assert "class UNet(nn.Module):" in code
    assert "#   input    572×572×1  →  tensor (N, C, H, W) = (1, 1, 572, 572)" in code
    assert "#   params   31,030,658 (trainable)" in code
    assert "#   MACs     150,428,424,448 (batch 1)" in code
    assert 'if __name__ == "__main__":' in code and "torch.randn(1, 1, 572, 572)" in code
    # one statement per row, each with its output shape
    assert code.count("# → ") == len(report.rows)
    assert "# → 388×388×2" in code
    assert "cropped = enc4[:, :, 4:60, 4:60]" in code


def test_the_exported_file_runs_as_a_script(tmp_path: Path) -> None:
    path = tmp_path / "convnet.py"
    path.write_text(export_torch(load_spec(CONVNET_PATH.read_text(encoding="utf-8"))))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["(1, 10)", "params: 1,007,590"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ResNet-18", "ResNet18"),
        ("Inception (3a), naive", "Inception3aNaive"),
        ("fully connected", "FullyConnected"),
        ("mobilenet_v2", "MobilenetV2"),
        ("3-D net", "Net3DNet"),
        ("None", "NetNone"),
        (None, "Net"),
        ("", "Net"),
        ("×××", "Net"),
    ],
)
def test_class_names(name: str | None, expected: str) -> None:
    assert class_name(name) == expected


# --- values, not just shapes: the joins do what convcalc says --------------------------------


def test_skip_crop_takes_the_centre_with_the_extra_cell_after(tmp_path: Path) -> None:
    text = """
input: 7x7x1
layers:
  - relu: {name: start}
  - pool: {kernel: 2}                        # 3×3
  - concat: {with: start, fit: crop}         # 7 → 3: cells 2..4 ((7 − 3)//2 = 2 before, 2 after)
"""
    report, cls = exported(text, tmp_path)
    x = torch.rand(1, 1, 7, 7)
    figures, y = run_torch(cls, report, x=x)
    assert figures.output == (3, 3, 2)
    assert torch.equal(y[:, 0], torch.nn.functional.max_pool2d(x, 2)[:, 0])
    assert torch.equal(y[:, 1], x[:, 0, 2:5, 2:5])
    text = text.replace("7x7x1", "8x8x1")  # 8 → 4: cells 2..5; odd: 6 → 3 below
    report, cls = exported(text, tmp_path)
    x = torch.rand(1, 1, 8, 8)
    _, y = run_torch(cls, report, x=x)
    assert torch.equal(y[:, 1], x[:, 0, 2:6, 2:6])
    report, cls = exported(text.replace("8x8x1", "6x6x1"), tmp_path)  # 6 → 3: 1 before, 2 after
    x = torch.rand(1, 1, 6, 6)
    _, y = run_torch(cls, report, x=x)
    assert torch.equal(y[:, 1], x[:, 0, 1:4, 1:4])


def test_skip_pad_pads_the_current_tensor_with_the_extra_cell_after(tmp_path: Path) -> None:
    text = """
input: 6x6x1
layers:
  - relu: {name: start}
  - pool: {kernel: 2}                         # 3×3, padded back to 6×6: 1 before, 2 after
  - add: {with: start, fit: pad}
"""
    report, cls = exported(text, tmp_path)
    x = torch.rand(1, 1, 6, 6)
    figures, y = run_torch(cls, report, x=x)
    assert figures.output == (6, 6, 1)
    padded = torch.zeros(1, 1, 6, 6)
    padded[:, :, 1:4, 1:4] = torch.nn.functional.max_pool2d(x, 2)
    assert torch.equal(y, padded + x)


def test_residual_adds_the_input_and_branches_join_in_order(tmp_path: Path) -> None:
    text = """
input: 4x4x2
layers:
  - residual: [relu]
  - concat: [[], [sigmoid], [tanh]]
  - add: {with: residual1, through: [{conv: {out: 6, kernel: 1, bias: false}}], name: lateral}
"""
    report, cls = exported(text, tmp_path)
    x = torch.randn(1, 2, 4, 4)
    figures, _ = run_torch(cls, report, x=x)
    assert figures == convcalc_figures(report)
    model = cls()
    with torch.no_grad():
        r = torch.relu(x) + x
        joined = torch.cat([r, torch.sigmoid(r), torch.tanh(r)], dim=1)
        want = joined + model.get_submodule("lateral.conv1")(r)
        assert torch.allclose(model(x), want)


def test_names_that_clash_with_torch_attributes_are_escaped(tmp_path: Path) -> None:
    text = """
input: 8x8x3
blocks:
  unit:
    layers:
      - conv: {out: 4, kernel: 1, name: forward}
      - relu: {name: training}
layers:
  - conv: {out: 4, kernel: 3, padding: 1, name: eval}
  - unit: {name: keys}
  - conv: {out: 4, kernel: 1, name: eval_}
  - add: {with: eval}
  - conv: {out: 4, kernel: 1, name: _hidden}
"""
    report, cls = exported(text, tmp_path)
    figures, _ = run_torch(cls, report)
    assert figures == convcalc_figures(report)


def test_values_kept_for_several_skips_are_never_overwritten(tmp_path: Path) -> None:
    text = """
input: 8x8x2
layers:
  - relu: {name: big}                 # 8×8×2
  - pool: {kernel: 2, name: small}    # 4×4×2
  - add: {with: big, fit: pad}        # pad(small) + big, and small is still needed below
  - pool: {kernel: 2}
  - add: {with: small}
  - add: {with: big, fit: crop}       # big is cropped twice
  - concat: {with: big, fit: crop}
"""
    report, cls = exported(text, tmp_path)
    x = torch.randn(1, 2, 8, 8)
    figures, y = run_torch(cls, report, x=x)
    assert figures.output == (4, 4, 4)
    big = torch.relu(x)
    small = torch.nn.functional.max_pool2d(big, 2)
    a = torch.nn.functional.pad(small, (2, 2, 2, 2)) + big
    b = torch.nn.functional.max_pool2d(a, 2) + small
    c = b + big[:, :, 2:6, 2:6]
    assert torch.equal(y, torch.cat([c, big[:, :, 2:6, 2:6]], dim=1))


def test_blocks_repeats_branches_and_nested_skips(tmp_path: Path) -> None:
    text = """
input: 16x16x3
blocks:
  down:
    args: {out: 8}
    layers:
      - conv: {out: $out, kernel: 3, padding: 1, bn: true, act: relu, name: feat}
      - pool: {kernel: 2}
  up:
    args: {out: 8, skip: d1}
    layers:
      - deconv: {out: $out, kernel: 2, stride: 2}
      - concat: {with: $skip}
      - residual:
          body: [{conv: {out: "${out * 2}", kernel: 3, padding: 1}}]
layers:
  - down: {out: 4, name: d1}
  - down: {out: 8, name: d2}
  - repeat: {times: 2, name: mid, layers: [{residual: [{conv: {out: 8, kernel: 3, padding: 1}}, relu]}]}
  - add: {with: mid.0.residual1, through: [relu]}
  - up: {out: 8, skip: d2.feat}
  - up: {out: 4, skip: d1.feat}
  - concat: [[], [{residual: [relu]}], [{pool: {kernel: 3, stride: 1, padding: 1}}]]
  - repeat: {times: 0, layers: [relu]}
  - concat: {with: d1.feat}
  - pool: {kernel: 2}
  - concat: {with: d1.feat, fit: crop, through: [{pointwise: {out: 20}}]}
  - pool: {kernel: 2}
  - pointwise: {out: 4}
  - add: {with: d1, fit: pad}
"""
    report, cls = exported(text, tmp_path)
    assert report.output.dims == (8, 8, 4)
    figures, _ = run_torch(cls, report)
    assert figures == convcalc_figures(report)


# --- random specs ---------------------------------------------------------------------------


def _layer(draw: st.DrawFn, rank: int, name: str | None = None) -> dict[str, Any] | str:
    """One small random layer that usually keeps a spatial input valid."""
    kind = draw(st.sampled_from(["conv", "conv", "pool", "deconv", "upsample", "bn", "act", "pad", "separable", "norm"]))
    out = draw(st.integers(1, 6))
    layer: dict[str, Any] | str
    if kind == "conv":
        k = draw(st.integers(1, 3))
        options: dict[str, Any] = {"out": out, "kernel": k, "padding": draw(st.sampled_from([k // 2, "same", 0]))}
        if draw(st.booleans()):
            options["stride"] = draw(st.integers(1, 2))
        if draw(st.booleans()):
            options["bn"] = True
        if draw(st.booleans()):
            options["act"] = draw(st.sampled_from(["relu", "gelu", "leaky_relu"]))
        if draw(st.integers(0, 3)) == 0:
            options["dilation"] = 2
        layer = {"conv": options}
    elif kind == "pool":
        layer = {
            "pool": {
                "kernel": draw(st.integers(1, 2)),
                "mode": draw(st.sampled_from(["max", "avg"])),
                "ceil_mode": draw(st.booleans()),
                "padding": draw(st.sampled_from([0, "same"])),
            }
        }
    elif kind == "deconv":
        s = draw(st.integers(1, 2))
        layer = {
            "deconv": {
                "out": out,
                "kernel": draw(st.integers(1, 3)),
                "stride": s,
                "padding": draw(st.sampled_from([0, 1, "same"])),
            }
        }
    elif kind == "upsample":
        layer = {"upsample": {"scale": draw(st.sampled_from([2, 1.5]))}}
    elif kind == "bn":
        layer = "batchnorm"
    elif kind == "norm":  # the modern normalisations and the kinds exported as the file's own classes
        layer = draw(
            st.sampled_from(
                [
                    "layernorm",
                    {"layernorm": {"eps": "1e-6", "bias": False}},
                    {"groupnorm": {"groups": 1}},
                    {"instancenorm": {"affine": True, "track_running_stats": True}},
                    "layer_scale",
                    {"drop_path": {"rate": 0.2}},
                    {"conv": {"out": out, "kernel": 1, "norm": draw(st.sampled_from(["layer", {"group": 1}]))}},
                ]
            )
        )
    elif kind == "pad":
        layer = {"pad": {"padding": [[0, 1]] * rank}}
    elif kind == "separable":
        layer = {"separable": {"out": out, "kernel": 3, "padding": 1, "depthwise_bn": draw(st.booleans())}}
    else:
        layer = draw(st.sampled_from(["relu", "sigmoid", "tanh", "silu", "hardswish", "relu6"]))
    if name is not None:
        if isinstance(layer, str):
            layer = {layer: {}}
        next(iter(layer.values()))["name"] = name
    return layer


@st.composite
def random_specs(draw: st.DrawFn) -> str:
    rank = draw(st.sampled_from([1, 2, 2, 2, 3]))
    side = {1: 12, 2: 8, 3: 4}[rank]
    dims = [draw(st.integers(3, side)) for _ in range(rank)] + [draw(st.integers(1, 4))]
    names = itertools.count(1)
    layers: list[Any] = []
    named: list[str] = []

    def stack(depth: int, n: int) -> list[Any]:
        items: list[Any] = []
        for _ in range(n):
            choice = draw(st.integers(0, 9)) if depth < 2 else 0
            if choice <= 4:
                name = f"n{next(names)}" if draw(st.booleans()) and depth == 0 else None
                items.append(_layer(draw, rank, name))
                if name:
                    named.append(name)
            elif choice == 5:
                body = stack(depth + 1, draw(st.integers(0, 2)))
                if draw(st.booleans()):
                    items.append({"residual": body})
                else:
                    shortcut = [{"conv": {"out": draw(st.integers(1, 6)), "kernel": 1}}]
                    items.append({"residual": {"body": body, "shortcut": shortcut}})
            elif choice == 6:
                op = draw(st.sampled_from(["concat", "add"]))
                branches = [stack(depth + 1, draw(st.integers(0, 2))) for _ in range(draw(st.integers(1, 3)))]
                items.append({op: branches})
            elif choice == 7:  # times ≥ 1: evaluate() crashes on a branch of only `times: 0` at the start
                items.append({"repeat": {"times": draw(st.integers(1, 2)), "layers": stack(depth + 1, 2)}})
            elif choice == 8:
                items.append({"twice": {"out": draw(st.integers(1, 4))}})
            elif named:
                with_: dict[str, Any] = {"with": draw(st.sampled_from(named))}
                fit = draw(st.sampled_from([None, "crop", "pad"]))
                if fit:
                    with_["fit"] = fit
                if draw(st.booleans()):
                    with_["through"] = [{"conv": {"out": draw(st.integers(1, 6)), "kernel": 1}}]
                items.append({draw(st.sampled_from(["concat", "add"])): with_})
        return items

    layers = stack(0, draw(st.integers(1, 6)))
    if draw(st.booleans()):
        layers += ["flatten", {"dense": {"out": draw(st.integers(1, 5))}}]
    blocks = {"twice": {"args": {"out": 2}, "layers": [{"conv": {"out": "$out", "kernel": 1}}, "relu"]}}
    return json.dumps(
        {"name": "random net", "input": dims, "batch": draw(st.integers(1, 2)), "blocks": blocks, "layers": layers}
    )


@settings(
    max_examples=int(os.environ.get("EXPORT_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(text=random_specs())
def test_random_specs_export_and_agree(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    try:
        spec = load_spec(text)
        report = evaluate(spec)
    except SpecError:
        assume(False)
        return
    assume(report.output.numel <= 50_000 and max((r.output.numel for r in report.rows), default=0) <= 50_000)
    module = load_module(export_torch(spec), tmp_path_factory.getbasetemp())
    theirs, _ = run_torch(module.RandomNet, report)
    assert theirs == convcalc_figures(report), f"\nspec: {text}"


# --- the command line -------------------------------------------------------------------------


def test_cli_prints_the_module_on_stdout() -> None:
    result = run("export", str(CONVNET_PATH), "--to", "torch")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# -*- coding: utf-8 -*-\n# A PyTorch module generated by convcalc")
    assert "# ConvNet: generated by convcalc" in result.stdout
    assert "class ConvNet(nn.Module):" in result.stdout
    compile(result.stdout, "convnet.py", "exec")


def test_cli_writes_a_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "net.py"
    out.write_text("old")
    result = run("export", str(CONVNET_PATH), "--to", "torch", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert "class ConvNet(nn.Module):" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.py"]  # no temporary file left


def test_cli_refuses_an_invalid_spec_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: 28x28x1\nlayers:\n  - conv: {out: 10, kernal: 5}\n")
    out = tmp_path / "net.py"
    result = run("export", str(bad), "--to", "torch", "-o", str(out))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{bad}:3:21: error: conv has no option 'kernal'; did you mean 'kernel'?\n"
    assert not out.exists()


@pytest.mark.parametrize("args", [["--to", "keras"], []])
def test_cli_needs_a_known_target(args: list[str]) -> None:
    result = run("export", str(CONVNET_PATH), *args)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_cli_reads_standard_input_and_names_an_unnamed_net_net() -> None:
    text = "input: 8x8x1\nlayers:\n  - conv: {out: 2, kernel: 3}\n"
    result = run("export", "-", "--to", "torch", input=text)
    assert result.exit_code == 0
    assert "class Net(nn.Module):" in result.stdout
    assert "(`convcalc export <stdin> --to torch`)" in result.stdout


def test_cli_reports_a_file_it_cannot_write(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "net.py"
    result = run("export", str(CONVNET_PATH), "--to", "torch", "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcalc: error: cannot write {out}: ")
    assert result.stderr.count("\n") == 1


def test_helper_classes_are_defined_once_and_never_shadowed_by_the_spec_name(tmp_path: Path) -> None:
    # layernorm on a map, layer_scale and drop_path export as classes the file defines itself;
    # a spec named like one of them gets another class name, so both exist.
    text = (
        "name: LayerScale\ninput: 6x6x4\nlayers:\n"
        "  - conv: {out: 8, kernel: 3, padding: 1, norm: layer, act: gelu}\n"
        "  - layernorm: {eps: 1e-6}\n  - layer_scale\n  - drop_path: {rate: 0.1}\n  - layer_scale\n"
    )
    code = export_torch(load_spec(text))
    for helper in ("ChannelLayerNorm", "LayerScale", "DropPath"):
        assert code.count(f"\nclass {helper}(") == 1, helper
    assert class_name("LayerScale") != "LayerScale"
    report, cls = exported(text, tmp_path)
    theirs, _ = run_torch(cls, report)
    assert theirs == convcalc_figures(report)
    assert theirs.params == (4 * 9 * 8 + 8) + 16 + 16 + 8 + 8  # conv, its LayerNorm, layernorm, two scales


# --- token sequences ---------------------------------------------------------------------------

TOKEN_NET = """\
name: tokens
input: 8x8x3
layers:
  - conv: {out: 12, kernel: 2, stride: 2}
  - tokens
  - class_token
  - position_embedding
  - residual: [{layernorm: {eps: 1e-6}}, {attention: {heads: 3, bias: false}}, {layer_scale: {init: 0.5}}]
  - residual: [layernorm, {mlp: {hidden: 24, dropout: 0.1}}, softmax]
  - dense: {out: 8}
  - token_pool: {mode: mean}
  - dense: {out: 5}
"""


def test_token_sequences_export_and_agree(tmp_path: Path) -> None:
    report, cls = exported(TOKEN_NET, tmp_path)
    theirs, y = run_torch(cls, report)
    assert theirs == convcalc_figures(report)
    assert torch.isfinite(y).all()
    code = export_torch(load_spec(TOKEN_NET))
    assert "# Token sequences (`tok` in the comments) are (N, T, C) tensors, channels last;" in code
    assert "# → 17×12 tok" in code
    # back to a map and forth again; the file's output stays a token sequence, (N, T, C)
    text = "input: 4x6x2\nlayers: [tokens, {untokens: {size: [2, 12]}}, {conv: {out: 3, kernel: 1}}, tokens]\n"
    report, cls = exported(text, tmp_path)
    assert "#   output   24×3 tok  →  tensor (N, T, C) = (1, 24, 3)" in export_torch(load_spec(text))
    with torch.device("cpu"):
        model = cls().eval()
    x = torch.randn(1, 2, 4, 6)
    with torch.no_grad():
        out = model(x)
    conv = model.get_submodule("conv1")
    assert torch.allclose(out, conv(x.reshape(1, 2, 2, 12)).flatten(2).transpose(1, 2))  # row-major positions


def test_arguments_torch_requires_are_written_even_when_they_equal_a_conv_default(tmp_path: Path) -> None:
    """ChannelShuffle's groups has no default: groups 1 is written, as a conv's is left out."""
    text = "input: 4x4x6\nlayers: [{channel_shuffle: {groups: 1}}, {conv: {out: 6, kernel: 1, groups: 1}}]\n"
    code = export_torch(load_spec(text))
    assert "nn.ChannelShuffle(groups=1)" in code and "nn.Conv2d(in_channels=6, out_channels=6, kernel_size=1)" in code
    report, cls = exported(text, tmp_path)
    theirs, _ = run_torch(cls, report)
    assert theirs == convcalc_figures(report)


def test_self_attention_computes_what_multihead_attention_does() -> None:
    namespace: dict[str, Any] = {"torch": torch, "nn": torch.nn}
    from convcalc.model.kinds import TORCH_HELPERS

    exec(TORCH_HELPERS["SelfAttention"], namespace)  # noqa: S102 - convcalc's own fixed text
    c, heads = 12, 3
    mha = torch.nn.MultiheadAttention(c, heads, batch_first=True).eval()
    ours = namespace["SelfAttention"](c, heads).eval()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in mha.parameters())
    with torch.no_grad():
        ours.qkv.weight.copy_(mha.in_proj_weight)
        ours.qkv.bias.copy_(mha.in_proj_bias)
        ours.proj.weight.copy_(mha.out_proj.weight)
        ours.proj.bias.copy_(mha.out_proj.bias)
        x = torch.randn(2, 7, c)
        assert torch.allclose(ours(x), mha(x, x, x, need_weights=False)[0], atol=1e-6)


def test_the_batch_norms_eps_and_momentum_are_exported(tmp_path: Path) -> None:
    # Issue 12, item 3: Keras's epsilon and momentum, accepted where a batch norm is, reach torch.
    torch = pytest.importorskip("torch")
    text = ("name: n\ninput: 8x8x3\nlayers:\n  - conv: {out: 8, kernel: 3, bn: true, eps: 0.001, momentum: 0.01}\n"
            "  - batchnorm: {epsilon: 0.0001}\n  - conv: {out: 4, kernel: 1, norm: layer, eps: 1e-6}\n")
    _, cls = exported(text, tmp_path)
    norms = [m for m in cls().modules() if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm))]
    assert [(type(m).__name__, m.eps, getattr(m, "momentum", None)) for m in norms] == [
        ("BatchNorm2d", 0.001, 0.01), ("BatchNorm2d", 0.0001, 0.1), ("ChannelLayerNorm", 1e-6, None)
    ]


PADDING_MODES = """\
name: n
input: 8x8x3
layers:
  - conv: {out: 4, kernel: 3, padding: 1, padding_mode: reflect, bn: true, act: relu}
  - conv: {out: 4, kernel: 2, padding: same, padding_mode: circular}
  - separable: {out: 6, kernel: 3, padding: 1, padding_mode: replicate}
  - depthwise: {kernel: 3, padding: [[2, 0], [0, 2]], padding_mode: reflect}
"""


def test_padding_modes_are_torchs_own(tmp_path: Path) -> None:
    # Issue 12, item 3: padding_mode changes no figure; the exported pad module pads as torch's
    # ConvNd with that padding_mode does, to the same output.
    torch = pytest.importorskip("torch")
    report, cls = exported(PADDING_MODES, tmp_path)
    model = cls().eval()
    first = model.get_submodule("conv1")
    reference = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
    reference.load_state_dict({"weight": first[1].weight, "bias": first[1].bias})
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(first[1](first[0](x)), reference(x))
        assert tuple(model(x).shape) == (2, 6, 8, 8)
    assert report.totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("mode", "padding", "ok"), [("reflect", 2, True), ("reflect", 3, False), ("circular", 3, True),
                                                     ("circular", 4, False), ("replicate", 9, True)])
def test_padding_mode_limits_are_torchs(mode: str, padding: int, ok: bool, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from convcalc.base.errors import SpecError

    text = f"name: n\ninput: 3x3x1\nlayers:\n  - conv: {{out: 1, kernel: 1, padding: {padding}, padding_mode: {mode}}}\n"
    conv = torch.nn.Conv2d(1, 1, 1, padding=padding, padding_mode=mode)
    try:
        conv(torch.randn(1, 1, 3, 3))
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    assert torch_ok == ok
    if ok:
        evaluate(load_spec(text))
    else:
        with pytest.raises(SpecError, match=f"padding_mode {mode} pads {padding} on axis 1 of size 3; PyTorch needs"):
            evaluate(load_spec(text))
