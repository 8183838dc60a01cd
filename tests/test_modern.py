"""Constructs of modern networks against PyTorch: squeeze-excitation (``scale``), broadcasting
``mul``, and their refusals.

The torch side is written here, independently of convcalc (a torchvision-style
SqueezeExcitation), and counted with ``torch.utils.flop_counter``; the exported module is run
too.  Numbers in the assertions come from the formulas in the comments.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from convcalc.commands.main import main
from convcalc.engine.evaluate import evaluate
from convcalc.engine.solve import solve
from convcalc.spec.parser import load_spec

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from test_export import convcalc_figures, exported, run_torch  # noqa: E402

SE = """\
name: SE
input: 14x14x16
layers:
  - conv: {out: 32, kernel: 3, padding: 1, bias: false, bn: true, act: silu}
  - scale:
      name: se
      body:
        - global_pool
        - conv: {out: 8, kernel: 1, act: silu}
        - conv: {out: 32, kernel: 1, act: sigmoid}
  - conv: {out: 16, kernel: 1, bias: false, bn: true}
"""


class SqueezeExcitation(nn.Module):
    """torchvision's form: pool, 1×1 conv, activation, 1×1 conv, scale activation, multiply."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.act, self.gate = nn.SiLU(), nn.Sigmoid()

    def forward(self, x: Any) -> Any:
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


def torch_figures(model: nn.Module, x: Any) -> tuple[tuple[int, ...], int, int, int]:
    model.eval()
    with warnings.catch_warnings(), torch.no_grad(), FlopCounterMode(display=False) as counter:
        warnings.simplefilter("ignore")
        y = model(x)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return (*y.shape[2:], y.shape[1]), params, buffers, counter.get_total_flops()


def one_located_line(layers: str, message: str, tmp_path: Path, line: int | None = None) -> None:
    """``show`` on a spec of these layers exits 2 with one ``path:line:col: error:`` line holding ``message``."""
    path = tmp_path / "bad.yaml"
    path.write_text("input: 6x6x8\nlayers:\n" + layers, encoding="utf-8")
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert len(lines) == 1 and lines[0].startswith(where) and message in lines[0], result.output


def test_squeeze_excitation_equals_torch() -> None:
    model = nn.Sequential(
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.SiLU(),
        SqueezeExcitation(32, 8),
        nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16),
    )
    theirs = torch_figures(model, torch.randn(1, 16, 14, 14))
    report = evaluate(load_spec(SE))
    t = report.totals
    assert (report.output.dims, t.params, t.buffers, t.flops) == theirs
    # the gate: 32·8 + 8 and 8·32 + 32 params; its two 1×1 convs on one cell: 256 MACs each; the multiply none
    gate = [r for r in report.rows if r.name.startswith("se.")]
    assert [r.params for r in gate] == [0, 264, 288]
    assert [r.macs for r in gate] == [0, 256, 256]
    se = next(r for r in report.rows if r.name == "se")
    assert (se.kind, se.output.dims, se.inputs[1].dims) == ("scale", (14, 14, 32), (1, 1, 32))


def test_squeeze_excitation_exports_and_agrees(tmp_path: Path) -> None:
    report, cls = exported(SE, tmp_path)
    theirs, _ = run_torch(cls, report)
    assert theirs == convcalc_figures(report)


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        ("1x1x8", "6x5x8"),  # channel attention
        ("6x5x1", "6x5x8"),  # spatial attention (CBAM): one channel broadcast over eight
        ("1x5x8", "6x5x8"),
    ],
)
def test_mul_broadcasts_a_size_of_one_as_torch_does(gate: str, expected: str, tmp_path: Path) -> None:
    h, w, c = (int(v) for v in gate.split("x"))
    text = (
        "input: 6x5x8\nlayers:\n  - conv: {out: 8, kernel: 1, name: x}\n"
        f"  - adaptive_pool: {{out_size: [{h}, {w}]}}\n  - conv: {{out: {c}, kernel: 1}}\n  - mul: {{with: x}}\n"
    )
    report = evaluate(load_spec(text))
    assert "x".join(map(str, report.output.dims)) == expected
    x = torch.randn(1, 8, 6, 5)
    assert tuple((x[:, :c, :h, :w] * x).shape) == (1, 8, 6, 5)  # torch agrees that these broadcast
    report, cls = exported(text, tmp_path)
    theirs, _ = run_torch(cls, report)
    assert theirs == convcalc_figures(report)


