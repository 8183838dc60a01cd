"""``convcalc import``: the round trip spec → ``export --to torch`` → ``torch.onnx.export`` →
``import`` gives the spec's figures back (totals, and every row where the rows correspond one to
one), and every bad model (not ONNX, malformed, too old, an op without a kind, a dynamic size)
is one error line and exit 2."""

from __future__ import annotations

import importlib.util
import itertools
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.base.errors import SpecError
from convcalc.engine.export import class_name, export_torch

from helpers import ROOT, SPEC_FILES, ZOO, Published, expect_exit, run, without

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from convcalc.engine.importer import import_onnx  # noqa: E402

_counter = itertools.count()



def onnx_of_spec(path: Path, directory: Path, opset: int = 17) -> tuple[Any, bytes]:
    """(the spec's report, the ONNX bytes of its exported PyTorch module in training mode)."""
    torch = pytest.importorskip("torch")
    spec = convcalc.load(path)
    report = convcalc.evaluate(spec)
    name = f"roundtrip_{next(_counter)}"
    module_path = directory / f"{name}.py"
    module_path.write_text(export_torch(spec), encoding="utf-8")
    found = importlib.util.spec_from_file_location(name, module_path)
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    net = exportable(getattr(module, class_name(spec.name))().train())
    x = torch.randn(2, report.input.channels, *report.input.spatial)  # two: a batch norm on 1×1 needs more than one value
    out = directory / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(out), dynamo=False, training=torch.onnx.TrainingMode.PRESERVE,
                          opset_version=opset)
    return report, out.read_bytes()


def exportable(net: Any) -> Any:
    """``net`` with each nn.ChannelShuffle (which torch.onnx.export cannot export at opset 17)
    replaced by its view-transpose-view, as a user must before exporting ShuffleNet."""
    import torch

    class ViewShuffle(torch.nn.Module):
        def __init__(self, groups: int) -> None:
            super().__init__()
            self.groups = groups

        def forward(self, x: Any) -> Any:
            n, c, *rest = x.shape
            return x.view(n, self.groups, c // self.groups, *rest).transpose(1, 2).reshape(n, c, *rest)

    for name, child in list(net.named_modules()):
        if isinstance(child, torch.nn.ChannelShuffle):
            parent_name, _, attribute = name.rpartition(".")
            setattr(net.get_submodule(parent_name) if parent_name else net, attribute, ViewShuffle(child.groups))
    return net


def figures(report: Any) -> tuple[Any, ...]:
    t = report.totals
    return report.input, report.output, t.params, t.buffers, t.macs


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_the_round_trip_gives_the_figures_back(path: Path, tmp_path: Path) -> None:
    report, data = onnx_of_spec(path, tmp_path)
    imported = import_onnx(data, path.name)
    again = convcalc.evaluate(convcalc.load(imported.text))
    assert figures(again) == figures(report)
    if len(again.rows) == len(report.rows):  # leaf layers one to one: every row's figures
        for theirs, ours in zip(report.rows, again.rows):
            assert (ours.output, ours.params, ours.buffers, ours.macs) == (theirs.output, theirs.params, theirs.buffers,
                                                                          theirs.macs), f"{theirs.name} → {ours.name}"


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("name", ["convnext_tiny.yaml", "decoder.yaml", "efficientnet_b0.yaml"])
def test_older_opsets_round_trip_too(name: str, opset: int, tmp_path: Path) -> None:
    """Before opset 17 LayerNorm is its arithmetic (ReduceMean, Sub, Pow, Sqrt, Div); before 13
    Resize takes scales differently: the import reads both."""
    path = next(p for p in SPEC_FILES if p.name == name)
    report, data = onnx_of_spec(path, tmp_path, opset)
    assert figures(convcalc.evaluate(convcalc.load(import_onnx(data, name).text))) == figures(report)


def test_resnet50_comes_back_with_blocks_and_repeats_not_170_flat_layers(tmp_path: Path) -> None:
    path = next(p for p in SPEC_FILES if p.name == "resnet50.yaml")
    _, data = onnx_of_spec(path, tmp_path)
    text = import_onnx(data, "resnet50.onnx").text
    # ResNet-50's stages have 3, 4, 6 and 3 bottlenecks: after the first of each, n − 1 equal ones
    assert [int(t) for t in re.findall(r"times: ([0-9]+)", text)] == [3 - 1, 4 - 1, 6 - 1, 3 - 1]
    # two blocks: the bottleneck, and the one that halves the size with a projection (stages 2–4)
    assert re.findall(r"^  ([a-z_]+):$", text.split("\nlayers:")[0], flags=re.M) == ["residual_a", "residual_b"]
    assert text.count("residual_b: {") == 3 and "bn: true, act: relu" in text and "batchnorm" not in text
    assert len(text.splitlines()) < 70


# torchvision's models as `import --torch torchvision.models:NAME` reads them: their graphs are in
# tests/models (tools/torchvision_onnx.py: CI has no torchvision), their figures torchvision's.
TORCHVISION = {
    "resnet50": ZOO["resnet50.yaml"],
    "mobilenet_v2": ZOO["mobilenet_v2.yaml"],
    "efficientnet_b0": ZOO["efficientnet_b0.yaml"],
    "convnext_tiny": ZOO["convnext_tiny.yaml"],
    # fcn_resnet50(weights=None, weights_backbone=None) at 224: its parameters and running statistics
    # counted in torchvision 0.29.1, MACs by torch.utils.flop_counter (half its FLOPs)
    "fcn_resnet50": Published(32_957_013, 54_144, 26_484_498_432, (224, 224, 21)),
}


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_models_import_to_their_own_figures(name: str) -> None:
    imported = import_onnx((ROOT / "tests" / "models" / f"{name}.onnx").read_bytes(), f"{name}.onnx")
    report = convcalc.evaluate(convcalc.load(imported.text))
    expected = TORCHVISION[name]
    assert (report.totals.params, report.totals.buffers, report.totals.macs, report.output.dims) == (
        expected.params, expected.buffers, expected.macs, expected.output)
    assert "- repeat:" in imported.text


# --- hand-made models: what each op becomes and every refusal ----------------------------------

def model(nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: list[Any] = (), opset: int = 17) -> bytes:  # type: ignore[assignment]
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
    return bytes(m.SerializeToString())


def weight(name: str, *dims: int) -> Any:
    return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.0] * (1 if not dims else __import__("math").prod(dims)))


