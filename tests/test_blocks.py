"""Blocks, branches, repeats and skips: shapes, sums, path names, lookups and errors.

Expected figures are worked out from the formulas in the comments beside them.
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import Report, evaluate
from convcalc.spec.parser import load_spec
from convcalc.spec.template import ExpressionError, evaluate_expression


def run(text: str, **kw: object) -> Report:
    return evaluate(load_spec(textwrap.dedent(text)), **kw)  # type: ignore[arg-type]


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        run(text)
    return info.value


def names(report: Report) -> list[str]:
    return [r.name for r in report.rows]


BOTTLENECK = """
    input: 56x56x256
    blocks:
      bottleneck:
        args: {mid: 64, out: 256, stride: 1}
        layers:
          - residual:
              body:
                - conv: {out: $mid, kernel: 1, bias: false, bn: true, act: relu}
                - conv: {out: $mid, kernel: 3, stride: $stride, padding: 1, bias: false, bn: true, act: relu}
                - conv: {out: $out, kernel: 1, bias: false, bn: true}
              shortcut:
                - conv: {out: $out, kernel: 1, stride: $stride, bias: false, bn: true}
          - relu
    layers:
      - bottleneck: {mid: 128, out: 512, stride: 2, name: down}
      - repeat: {times: 2, name: more, layers: [{bottleneck: {mid: 128, out: 512}}]}
"""


def test_bottleneck_block_figures_and_paths() -> None:
    report = run(BOTTLENECK.replace("          shortcut:", "          shortcut:", 1))
    assert report.output.dims == (28, 28, 512)
    # down: 1×1 256→128, 3×3 128→128, 1×1 128→512, shortcut 1×1 256→512, each conv + BN(2·out)
    down = (256 * 128 + 256) + (128 * 128 * 9 + 256) + (128 * 512 + 1024) + (256 * 512 + 1024)
    # repeats: the same block with a 1×1 512→512 stride-1 shortcut conv
    again = (512 * 128 + 256) + (128 * 128 * 9 + 256) + (128 * 512 + 1024) + (512 * 512 + 1024)
    assert report.totals.params == down + 2 * again
    assert names(report)[:6] == [
        "down.residual1.body.conv1", "down.residual1.body.conv2", "down.residual1.body.conv3",
        "down.residual1.shortcut.conv1", "down.residual1", "down.relu1",
    ]
    assert "more.0.bottleneck1.residual1.body.conv2" in names(report)
    assert names(report)[-1] == "more.1.bottleneck1.relu1"
    join = report.rows[4]
    assert (join.kind, join.params, join.macs) == ("residual", 0, 0)
    assert [s.dims for s in join.inputs] == [(28, 28, 512), (28, 28, 512)]


def test_textbook_bottleneck_against_two_3x3_convs() -> None:
    report = run("""
        input: 56x56x256
        layers:
          - residual:
              body:
                - conv: {out: 64, kernel: 1, bias: false}
                - conv: {out: 64, kernel: 3, padding: 1, bias: false}
                - conv: {out: 256, kernel: 1, bias: false}
    """)
    assert report.totals.params == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69632
    plain = run("""
        input: 56x56x256
        layers:
          - conv: {out: 256, kernel: 3, padding: 1, bias: false}
          - conv: {out: 256, kernel: 3, padding: 1, bias: false}
    """)
    assert plain.totals.params == 2 * 9 * 256 * 256 == 1179648


INCEPTION = """
    input: 28x28x192
    layers:
      - concat:
          name: inc3a
          branches:
            - [{conv: {out: 64, kernel: 1}}]
            - [{conv: {out: 96, kernel: 1}}, {conv: {out: 128, kernel: 3, padding: 1}}]
            - [{conv: {out: 16, kernel: 1}}, {conv: {out: 32, kernel: 5, padding: 2}}]
            - [{maxpool: {kernel: 3, stride: 1, padding: 1}}, {conv: {out: 32, kernel: 1}}]
"""


def test_inception_3a_concat() -> None:
    report = run(INCEPTION)
    assert report.output.dims == (28, 28, 256)  # 64 + 128 + 32 + 32
    weights = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert report.totals.params == weights + biases
    assert "inc3a.1.conv2" in names(report)
    assert names(report)[-1] == "inc3a"
    naive = 192 * 64 + 9 * 192 * 128 + 25 * 192 * 32
    assert weights < naive / 2  # the reductions cut the weights to well under half


def test_concat_identity_branch_is_densenet_style() -> None:
    report = run("""
        input: 8x8x16
        layers:
          - concat: [[], [{conv: {out: 12, kernel: 3, padding: 1}}]]
          - concat: [[], [{conv: {out: 12, kernel: 3, padding: 1}}]]
    """)
    assert report.output.dims == (8, 8, 40)


def test_add_branches() -> None:
    report = run("""
        input: 8x8x16
        layers:
          - add: [[{conv: {out: 16, kernel: 3, padding: 1}}], [{conv: {out: 16, kernel: 1}}]]
    """)
    assert report.output.dims == (8, 8, 16)
    assert report.rows[-1].kind == "add"


UNET_SKIP = """
    input: 572x572x1
    layers:
      - conv: {out: 64, kernel: 3, name: enc1}        # 570
      - pool: {kernel: 2}                               # 285
      - conv: {out: 128, kernel: 3}                     # 283
      - deconv: {out: 64, kernel: 2, stride: 2}         # 566
      - concat: {with: enc1, fit: crop}                 # 570 cropped to 566: 128 channels