def test_solve_sees_through_the_gate() -> None:
    # The gate is 1×1 whatever the input: the accepted sizes are those of the convs alone.
    text = SE.replace("padding: 1, bias", "stride: 2, bias")
    with_gate = solve(load_spec(text))
    plain = text.split("  - scale:")[0] + "  - conv: {out: 16, kernel: 1, bias: false, bn: true}\n"
    without = solve(load_spec(plain))
    assert with_gate.solutions == without.solutions and with_gate.solutions


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            "  - scale: [global_pool, {conv: {out: 4, kernel: 1}}]\n",
            "scale1: the gate scale1.body.conv1 gives 1×1×4 but scale multiplies its input 6×6×8 by it: "
            "the gate must have 8 channels and each spatial size 1 or the input's (a squeeze-excitation gate is 1×1×8)",
        ),
        (
            "  - conv: {out: 8, kernel: 3, name: a}\n  - pool: {kernel: 2}\n  - mul: {with: a}\n",
            "mul1: pool1 gives 2×2×8 but a gives 4×4×8; mul needs sizes that are equal or 1 (broadcast, as in PyTorch)",
        ),
        ("  - scale: {name: se}\n", "scale needs a body, the layers computing the gate"),
        ("  - scale: {body: [relu], shortcut: [relu]}\n", "scale has no key 'shortcut'"),
    ],
)
def test_bad_gates_are_one_located_line(layers: str, message: str, tmp_path: Path) -> None:
    one_located_line(layers, message, tmp_path, line=2 + layers.count("\n"))  # the last layer's line


# --- channel split (ShuffleNetV2) ----------------------------------------------------------------

SHUFFLE = """\
name: ShuffleNetV2 unit
input: 28x28x116
layers:
  - split:
      name: unit
      branches:
        - []
        - - pointwise: {out: 58, bias: false, bn: true, act: relu}
          - depthwise: {kernel: 3, padding: 1, bias: false, bn: true}
          - pointwise: {out: 58, bias: false, bn: true, act: relu}
  - channel_shuffle: {groups: 2}
"""


class ShuffleUnit(nn.Module):
    """torchvision's InvertedResidual with stride 1: x1, x2 = x.chunk(2); cat(x1, branch2(x2)); shuffle."""

    def __init__(self, c: int) -> None:
        super().__init__()
        half = c // 2
        self.branch2 = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
            nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
        )
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: Any) -> Any:
        x1, x2 = x.chunk(2, dim=1)
        return self.shuffle(torch.cat((x1, self.branch2(x2)), dim=1))


def test_shufflenet_unit_equals_torch(tmp_path: Path) -> None:
    theirs = torch_figures(ShuffleUnit(116), torch.randn(1, 116, 28, 28))
    report = evaluate(load_spec(SHUFFLE))
    t = report.totals
    assert (report.output.dims, t.params, t.buffers, t.flops) == theirs
    slices = [r for r in report.rows if r.kind == "channel_slice"]
    assert [(r.name, r.output.channels) for r in slices] == [("unit.0.channel_slice1", 58), ("unit.1.channel_slice1", 58)]
    report, cls = exported(SHUFFLE, tmp_path)
    x = torch.randn(1, 116, 28, 28)
    figures, y = run_torch(cls, report, x=x)
    assert figures == convcalc_figures(report)
    model = cls().eval()
    with torch.no_grad():  # the exported module computes what it says: the first half passes untouched
        out = model(x)
    assert torch.equal(out[:, 0::2], x[:, :58])


def test_split_sizes_cut_in_order() -> None:
    text = "input: 8x8x10\nlayers:\n  - split: {sizes: [3, 7], branches: [[], [{conv: {out: 5, kernel: 1}}]]}\n"
    report = evaluate(load_spec(text))
    assert report.output.dims == (8, 8, 8)  # 3 kept + 5 from the conv on channels 3..9
    conv = next(r for r in report.rows if r.kind == "conv")
    assert conv.input.channels == 7 and conv.params == 7 * 5 + 5


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("  - split: [[], [], []]\n", "split1: 8 channels do not split into 3 equal parts: give sizes"),
        ("  - split: {sizes: [3, 4], branches: [[], []]}\n", "split1: split sizes [3, 4] add up to 7, but the input 6×6×8 has 8 channels"),
        ("  - split: {sizes: [8], branches: [[], []]}\n", "split sizes must be a list of 2 channel counts"),
        ("  - split: {parts: 3, branches: [[], []]}\n", "split parts is 3 but there are 2 branches"),
        ("  - split: {sizes: [4, 4]}\n", "split takes its branches"),
        ("  - channel_slice: {start: 4, stop: 9}\n", "channels 4:9 are not within the input's 8"),
    ],
)
def test_bad_splits_are_one_located_line(layers: str, message: str, tmp_path: Path) -> None:
    test_bad_gates_are_one_located_line(layers, message, tmp_path)


# --- resize to another tensor: like: NAME, and `input` ------------------------------------------

LIKE = """\
name: decoder head
input: 224x224x3
layers:
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1, name: stem}
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
  - adaptive_pool: {like: stem}
  - upsample: {like: input, mode: bilinear}
  - conv: {out: 21, kernel: 1}
"""