def value(name: str, *dims: int | str) -> Any:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def conv_net(opset: int = 17, spatial: tuple[int | str, int | str] = (16, 16)) -> bytes:
    nodes = [
        helper.make_node("Conv", ["x", "stem.conv.weight"], ["c"], name="/stem/conv/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"], name="/stem/act/Relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["p"], ["f"], name="/flatten/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=1),
    ]
    return model(nodes, [value("x", 1, 3, *spatial)], [value("y", 1, 10)],
                 [weight("stem.conv.weight", 8, 3, 3, 3), weight("fc.weight", 10, 8), weight("fc.bias", 10)], opset)


def test_a_small_graph_reads_as_a_person_would_write_it() -> None:
    text = import_onnx(conv_net(), "net.onnx").text
    assert text.splitlines()[2:] == [
        "convcalc: 1",
        'name: "g"',
        "input: 16x16x3",
        "layers:",
        "  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, bias: false, act: relu, name: conv}",
        "  - global_pool",
        "  - flatten",
        "  - dense: {out: 10, name: fc}",
    ]
    report = convcalc.evaluate(convcalc.load(text))
    assert (report.totals.params, report.totals.macs) == (3 * 3 * 3 * 8 + 8 * 10 + 10, 8 * 8 * 8 * 27 + 80)


def test_a_dynamic_size_asks_for_input_and_takes_it() -> None:
    with pytest.raises(SpecError) as caught:
        import_onnx(conv_net(spatial=("h", "w")), "net.onnx")
    assert caught.value.message == "the input 1×3×h×w has a dynamic size: give it with --input HxWxC"
    text = import_onnx(conv_net(spatial=("h", "w")), "net.onnx", (32, 24, 3)).text
    assert "input: 32x24x3" in text and "# → 16×12×8" in convcalc_annotated(text)