"""


def test_skip_with_crop() -> None:
    report = run(UNET_SKIP)
    assert report.output.dims == (566, 566, 128)
    join = report.rows[-1]
    assert [s.dims for s in join.inputs] == [(566, 566, 64), (566, 566, 64)]


def test_skip_with_pad_and_through() -> None:
    report = run("""
        input: 15x15x8
        layers:
          - conv: {out: 8, kernel: 1, name: stem}
          - pool: {kernel: 2}                                  # 7
          - upsample: {scale: 2}                               # 14
          - add: {with: stem, fit: pad}                        # 14 padded to 15
          - concat: {with: stem, through: [{conv: {out: 4, kernel: 1}}]}
    """)
    assert report.output.dims == (15, 15, 12)
    assert "concat1.conv1" in names(report)


def test_with_looks_in_the_innermost_scope_first() -> None:
    report = run("""
        input: 8x8x4
        blocks:
          twice:
            layers:
              - conv: {out: 4, kernel: 1, name: a}
              - conv: {out: 4, kernel: 3, padding: 1}
              - add: {with: a}
        layers:
          - conv: {out: 4, kernel: 3, name: a}                # 6×6: the block's own `a` must win
          - twice
    """)
    assert report.output.dims == (6, 6, 4)
    report = run("""
        input: 8x8x4
        blocks:
          join_stem:
            layers:
              - conv: {out: 4, kernel: 1}
              - add: {with: stem}                              # found in the enclosing scope
        layers:
          - conv: {out: 4, kernel: 1, name: stem}
          - join_stem: {name: j}
          - add: {with: j.conv1}                               # a path from the top
    """)
    assert report.output.dims == (8, 8, 4)


def test_residual_shape_mismatch_names_both_sides() -> None:
    e = error("""
        input: 56x56x64
        layers:
          - residual:
              name: block1
              body:
                - conv: {out: 128, kernel: 3, stride: 2, padding: 1}
    """)
    assert e.message.startswith("block1: block1.body.conv1 gives 28×28×128 but the identity shortcut gives 56×56×64")
    assert e.mark is not None and e.mark.line == 4


def test_concat_spatial_mismatch() -> None:
    e = error("""
        input: 13x13x4
        layers:
          - conv: {out: 4, kernel: 1, name: skip}
          - pool: {kernel: 2}
          - upsample: {scale: 2}
          - concat: {with: skip}
    """)
    assert "upsample1 gives 12×12×4 but skip gives 13×13×4" in e.message
    assert "fit: crop" in e.message


def test_unknown_with_target() -> None:
    e = error("""
        input: 8x8x4
        layers:
          - conv: {out: 4, kernel: 1, name: stem}
          - add: {with: stme}
    """)
    assert e.message == "add with 'stme': no earlier layer has that name here or in an enclosing scope; did you mean 'stem'?"
    assert e.mark is not None and (e.mark.line, e.mark.col) == (5, 17)


def test_later_layers_are_not_visible() -> None:
    e = error("""
        input: 8x8x4
        layers:
          - add: {with: later}
          - conv: {out: 4, kernel: 1, name: later}
    """)
    assert "no earlier layer" in e.message


def test_block_that_uses_itself() -> None:
    e = error("""
        input: 8x8x4
        blocks:
          a: {layers: [b]}
          b: {layers: [relu, a]}
        layers: [a]
    """)
    assert "block a uses itself (a → b → a)" in e.message


def test_error_inside_a_block_names_the_call_line() -> None:
    e = error("""
        input: 8x8x4
        blocks:
          unit:
            args: {k: 3}
            layers:
              - conv: {out: 4, kernel: $k}
        layers:
          - unit: {k: 9}
    """)
    assert e.mark is not None and e.mark.line == 7  # the line in the block
    assert e.message.endswith("(in block unit, called at line 9)")


def test_block_argument_errors() -> None:
    assert "has no argument 'wdith'; did you mean 'width'?" in error("""
        input: 8x8x4
        blocks: {unit: {args: {width: 4}, layers: [{conv: {out: $width, kernel: 1}}]}}
        layers: [{unit: {wdith: 8}}]
    """).message
    assert "unknown argument '$heigth'" in error("""
        input: 8x8x4
        blocks: {unit: {args: {width: 4}, layers: [{conv: {out: $heigth, kernel: 1}}]}}
        layers: [unit]
    """).message
    assert "in '${width ** 2}': unexpected '*'" in error("""
        input: 8x8x4
        blocks: {unit: {args: {width: 4}, layers: [{conv: {out: "${width ** 2}", kernel: 1}}]}}
        layers: [unit]
    """).message
    assert error("""
        input: 8x8x4
        layers: [{conv: {out: $ref, kernel: 1}}]
    """).message == "in '$ref': unknown argument '$ref' (there are no block arguments here)"


def test_expressions_in_arguments() -> None:
    report = run("""
        input: 8x8x4
        blocks:
          widen:
            args: {width: 4, factor: 2}
            layers: [{conv: {out: "${width * factor + (width // 2)}", kernel: 1, name: "c${factor}"}}]
        layers: [{widen: {width: 6}}]
    """)
    assert report.output.dims == (8, 8, 6 * 2 + 3)
    assert names(report) == ["widen1.c2"]


def test_repeat_many_times_is_fast_and_counts() -> None:
    report = run("""
        input: 8x8x4
        blocks:
          unit: {layers: [{conv: {out: 4, kernel: 3, padding: 1}}, relu]}
        layers:
          - repeat: {times: 1000, layers: [unit]}
    """)
    assert len(report.rows) == 2000
    assert report.totals.params == 1000 * (4 * 4 * 9 + 4)
    assert report.rows[-1].name == "repeat1.999.unit1.relu1"


def test_expect_on_constructs() -> None:
    report = run(INCEPTION.replace("name: inc3a", "name: inc3a\n          expect: {output: 28x28x257, params_max: 1K}"))
    assert [f.message for f in report.failures] == [
        "inc3a: output is 28×28×256, expected 28×28×257",
        "inc3a: params is 163,696, expected at most 1,000",  # 163,328 weights + 368 biases
    ]


def test_depth_of_rows_and_groups() -> None:
    report = run(BOTTLENECK)
    first = report.rows[0]
    assert first.depth == 3  # down > residual1 > body
    kinds = {(g.path, g.kind, g.depth) for g in report.groups}
    assert ("down", "bottleneck", 0) in kinds
    assert ("more.0", "iteration", 1) in kinds


def test_unknown_construct_key_and_bad_forms() -> None:
    assert "residual has no key 'bdy'; did you mean 'body'?" in error("""
        input: 8x8x4
        layers: [{residual: {body: [relu], bdy: []}}]
    """).message
    assert "repeat times must be a whole number" in error("""
        input: 8x8x4
        layers: [{repeat: {times: -1, layers: [relu]}}]
    """).message
    assert run("""
        input: 8x8x4
        layers: [{repeat: {times: 0, layers: [{conv: {out: 2, kernel: 3}}]}}]
    """).output.dims == (8, 8, 4)
    assert "block name 'conv' is already a layer kind" in error("""
        input: 8x8x4
        blocks: {conv: {layers: [relu]}}
        layers: [relu]
    """).message


# --- the expression parser ------------------------------------------------------------------


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, int]:
    """An expression and its value, built together (so no evaluator is needed to check it)."""
    if depth > 3 or draw(st.booleans()):
        if draw(st.booleans()):
            n = draw(st.integers(0, 50))
            return str(n), n
        name = draw(st.sampled_from(["a", "b", "width"]))
        return name, {"a": 3, "b": 7, "width": 64}[name]
    left, lv = draw(expressions(depth + 1))
    right, rv = draw(expressions(depth + 1))
    op = draw(st.sampled_from(["+", "-", "*", "//"]))
    if op == "//" and rv == 0:
        op = "+"
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv, "//": lv // rv if rv else 0}[op]
    return f"({left} {op} {right})", value


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_expression_values(case: tuple[str, int]) -> None:
    text, value = case
    assert evaluate_expression(text, {"a": 3, "b": 7, "width": 64}) == value


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_expression_never_crashes(text: str) -> None:
    try:
        result = evaluate_expression(text, {"a": 3})
    except ExpressionError:
        return
    assert isinstance(result, int)


# (`/` is exact division since spec arguments came: tests/test_args.py.)
@pytest.mark.parametrize("text", ["a ** 2", "__import__('os')", "a.real", "1 % 2", "(1", "", "a if a else 2", "2e3"])
def test_expression_refuses_anything_else(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate_expression(text, {"a": 3})


def test_branches_that_give_no_rows() -> None:
    # a branch or body whose only layer repeats zero times is the identity (it once raised IndexError)
    report = run("""
        input: 8x8x2
        layers:
          - concat: [[{repeat: {times: 0, layers: [relu]}}], [relu]]
          - residual: {body: [{repeat: {times: 0, layers: [relu]}}]}
    """)
    assert [r.name for r in report.rows] == ["concat1.1.relu1", "concat1", "residual1"]
    assert report.output.dims == (8, 8, 4)