@pytest.mark.parametrize("size", [224, 256, 97])
def test_like_follows_the_input_and_equals_torch(size: int) -> None:
    report = evaluate(load_spec(LIKE), input=f"{size}x{size}x3")
    stem = (size + 2 - 3) // 2 + 1  # the stem conv's formula
    assert [r.output.spatial for r in report.rows][3:] == [(stem, stem), (size, size), (size, size)]
    convs = [nn.Conv2d(3, 16, 3, 2, 1), nn.Conv2d(16, 16, 3, 2, 1), nn.Conv2d(16, 16, 3, 2, 1)]

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs, self.out = nn.ModuleList(convs), nn.Conv2d(16, 21, 1)

        def forward(self, x: Any) -> Any:
            stem = self.convs[0](x)
            y = self.convs[2](self.convs[1](stem))
            y = nn.functional.adaptive_avg_pool2d(y, stem.shape[2:])
            y = nn.functional.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
            return self.out(y)

    theirs = torch_figures(Head(), torch.randn(1, 3, size, size))
    t = report.totals
    assert (report.output.dims, t.params, t.buffers, t.flops) == theirs


def test_like_reads_the_target_for_its_size_only(tmp_path: Path) -> None:
    report = evaluate(load_spec(LIKE))
    up = next(r for r in report.rows if r.kind == "upsample")
    step = report.steps[up.number - 1]
    assert step.inputs == (up.number - 1, 0)  # the pooled map, and the input for its size
    assert up.summary == "→ 224 bilinear (like input)"
    report, cls = exported(LIKE, tmp_path)
    theirs, _ = run_torch(cls, report)
    assert theirs == convcalc_figures(report)


def test_solve_follows_like() -> None:
    # The head resizes to the input, so it accepts what the three stride-2 convs accept; a fixed
    # size would pin the output to 224 instead.
    answer = solve(load_spec(LIKE + "  - add: {with: input, through: [{conv: {out: 21, kernel: 1}}]}\n"))
    plain = solve(load_spec(LIKE.split("  - adaptive_pool")[0]))
    assert answer.solutions == plain.solutions and answer.solutions


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("  - upsample: {like: nosuch}\n", "like: 'nosuch': no earlier layer has that name"),
        ("  - upsample: {like: input, size: 4}\n", "give size or like, not both"),
        ("  - upsample: {like: input, scale: 2}\n", "upsample takes exactly one of scale, size and like"),
        ("  - conv: {out: 2, kernel: 1, name: input}\n", "'input' names the network's input"),
        ("  - flatten\n  - upsample: {like: input}\n", "upsample needs a spatial input"),
        ("  - adaptive_pool\n", "adaptive_pool takes exactly one of out_size and like"),
        ("  - upsample: {like: 3}\n", "upsample like must be the name of an earlier layer"),
        ("  - upsample: {like: later}\n  - relu: {name: later}\n", "like: 'later': no earlier layer has that name"),
    ],
)
def test_bad_likes_are_one_located_line(layers: str, message: str, tmp_path: Path) -> None:
    one_located_line(layers, message, tmp_path)


# --- several outputs and heads off the trunk: from: and outputs: ----------------------------------

HEADS = """\
name: three heads
input: 64x64x3
layers:
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, name: p3}
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, name: p4}
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1, name: p5}
  - conv: {out: 255, kernel: 1, name: head5}
  - from: p4
  - conv: {out: 255, kernel: 1, name: head4}
  - from: p3
  - conv: {out: 255, kernel: 1, name: head3}
outputs: [head3, head4, head5]
expect:
  outputs: {head3: 32x32x255, head4: 16x16x255, head5: 8x8x255}
"""


class Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.p3, self.p4, self.p5 = nn.Conv2d(3, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1)
        self.heads = nn.ModuleList(nn.Conv2d(8, 255, 1) for _ in range(3))

    def forward(self, x: Any) -> Any:
        p3 = self.p3(x)
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        return tuple(head(p) for head, p in zip(self.heads, (p3, p4, p5)))


def _count(model: nn.Module, x: Any) -> tuple[list[tuple[int, ...]], int, int]:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        ys = model.eval()(x)
    return [(*y.shape[2:], y.shape[1]) for y in ys], sum(p.numel() for p in model.parameters()), counter.get_total_flops()


def test_heads_off_the_trunk_equal_torch(tmp_path: Path) -> None:
    report = evaluate(load_spec(HEADS))
    ours = ([o.shape.dims for o in report.outputs], report.totals.params, report.totals.flops)
    x = torch.randn(1, 3, 64, 64)
    assert ours == _count(Heads(), x)
    assert [o.name for o in report.outputs] == ["head3", "head4", "head5"]
    assert report.output.dims == (8, 8, 255) and not report.failures  # `output` is the last listed
    _, cls = exported(HEADS, tmp_path)
    assert _count(cls(), x) == ours  # the exported forward returns the three heads, in order