def convcalc_annotated(text: str) -> str:
    from convcalc.engine.annotate import annotate_text

    return annotate_text(text).text


def test_every_unsupported_op_is_listed_with_its_count_and_nodes() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="/a/Relu"),
        helper.make_node("Celu", ["a"], ["b"], name="/b/Celu"),
        helper.make_node("Celu", ["b"], ["c"], name="/c/Celu"),
        helper.make_node("Neg", ["c"], ["y"], name="/d/Neg"),
    ]
    data = model(nodes, [value("x", 1, 3, 8, 8)], [value("y", 1, 3, 8, 8)])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message == ("convcalc has no kind for 2 op type(s): Celu ×2 (/c/Celu, /b/Celu); Neg ×1 (/d/Neg) "
                                    "(--allow-unknown writes each as an opaque layer)")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"convcalc: 1\nlayers: []\n", "not an ONNX model: Error parsing message with type 'onnx.ModelProto'"),
        (conv_net()[:200], "not an ONNX model: Error parsing message with type 'onnx.ModelProto'"),
        (b"", "not an ONNX model, or an empty one: its graph has no nodes or no outputs"),
        (conv_net(opset=10), "the model is opset 10: convcalc imports opset 11 and newer (export it again with a newer "
                             "opset_version)"),
    ],
)
def test_what_is_not_a_usable_model_is_one_error(data: bytes, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message.startswith(message)


def test_a_malformed_graph_is_one_error() -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="/c/Conv", kernel_shape=[3, 3])]
    data = model(nodes, [value("x", 1, 3, 8, 8)], [value("y", 1, 4, 6, 6)], [weight("w", 4, 5, 3, 3)])  # 5 ≠ 3 channels
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message == ("the ONNX graph is malformed: Conv node '/c/Conv' has a weight for 5 input channels, "
                                    "and its input has 3")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_model_or_one_error(data: bytes) -> None:
    try:
        import_onnx(data, "m.onnx")
    except SpecError as err:
        assert "\n" not in err.message


def test_hostile_node_and_weight_names_become_words() -> None:
    nodes = [helper.make_node("Conv", ["x", "a\x1b[31m.b c.weight"], ["y"], name="/\x1b]0;t\x07/Conv", kernel_shape=[1, 1])]
    data = model(nodes, [value("x", 1, 3, 8, 8)], [value("y", 1, 4, 8, 8)], [weight("a\x1b[31m.b c.weight", 4, 3, 1, 1)])
    text = import_onnx(data, "m\x1b[2J.onnx").text
    assert "\x1b" not in text and "name: b_c}" in text and "from m\\x1b[2J.onnx" in text


# --- the command line ---------------------------------------------------------------------------

def test_the_command_writes_the_annotated_spec(tmp_path: Path) -> None:
    source = tmp_path / "net.onnx"
    source.write_bytes(conv_net())
    out = tmp_path / "net.yaml"
    result = run("import", str(source), "-o", str(out))
    expect_exit(result, 0)
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"# Imported by convcalc from {source} (ONNX opset 17, made by tests).\n")
    assert "  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, bias: false, act: relu, name: conv}  # → 8×8×8\n" in text
    expect_exit(run("check", str(out)), 0)


def test_a_missing_onnx_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without(monkeypatch, "onnx")
    source = tmp_path / "net.onnx"
    source.write_bytes(conv_net())
    result = run("import", str(source))
    expect_exit(result, 2)
    assert result.stderr == f"{source}: error: import needs the onnx package: pip install 'convcalc[onnx]'\n"


