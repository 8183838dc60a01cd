"""A spec's own arguments (`args:` and `--set`), and the expression language they are used in.

Expressions are checked against Python's own exact arithmetic (``fractions.Fraction``) on random
expression trees, the integer expressions of format version 1 against Python's ints (they must
give what they gave), and ``make_divisible`` against torchvision's definition written out here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import evaluate
from convcalc.spec.parser import load_spec
from convcalc.spec.template import ExpressionError, evaluate_expression

from helpers import ROOT, expect_exit, run, write

SCALED = ROOT / "docs" / "examples" / "scaled.yaml"


# --- expressions ------------------------------------------------------------------------------

@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, Fraction | None]:
    """(text, exact value, or None when it divides by zero)."""
    if depth > 3 or draw(st.booleans()):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            n = draw(st.integers(0, 50))
            return str(n), Fraction(n)
        if choice == 1:
            whole, part = draw(st.integers(0, 9)), draw(st.integers(0, 99))
            return f"{whole}.{part:02d}", Fraction(f"{whole}.{part:02d}")
        name = draw(st.sampled_from(["a", "w"]))
        return name, {"a": Fraction(7), "w": Fraction(3, 4)}[name]
    op = draw(st.sampled_from(["+", "-", "*", "/", "//", "neg", "round", "ceil", "floor", "min", "max"]))
    left_text, left = draw(expressions(depth + 1))
    if op == "neg":
        return f"-({left_text})", None if left is None else -left
    if op in ("round", "ceil", "floor"):
        fn = {"round": round, "ceil": math.ceil, "floor": math.floor}[op]
        return f"{op}({left_text})", None if left is None else Fraction(fn(left))
    right_text, right = draw(expressions(depth + 1))
    if left is None or right is None:
        value = None
    elif op in ("min", "max"):
        value = min(left, right) if op == "min" else max(left, right)
    elif op in ("/", "//") and right == 0:
        value = None
    else:
        value = {"+": left + right, "-": left - right, "*": left * right, "/": left / right if right else None,
                 "//": Fraction(left // right) if right else None}[op]
    if op in ("min", "max"):
        return f"{op}({left_text}, {right_text})", value
    return f"({left_text}) {op} ({right_text})", value


@settings(max_examples=400, deadline=None)
@given(expressions())
def test_expressions_are_exact_rational_arithmetic(case: tuple[str, Fraction | None]) -> None:
    text, expected = case
    args = {"a": 7, "w": 0.75}
    if len(text) > 200:
        return  # past the expression limit (tested on its own)
    if expected is None:
        with pytest.raises(ExpressionError, match="division by zero"):
            evaluate_expression(text, args)
        return
    got = evaluate_expression(text, args)
    if expected.denominator == 1:
        assert got == int(expected) and isinstance(got, int)
    else:
        assert isinstance(got, float) and got == expected.numerator / expected.denominator


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), st.integers(1, 1000), st.sampled_from(["+", "-", "*", "//"]))
def test_version_1_integer_expressions_keep_their_values(a: int, b: int, c: int, op: str) -> None:
    text = f"(a {op} b) // c - -b"
    expected = {"+": a + b, "-": a - b, "*": a * b, "//": a // b if b else None}[op]
    if expected is None:
        with pytest.raises(ExpressionError):
            evaluate_expression(text, {"a": a, "b": b, "c": c})
        return
    assert evaluate_expression(text, {"a": a, "b": b, "c": c}) == expected // c + b


def torchvision_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible, written out (it follows TensorFlow's MobileNet)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # make sure that rounding down does not go down by more than 10%
        new_v += divisor
    return new_v


@pytest.mark.parametrize("width", [0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 2.0])
@pytest.mark.parametrize("channels", [16, 24, 32, 40, 64, 80, 96, 112, 160, 192, 320, 1280])
def test_make_divisible_is_torchvisions(width: float, channels: int) -> None:
    expected = torchvision_make_divisible(channels * width, 8)
    assert evaluate_expression("make_divisible(c * width, 8)", {"c": channels, "width": width}) == expected


def test_expression_errors_say_what_is_allowed() -> None:
    cases = {
        "foo(1)": "unknown function 'foo'",
        "round(1, 2)": "round() takes one value, got 2",
        "make_divisible(10, 0)": "make_divisible's divisor must be a positive whole number, got 0",
        "make_divisible(10)": "make_divisible() takes a value, a divisor and optionally a least value",
        "min()": "min() takes at least one value",
        "2 ** 3": "unexpected '*'",
        "1 / (a - 7)": "division by zero",
        "s * 2": "argument 's' is 'text', not a number",
        "ceil(1": "ceil( is not closed",
        "9" * 41: "longer than 40 digits",
    }
    for text, message in cases.items():
        with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
            evaluate_expression(text, {"a": 7, "s": "text"})


# --- a spec's own arguments -----------------------------------------------------------------

def test_defaults_and_settings_reach_the_layers_the_input_and_the_blocks() -> None:
    report = evaluate(load_spec(SCALED.read_bytes()))
    assert [str(r.output) for r in report.rows] == ["112×112×32", "112×112×16", "112×112×24"]
    report = evaluate(load_spec(SCALED.read_bytes(), {"width": "0.5", "resolution": "160"}))
    # make_divisible(32·0.5, 8) = 16, (16·0.5) = 8, (24·0.5) = 12 → 16; (160 + 2 − 3)/2 + 1 = 80.
    assert [str(r.output) for r in report.rows] == ["80×80×16", "80×80×8", "80×80×16"]


def test_a_blocks_own_argument_wins_over_the_specs(tmp_path: Path) -> None:
    text = """args: {c: 4}