def test_outputs_in_json_and_the_title() -> None:
    result = CliRunner().invoke(main, ["show", "-", "-f", "json"], input=HEADS)
    document = json.loads(result.output)
    assert document["outputs"] == [
        {"name": "head3", "shape": [32, 32, 255]},
        {"name": "head4", "shape": [16, 16, 255]},
        {"name": "head5", "shape": [8, 8, 255]},
    ]
    assert document["output"] == [8, 8, 255]
    table = CliRunner().invoke(main, ["show", "-"], input=HEADS).output
    assert table.splitlines()[0] == "three heads: 64×64×3 → outputs head3 32×32×255, head4 16×16×255, head5 8×8×255"
    single = CliRunner().invoke(main, ["show", "-", "-f", "json"], input=HEADS.split("outputs:")[0])
    assert json.loads(single.output)["outputs"] == [{"name": "head3", "shape": [32, 32, 255]}]


def test_expect_outputs_fail_by_name() -> None:
    text = HEADS.replace("head4: 16x16x255", "head4: 16x16x85").replace("head5: 8x8x255", "p9: 8x8x255")
    result = CliRunner().invoke(main, ["check", "-"], input=text)
    assert result.exit_code == 1
    assert "output head4 is 16×16×255, expected 16×16×85" in result.output
    assert "expect outputs: 'p9' is not an output (the outputs: head3, head4, head5)" in result.output


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("  - from: nowhere\n", "from: 'nowhere': no earlier layer has that name"),
        ("  - from: {name: x}\n", "from takes the name of an earlier layer"),
        ("  - relu\noutputs: [relu1, nothing]\n", "outputs: no layer is named 'nothing'"),
        ("  - relu\noutputs: []\n", "outputs must be a list of layer names"),
        ("  - relu\nexpect: {outputs: 3}\n", "expect outputs must map output names to shapes"),
    ],
)
def test_bad_outputs_are_one_located_line(layers: str, message: str, tmp_path: Path) -> None:
    test_bad_likes_are_one_located_line(layers, message, tmp_path)


# --- random sizes (hypothesis): the constructs against torch modules written here --------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}


def _figures_of(text: str) -> tuple[tuple[int, ...], int, int]:
    report = evaluate(load_spec(text))
    return report.output.dims, report.totals.params, report.totals.flops


def _torch_of(model: nn.Module, dims: list[int]) -> tuple[tuple[int, ...], int, int]:
    out, params, _, flops = torch_figures(model, torch.randn(1, dims[-1], *dims[:-1]))
    return out, params, flops


@settings(max_examples=60, deadline=None)
@given(
    rank=st.integers(1, 3),
    side=st.integers(1, 6),
    c=st.integers(1, 12),
    squeeze=st.integers(1, 6),
    gate_size=st.sampled_from(["global", "full"]),
)
def test_random_gates_equal_torch(rank: int, side: int, c: int, squeeze: int, gate_size: str) -> None:
    dims = [side] * rank + [c]
    body = [*(["global_pool"] if gate_size == "global" else []),
            {"conv": {"out": squeeze, "kernel": 1, "act": "relu"}}, {"conv": {"out": c, "kernel": 1, "act": "sigmoid"}}]
    text = json.dumps({"input": dims, "layers": [{"scale": {"body": body}}]})  # JSON is YAML

    class Gate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = POOL[rank](1) if gate_size == "global" else nn.Identity()
            self.a, self.b = CONV[rank](c, squeeze, 1), CONV[rank](squeeze, c, 1)

        def forward(self, x: Any) -> Any:
            return x * torch.sigmoid(self.b(torch.relu(self.a(self.pool(x)))))

    assert _figures_of(text) == _torch_of(Gate(), dims)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4), side=st.integers(1, 5), out=st.integers(1, 5))
def test_random_splits_equal_torch(sizes: list[int], side: int, out: int) -> None:
    # every branch but the first is a 1×1 conv of its part: cat(x[:, :a], conv(x[:, a:a+b]), ...)
    c = sum(sizes)
    branches = ", ".join("[]" if i == 0 else f"[{{conv: {{out: {out}, kernel: 1}}}}]" for i in range(len(sizes)))
    text = f"input: [{side}, {side}, {c}]\nlayers:\n  - split: {{sizes: {sizes}, branches: [{branches}]}}\n"

    class Split(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv2d(n, out, 1) for n in sizes[1:])

        def forward(self, x: Any) -> Any:
            parts = list(torch.split(x, sizes, dim=1))
            return torch.cat([parts[0], *(conv(p) for conv, p in zip(self.convs, parts[1:]))], dim=1)

    assert _figures_of(text) == _torch_of(Split(), [side, side, c])