def test_a_real_process_reports_bad_input_on_one_line(tmp_path: Path) -> None:
    source = tmp_path / "notes.onnx"
    source.write_text("hello", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "convcalc", "import", str(source)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(f"{source}: error: not an ONNX model")
    done = subprocess.run([sys.executable, "-m", "convcalc", "import"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stderr) == (2, "convcalc: error: give an ONNX file, or --torch package.module:factory "
                                                 "(not both) (see 'convcalc import --help')\n")


def test_torch_builds_a_factory_with_its_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    (tmp_path / "tiny_models.py").write_text(
        "from torch import nn\n"
        "def net(width=8):\n"
        "    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),\n"
        "                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(width * 16 * 16, 10))\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("import", "--torch", "tiny_models:net", "--args", '{"width": 4}', "--input", "32x32x3")
    expect_exit(result, 0)
    assert [line.split("  #")[0] for line in result.stdout.splitlines()[6:]] == [
        "  - conv: {out: 4, kernel: 3, padding: 1, bias: false, bn: true, act: relu}",
        "  - maxpool: {kernel: 2}",
        "  - flatten",
        "  - dense: {out: 10}",
    ]
    report = convcalc.evaluate(convcalc.load(result.stdout))
    assert report.totals.params == 3 * 9 * 4 + 2 * 4 + 4 * 16 * 16 * 10 + 10
    bad = run("import", "--torch", "tiny_models:net", "--args", "[1]", "--input", "32x32x3")
    expect_exit(bad, 2)
    assert bad.stderr == "tiny_models:net: error: --args must be a JSON object of keyword arguments, such as '{\"weights\": null}'\n"


# --- --allow-unknown: opaque layers ---------------------------------------------------------------

def celu_net() -> bytes:
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["a"], name="/conv/Conv", kernel_shape=[3, 3]),
        helper.make_node("Celu", ["a"], ["b"], name="/act/Celu"),
        helper.make_node("Flatten", ["b"], ["f"], name="/flatten/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="/fc/Gemm", transB=1),
    ]
    return model(nodes, [value("x", 1, 3, 10, 8)], [value("y", 1, 5)],
                 [weight("conv.weight", 4, 3, 3, 3), weight("fc.weight", 5, 4 * 8 * 6)])


def test_allow_unknown_writes_an_opaque_layer_with_a_warning_and_the_rest_counts(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        import_onnx(celu_net(), "m.onnx")
    assert caught.value.message == ("convcalc has no kind for 1 op type(s): Celu ×1 (/act/Celu) (--allow-unknown writes "
                                    "each as an opaque layer)")
    imported = import_onnx(celu_net(), "m.onnx", allow_unknown=True)
    assert "  - opaque: {out: [8, 6, 4]}  # ONNX Celu at /act/Celu" in imported.text
    assert imported.warnings == ("node '/act/Celu' (Celu) is an opaque layer: its shape from ONNX, no params or MACs; "
                                 "export, solve, --rf, --memory and --train refuse the spec until it is replaced",)
    report = convcalc.evaluate(convcalc.load(imported.text))
    assert report.totals.params == 4 * 3 * 9 + 5 * 192  # no biases: Conv and Gemm have two inputs each
    assert report.totals.macs == 8 * 6 * 4 * 27 + 5 * 192  # the opaque layer adds none


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["export", "--to", "torch"], "it cannot be exported"),
        (["solve"], "solve cannot follow the input's size through it"),
        (["show", "--rf"], "its receptive field is unknown"),
        (["show", "--memory"], "its memory is unknown"),
        (["show", "--train"], "its training memory is unknown"),
        (["sweep", "--sizes", "10,12", "--train"], "its training memory is unknown"),
    ],
)
def test_what_needs_pytorch_refuses_an_opaque_layer_at_its_line(args: list[str], what: str, tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(import_onnx(celu_net(), "m.onnx", allow_unknown=True).text, encoding="utf-8")
    line = next(n for n, text in enumerate(spec.read_text(encoding="utf-8").splitlines(), 1) if "opaque" in text)
    command, *options = args
    done = subprocess.run([sys.executable, "-m", "convcalc", command, str(spec), *options], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{spec}:{line}:5: error: opaque1: opaque has no PyTorch equivalent, so {what}\n"


def test_a_join_without_a_kind_is_refused_even_with_allow_unknown() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="/a/Relu"),
        helper.make_node("Sigmoid", ["x"], ["b"], name="/b/Sigmoid"),
        helper.make_node("Sub", ["a", "b"], ["y"], name="/sub/Sub"),
    ]
    data = model(nodes, [value("x", 1, 3, 8, 8)], [value("y", 1, 3, 8, 8)])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx", allow_unknown=True)
    assert caught.value.message == ("convcalc has no kind for 1 op type(s): Sub ×1 (/sub/Sub) (a join of several tensors: "
                                    "an opaque layer cannot stand for one)")


