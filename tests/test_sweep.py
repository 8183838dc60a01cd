"""``convcalc sweep``: every variant's figures are show's for that setting and input, --where and
--pareto keep what their definitions keep (checked against a brute force here), and every bad
input is one line and exit 2."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.base.errors import SpecError
from convcalc.engine.sweep import Variant, pareto, sweep, where_test
from convcalc.model.geometry import Shape

from helpers import ROOT, expect_exit, run, streams

MOBILENET = ROOT / "specs" / "mobilenet_v2.yaml"
SCALED = ROOT / "docs" / "examples" / "scaled.yaml"


def test_every_variant_is_what_show_gives_for_it() -> None:
    variants = sweep(MOBILENET.read_bytes(), [("width", "0.5,0.75,1.0,1.4")], "160,224x224x3")
    assert len(variants) == 4 * 2
    for v, (width, size) in zip(variants, itertools.product((0.5, 0.75, 1.0, 1.4), ("160x160x3", "224x224x3"))):
        report = convcalc.evaluate(convcalc.load(MOBILENET, set={"width": width}), input=size)
        assert v.settings == (("width", width),)
        assert (v.input, v.output, v.params, v.buffers, v.macs) == (
            report.input, report.output, report.totals.params, report.totals.buffers, report.totals.macs)
        assert v.flags == sum(not f.accepted for f in report.flags)


def test_ranges_include_both_ends_and_several_args_make_every_combination() -> None:
    variants = sweep(SCALED.read_bytes(), [("width", "0.5..1.0/0.25"), ("resolution", "64..96/32")])
    assert [dict(v.settings) for v in variants] == [
        {"width": w, "resolution": r} for w, r in itertools.product((0.5, 0.75, 1), (64, 96))]
    assert [v.input.spatial for v in variants] == [(r, r) for _, r in itertools.product(range(3), (64, 96))]


def test_train_adds_the_training_peak_that_show_gives() -> None:
    variants = sweep(SCALED.read_bytes(), [("width", "0.5,1")], train="adam")
    for v, width in zip(variants, (0.5, 1)):
        report = convcalc.evaluate(convcalc.load(SCALED, set={"width": width}))
        assert v.train_peak == convcalc.training(report).peak_bytes


def _variants(points: list[tuple[int, int, int]]) -> list[Variant]:
    shape = Shape((1, 1), 1)
    return [Variant((("i", i),), shape, shape, p, 0, m, f, 0) for i, (p, m, f) in enumerate(points)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 2)), max_size=25))
def test_pareto_keeps_exactly_the_undominated(points: list[tuple[int, int, int]]) -> None:
    variants = _variants(points)
    kept = pareto(variants, ["params", "macs"])

    def dominated(v: Variant) -> bool:
        return any(u.params <= v.params and u.macs <= v.macs and (u.params, u.macs) != (v.params, v.macs) for u in variants)

    assert kept == [v for v in variants if not dominated(v)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 2)), max_size=25),
       st.integers(0, 6), st.integers(0, 6), st.integers(0, 2))
def test_where_is_and_before_or(points: list[tuple[int, int, int]], a: int, b: int, c: int) -> None:
    test = where_test(f"params <= {a} and macs > {b} or flags == {c}")
    for v in _variants(points):
        assert test(v) == ((v.params <= a and v.macs > b) or v.flags == c)


def test_where_reads_suffixes() -> None:
    test = where_test("macs <= 300M and params < 4M")
    shape = Shape((1, 1), 1)
    assert test(Variant((), shape, shape, 3_999_999, 0, 300_000_000, 0, 0))
    assert not test(Variant((), shape, shape, 4_000_000, 0, 1, 0, 0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vary", "depth=1,2"], "--vary depth: the spec has no argument 'depth' (its args: width, resolution)"),
        (["--vary", "width=wide"], "--set width=wide: width is a number (its default is 1.0)"),
        (["--vary", "width=1", "--vary", "width=2"], "--vary width is given twice"),
        (["--vary", "width=1", "--set", "width=2"], "width is both --set and --vary: keep one"),
        (["--vary", "width=2..1/1"], "a range is FIRST..LAST/STEP with LAST ≥ FIRST and STEP > 0"),
        (["--vary", "width=1", "--where", "mac < 3"], "--where: unknown figure 'mac'; did you mean 'macs'?"),
        (["--vary", "width=1", "--where", "macs < 3 and"], "--where: a comparison is missing"),
        (["--vary", "width=1", "--where", "macs ~ 3"], "is not FIGURE OP NUMBER"),
        (["--vary", "width=1", "--pareto", "params,speed"], "--pareto: unknown figure 'speed'"),
        (["--vary", "width=1", "--where", "peak < 1G"], "the figure 'peak' needs --train"),
        (["--vary", "width=0..1000000/0.0001"], "is more than the 100,000 a sweep takes"),
        # 3,601 widths × 3 sizes of MobileNetV2's 66 rows: over the 500,000 rows a sweep evaluates
        (["--vary", "width=0.2..2/0.0005", "--sizes", "160,192,224"], "the sweep would evaluate about 712,998 rows"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run("sweep", str(MOBILENET), *args)
    expect_exit(result, 2)
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, streams(result)
    assert message in result.stderr, streams(result)


def test_nothing_to_vary_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "convcalc", "sweep", str(MOBILENET)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == "" and "give what to vary" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_formats() -> None:
    args = ["sweep", str(SCALED), "--vary", "width=0.5,1", "--sizes", "64"]
    doc = json.loads(run(*args, "-f", "json").stdout)
    assert doc["varied"] == ["width"] and [v["width"] for v in doc["variants"]] == [0.5, 1]
    assert doc["variants"][0]["input"] == [64, 64, 3] and doc["variants"][0]["params"] == 464 + 1168 + 1184
    csv = run(*args, "-f", "csv").stdout.splitlines()
    assert csv[0] == "width,input,output,params,buffers,macs,flops,flags,warnings" and csv[1].startswith("0.5,64x64x3,")
    markdown = run(*args, "-f", "markdown").stdout.splitlines()
    assert markdown[0] == "| width | input | output | params | MACs | FLOPs | flags |"
    table = run(*args).stdout.splitlines()
    assert table[0].split() == ["width", "input", "output", "params", "MACs", "FLOPs", "flags"]


def test_the_where_and_pareto_of_the_readme() -> None:
    result = run("sweep", str(MOBILENET), "--vary", "width=0.5,0.75,1.0,1.4", "--sizes", "160..224/32",
                 "--where", "macs <= 300M", "--pareto", "params,macs", "-f", "json")
    kept = json.loads(result.stdout)["variants"]
    everything = json.loads(run("sweep", str(MOBILENET), "--vary", "width=0.5,0.75,1.0,1.4", "--sizes", "160..224/32",
                                "-f", "json").stdout)["variants"]
    small = [v for v in everything if v["macs"] <= 300_000_000]
    front = [v for v in small if not any(u["params"] <= v["params"] and u["macs"] <= v["macs"]
                                         and (u["params"], u["macs"]) != (v["params"], v["macs"]) for u in small)]
    assert kept == front and kept


def test_a_sweep_error_names_the_variant() -> None:
    # U-Net's unpadded convs need 572 (or 572 + 16k): 100 is too small for its bottom level.
    with pytest.raises(SpecError) as caught:
        sweep((ROOT / "specs" / "unet.yaml").read_bytes(), [], "572,100")
    assert caught.value.message.startswith("with input 100x100x1: bottom.conv1")
    result = run("sweep", str(ROOT / "specs" / "unet.yaml"), "--sizes", "572,100")
    expect_exit(result, 2)
    assert result.stderr.startswith(f"{ROOT / 'specs' / 'unet.yaml'}:") and "with input 100x100x1: " in result.stderr
    assert len(result.stderr.splitlines()) == 1