input: 8x8x3
blocks:
  unit:
    args: {c: 6}
    layers: [{conv: {out: $c, kernel: 1}}]
  plain:
    layers: [{conv: {out: $c, kernel: 1}}]
layers: [unit, plain]
"""
    report = evaluate(load_spec(text))
    assert [r.output.channels for r in report.rows] == [6, 4]


def test_a_channel_count_that_is_not_whole_is_a_located_error() -> None:
    text = "args: {width: 0.7}\ninput: 8x8x3\nlayers:\n  - conv: {out: '${10 * width + 0.5}', kernel: 1}\n"
    with pytest.raises(SpecError) as caught:
        evaluate(load_spec(text))
    assert (caught.value.mark.line, caught.value.mark.col) == (4, 17) and "7.5" in caught.value.message


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"depth": "2"}, "--set depth: the spec has no argument 'depth' (its args: width, resolution)"),
        ({"width": "wide"}, "--set width=wide: width is a number (its default is 1.0)"),
        ({"resolution": "1e3"}, "--set resolution=1e3: resolution is a number (its default is 224)"),
        ({"width": "0." + "1" * 16}, "width is a number"),
    ],
)
def test_a_wrong_setting_is_refused_with_what_the_spec_takes(settings: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        load_spec(SCALED.read_bytes(), settings)
    assert caught.value.mark is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("args: [1]\ninput: 8x8x3\nlayers: [relu]\n", "args must be a mapping"),
        ("args:\ninput: 8x8x3\nlayers: [relu]\n", "args must be a mapping"),
        ("args: {name: 1}\ninput: 8x8x3\nlayers: [relu]\n", "cannot have an argument named 'name'"),
        ("args: {in_channels: 1}\ninput: 8x8x3\nlayers: [relu]\n", "cannot have an argument named 'in_channels'"),
        ("args: {w: [1]}\ninput: 8x8x3\nlayers: [relu]\n", "argument w's default must be a number"),
        ("args: {w: 1}\ninput: 8x8x3\nlayers: [{conv: {out: $v, kernel: 1}}]\n", "unknown argument '$v'"),
    ],
)
def test_bad_args_are_located_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(text)
    assert message in caught.value.message
    assert caught.value.mark is not None


def test_the_api_takes_set() -> None:
    spec = convcalc.load(SCALED, set={"width": 0.5, "resolution": 160})
    assert spec.args == {"width": 0.5, "resolution": 160}
    assert convcalc.evaluate(spec).output.dims == (80, 80, 16)
    assert convcalc.load_dict({"args": {"c": 2}, "input": [4, 4, 1], "layers": [{"conv": {"out": "$c", "kernel": 1}}]},
                              set={"c": 3}).args == {"c": 3}
    with pytest.raises(SpecError, match="width is a number"):
        convcalc.load(SCALED, set={"width": True})


# --- the command line -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "command",
    [["show", "-f", "json"], ["check", "-f", "json"], ["solve", "-f", "json"], ["explain", "-f", "json"],
     ["export", "--to", "torch"], ["draw", "--style", "flat"]],
)
def test_every_command_that_reads_a_spec_takes_set(command: list[str]) -> None:
    if command[0] == "draw":
        pytest.importorskip("drawsvg")
    good = run(command[0], str(SCALED), *command[1:], "--set", "width=0.5", "--set", "resolution=160")
    expect_exit(good, 0)
    bad = run(command[0], str(SCALED), *command[1:], "--set", "depth=2")
    if command[0] == "check":  # check reports a file's error as a finding, on standard output
        expect_exit(bad, 2)
        assert "--set depth: the spec has no argument 'depth'" in bad.stdout
    else:
        expect_exit(bad, 2)
        assert bad.stderr.startswith(f"{SCALED}: error: --set depth: the spec has no argument 'depth'")
        assert len(bad.stderr.splitlines()) == 1


def test_show_json_reflects_the_setting() -> None:
    doc = json.loads(run("show", str(SCALED), "-f", "json", "--set", "resolution=96").stdout)
    assert doc["input"] == [96, 96, 3] and doc["layers"][0]["output"] == [48, 48, 32]


def test_malformed_set_is_a_usage_error_on_one_line() -> None:
    for args, message in ((["--set", "width"], "'width' is not NAME=VALUE"),
                          (["--set", "width=1", "--set", "width=2"], "width is set twice")):
        done = subprocess.run([sys.executable, "-m", "convcalc", "show", str(SCALED), *args],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and message in done.stderr


def test_set_on_a_spec_without_args_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.yaml", "input: 8x8x3\nlayers: [relu]\n")
    result = run("show", path, "--set", "width=2")
    expect_exit(result, 2)
    assert result.stderr == (f"{path}: error: --set width: the spec has no argument 'width' "
                             "(it declares none: a top-level `args:` does)\n")


# --- MobileNetV2 with width and resolution, against torchvision's construction in torch --------

def torch_mobilenet_v2(width_mult: float) -> Any:
    """torchvision.models.MobileNetV2(width_mult=…) written out in plain torch: the same layers,
    in the same order, with the same rounding of every channel count (torchvision 0.2x)."""
    import torch.nn as nn

    def conv_bn_act(inp: int, oup: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
            super().__init__()
            hidden_dim = int(round(inp * expand_ratio))
            self.use_res_connect = stride == 1 and inp == oup
            layers: list[nn.Module] = []
            if expand_ratio != 1:
                layers.append(conv_bn_act(inp, hidden_dim, 1))
            layers += [conv_bn_act(hidden_dim, hidden_dim, 3, stride, groups=hidden_dim),
                       nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
    input_channel = torchvision_make_divisible(32 * width_mult, 8)
    last_channel = torchvision_make_divisible(1280 * max(1.0, width_mult), 8)
    features: list[nn.Module] = [conv_bn_act(3, input_channel, 3, 2)]
    for t, c, n, s in setting:
        output_channel = torchvision_make_divisible(c * width_mult, 8)
        for i in range(n):
            features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
            input_channel = output_channel
    features.append(conv_bn_act(input_channel, last_channel, 1))
    return nn.Sequential(*features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(last_channel, 1000))


@pytest.mark.parametrize(("width", "resolution"), [(0.5, 224), (0.75, 192), (1.0, 224), (1.4, 224), (1.4, 160)])
def test_mobilenet_v2_with_width_and_resolution_is_torchvisions(width: float, resolution: int) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    model = torch_mobilenet_v2(width).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.zeros(1, 3, resolution, resolution))
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    spec = convcalc.load(ROOT / "specs" / "mobilenet_v2.yaml", set={"width": width, "resolution": resolution})
    report = convcalc.evaluate(spec)
    assert report.output.dims == tuple(out.shape[1:]) == (1000,)
    assert (report.totals.params, report.totals.buffers) == (params, buffers)
    assert 2 * report.totals.macs == counter.get_total_flops()