def test_the_command_warns_once_per_opaque_layer(tmp_path: Path) -> None:
    source = tmp_path / "m.onnx"
    source.write_bytes(celu_net())
    result = run("import", str(source), "--allow-unknown")
    expect_exit(result, 0)
    assert result.stderr.splitlines() == [
        "convcalc: note: the graph has no BatchNormalization: if the model had batch norms, the exporter folded them "
        "into the convs (their biases), which cannot be undone; export with training=torch.onnx.TrainingMode.PRESERVE "
        "to keep them",
        "convcalc: warning: node '/act/Celu' (Celu) is an opaque layer: its shape from ONNX, no params or MACs; export, "
        "solve, --rf, --memory and --train refuse the spec until it is replaced",
    ]


def test_torch_without_torch_names_the_extra_and_a_bad_target_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = run("import", "--torch", "no_such_module_here:net", "--input", "32x32x3")
    expect_exit(bad, 2)
    assert bad.stderr == "no_such_module_here:net: error: --torch no_such_module_here:net: No module named 'no_such_module_here'\n"
    shape = run("import", "--torch", "nocolon", "--input", "32x32x3")
    assert shape.stderr == ("nocolon: error: --torch 'nocolon': give package.module:factory, such as "
                            "torchvision.models:resnet50\n")
    without(monkeypatch, "torch")
    result = run("import", "--torch", "torchvision.models:resnet50", "--input", "224x224x3")
    expect_exit(result, 2)
    assert result.stderr == ("torchvision.models:resnet50: error: --torch needs PyTorch: pip install 'convcalc[torch]' "
                             "(and onnx: 'convcalc[onnx]')\n")


def _shape_constant(name: str, dims: list[int]) -> Any:
    return helper.make_tensor(name, TensorProto.INT64, [len(dims)], dims)


@pytest.mark.parametrize(
    ("middle", "perm", "kind"),
    [
        ([1, 2, 4, 6, 5], [0, 2, 1, 3, 4], "channel_shuffle: {groups: 2}"),  # (N, g, C/g, H, W), groups swapped
        ([1, 2, 2, 2, 6, 5], [0, 1, 4, 2, 5, 3], "pixel_shuffle: {factor: 2}"),  # (N, C/r², r, r, H, W)
    ],
)
def test_reshape_transpose_reshape_is_a_channel_or_pixel_shuffle(middle: list[int], perm: list[int], kind: str) -> None:
    out = [1, 8, 6, 5] if len(middle) == 5 else [1, 2, 12, 10]
    nodes = [
        helper.make_node("Reshape", ["x", "s1"], ["a"], name="/shuffle/Reshape"),
        helper.make_node("Transpose", ["a"], ["b"], name="/shuffle/Transpose", perm=perm),
        helper.make_node("Reshape", ["b", "s2"], ["y"], name="/shuffle/Reshape_1"),
    ]
    data = model(nodes, [value("x", 1, 8, 6, 5)], [value("y", *out)],
                 [_shape_constant("s1", middle), _shape_constant("s2", out)])
    text = import_onnx(data, "m.onnx").text
    assert text.splitlines()[-1] == f"  - {kind}"
    report = convcalc.evaluate(convcalc.load(text))
    assert report.output.dims == (*out[2:], out[1])


def test_standard_input_in_and_out_makes_a_pipe() -> None:
    result = run("import", "-", input=conv_net())
    expect_exit(result, 0)
    assert result.stdout.startswith("# Imported by convcalc from <stdin> (ONNX opset 17, made by tests).\n")
    shown = run("show", "-", "-f", "json", input=result.stdout)
    expect_exit(shown, 0)
    assert '"params": 306' in shown.stdout  # 8·3·3·3 + 10·8 + 10, as the hand-made graph's weights say


def test_a_constant_sub_graph_that_would_be_huge_is_refused_not_evaluated() -> None:
    """ConstantOfShape([100000, 100000]) feeding a Pad: a gigantic array if evaluated."""
    nodes = [
        helper.make_node("ConstantOfShape", ["big_shape"], ["big"], name="/c/ConstantOfShape"),
        helper.make_node("Shape", ["big"], ["pads_long"], name="/c/Shape"),
        helper.make_node("Concat", ["pads_long", "pads_long", "pads_long", "pads_long"], ["pads"], name="/c/Concat", axis=0),
        helper.make_node("Pad", ["x", "pads"], ["y"], name="/p/Pad"),
    ]
    data = model(nodes, [value("x", 1, 3, 8, 8)], [value("y", 1, 3, "h", "w")],
                 [helper.make_tensor("big_shape", TensorProto.INT64, [2], [100_000, 100_000])])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message == ("node '/c/ConstantOfShape' (ConstantOfShape) would make a constant of 10,000,000,000 "
                                    "values: convcalc evaluates constants of at most 1,048,576 values")


def test_joins_nested_past_the_recursion_limit_are_one_error() -> None:
    """x → (relu → (relu → … → add) → add) …: each Add's fork is the tensor before its branch."""
    depth = sys.getrecursionlimit() + 100
    nodes, current = [], "x"
    forks = []
    for n in range(depth):
        forks.append(current)
        nodes.append(helper.make_node("Relu", [current], [f"r{n}"], name=f"/r{n}/Relu"))
        current = f"r{n}"
    for n in reversed(range(depth)):
        nodes.append(helper.make_node("Add", [current, forks[n]], [f"a{n}"], name=f"/a{n}/Add"))
        current = f"a{n}"
    data = model(nodes, [value("x", 1, 3, 4, 4)], [value(current, 1, 3, 4, 4)])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message == "the graph nests its joins, or its constants, too deeply for convcalc to read"


def test_the_walks_stop_at_a_bound_of_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """ResNet-50's walks take 240 steps; with a bound of 100 the import stops, whatever the graph."""
    import convcalc.engine.importer as importer

    data = (ROOT / "tests" / "models" / "resnet50.onnx").read_bytes()
    monkeypatch.setattr(importer, "MOST_STEPS", 100)
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "resnet50.onnx")
    assert caught.value.message == "the graph's joins take more than 100 steps to follow: convcalc does not import it"
    monkeypatch.setattr(importer, "MOST_STEPS", 240)
    import_onnx(data, "resnet50.onnx")


def test_attributes_convcalc_would_read_wrong_are_refused_not_guessed() -> None:
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name="/p/MaxPool", kernel_shape=[2, 2], auto_pad="SAME_UPPER",
                              strides=[2, 2])]
    data = model(nodes, [value("x", 1, 3, 7, 7)], [value("y", 1, 3, 4, 4)])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message.startswith("convcalc has no kind for 1 op type(s): MaxPool with auto_pad b'SAME_UPPER'")
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="/r/Resize", mode="weird")]
    data = model(nodes, [value("x", 1, 3, 4, 4)], [value("y", 1, 3, 8, 8)],
                 [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message == ("convcalc has no kind for 1 op type(s): Resize in mode weird ×1 (/r/Resize) "
                                    "(--allow-unknown writes each as an opaque layer)")


def test_an_attribute_or_constant_of_the_wrong_form_is_one_error_naming_the_node() -> None:
    """A Clip's bounds must be scalars; ONNX's inference lets a pair through."""
    nodes = [helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="/c/Clip")]
    data = model(nodes, [value("x", 1, 3, 4, 4)], [value("y", 1, 3, 4, 4)],
                 [helper.make_tensor("lo", TensorProto.FLOAT, [2], [0, 1]), helper.make_tensor("hi", TensorProto.FLOAT, [], [6])])
    with pytest.raises(SpecError) as caught:
        import_onnx(data, "m.onnx")
    assert caught.value.message.startswith("node '/c/Clip' (Clip) is malformed: TypeError ")
