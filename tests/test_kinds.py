"""Every kind's shape, params, MACs and flags against numbers worked out from the formulas.

Each expected number is computed in the comment beside it from the format's formulas (or
quoted from PyTorch / torchvision); none is pasted from convcalc's own output.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import Report, evaluate
from convcalc.model.geometry import Shape
from convcalc.spec.parser import load_spec


def run(input: str | list[int] | int, *layers: object, **top: object) -> Report:
    doc = {"input": input, "layers": list(layers), **top}
    return evaluate(load_spec(json.dumps(doc)))


def only(report: Report):  # type: ignore[no-untyped-def]
    assert len(report.rows) == 1
    return report.rows[0]


def fails(input: str | list[int] | int, *layers: object) -> str:
    with pytest.raises(SpecError) as info:
        run(input, *layers)
    return info.value.message


# --- conv and its variants: the convolution-variants example (3 → 30 channels, kernel 10) --------


def test_standard_conv_params() -> None:
    row = only(run("10x10x3", {"conv": {"out": 30, "kernel": 10, "padding": "same"}}))
    assert row.params == 30 * 3 * 10 * 10 + 30 == 9030
    assert row.output.dims == (10, 10, 30)
    assert row.macs == 10 * 10 * 30 * 3 * 100  # out elements × taps


def test_dilated_conv_has_the_same_params() -> None:
    row = only(run("10x10x3", {"conv": {"out": 30, "kernel": 10, "dilation": 2, "padding": "same"}}))
    assert row.params == 9030
    assert row.output.dims == (10, 10, 30)


def test_grouped_conv() -> None:
    row = only(run("10x10x3", {"grouped": {"out": 30, "kernel": 10, "groups": 3, "padding": "same"}}))
    assert row.params == 30 * 1 * 100 + 30 == 3030


def test_grouped_requires_more_than_one_group() -> None:
    assert "groups" in fails("10x10x3", {"grouped": {"out": 30, "kernel": 3, "groups": 1}})
    assert "needs 'groups'" in fails("10x10x3", {"grouped": {"out": 30, "kernel": 3}})


def test_pointwise() -> None:
    row = only(run("10x10x3", {"pointwise": {"out": 30}}))
    assert (row.params, row.output.dims) == (3 * 30 + 30, (10, 10, 30))


def test_separable_is_depthwise_plus_pointwise() -> None:
    row = only(run("10x10x3", {"separable": {"out": 30, "kernel": 10, "padding": "same"}}))
    assert row.params == (3 * 100 + 3) + (30 * 3 + 30) == 423
    assert row.macs == 10 * 10 * 3 * 100 + 10 * 10 * 30 * 3


def test_separable_biases_bn_and_multiplier() -> None:
    row = only(run("8x8x4", {"separable": {"out": 16, "kernel": 3, "padding": 1, "multiplier": 2, "bias": False,
                                            "depthwise_bn": True, "bn": True, "act": "relu"}}))
    # depthwise 4·2 channels · 9 taps, BN(8); pointwise 8·16, BN(16)
    assert row.params == 8 * 9 + 2 * 8 + 8 * 16 + 2 * 16
    assert row.buffers == 2 * 8 + 2 * 16
    assert row.output.dims == (8, 8, 16)


def test_depthwise_multiplier() -> None:
    row = only(run("16x16x8", {"depthwise": {"kernel": 3, "padding": 1, "multiplier": 2}}))
    assert row.output.dims == (16, 16, 16)
    assert row.params == 16 * 1 * 9 + 16


def test_spatial_separable() -> None:
    row = only(run("32x32x16", {"spatial_separable": {"out": 32, "kernel": 7, "padding": 3}}))
    # 7×1 conv 16 → 32, then 1×7 conv 32 → 32
    assert row.params == (32 * 16 * 7 + 32) + (32 * 32 * 7 + 32)
    assert row.output.dims == (32, 32, 32)
    assert "2-D only" in fails("32x16", {"spatial_separable": {"out": 4, "kernel": 3}})


def test_fully_connected_variant() -> None:
    report = run("10x10x3", "flatten", {"dense": {"out": 3000}})
    assert report.totals.params == 300 * 3000 + 3000 == 903000


def test_conv_bias_bn_act_sugar() -> None:
    row = only(run("56x56x64", {"conv": {"out": 64, "kernel": 3, "padding": 1, "bias": False, "bn": True,
                                          "act": "relu"}}))
    assert row.params == 64 * 64 * 9 + 2 * 64
    assert row.buffers == 2 * 64
    assert row.macs == 56 * 56 * 64 * 64 * 9


def test_conv_groups_must_divide_channels() -> None:
    assert "do not divide into 4 groups" in fails("8x8x6", {"conv": {"out": 8, "kernel": 3, "groups": 4}})
    assert "output channels" in fails("8x8x8", {"conv": {"out": 6, "kernel": 3, "groups": 4}})


def test_conv_kernel_larger_than_padded_input_is_an_error() -> None:
    assert "padded input is only 4" in fails("4x4x1", {"conv": {"out": 1, "kernel": 5}})
    assert only(run("4x4x1", {"conv": {"out": 1, "kernel": 5, "padding": 1}})).output.dims == (2, 2, 1)


def test_conv_padding_forms() -> None:
    # per axis: H (10 + 2 − 3)/1 + 1 = 10, W (10 + 0 − 3) + 1 = 8
    assert only(run("10x10x1", {"conv": {"out": 1, "kernel": 3, "padding": [1, 0]}})).output.dims == (10, 8, 1)
    # pairs: H 10 + 0 + 1 − 3 + 1 = 9, W 10 + 2 + 2 − 3 + 1 = 12
    row = only(run("10x10x1", {"conv": {"out": 1, "kernel": 3, "padding": [[0, 1], [2, 2]]}}))
    assert row.output.dims == (9, 12, 1)
    assert only(run("10x10x1", {"conv": {"out": 1, "kernel": 3, "padding": "valid"}})).output.dims == (8, 8, 1)
    # 1-D pairs
    assert only(run("10x2", {"conv": {"out": 1, "kernel": 3, "padding": [[0, 1]]}})).output.dims == (9, 1)


def test_same_padding_follows_tensorflow() -> None:
    # out = ceil(224/2) = 112; total pad = (112−1)·2 + 7 − 224 = 5: 2 before, 3 after; exact
    report = run("224x224x3", {"conv": {"out": 64, "kernel": 7, "stride": 2, "padding": "same"}})
    assert report.output.dims == (112, 112, 64)
    assert report.flags == ()
    # a 1×1 stride-2 'same' conv needs no padding: (224 − 1)/2 + 1 = 225/2 → 112, judged with pad 0
    report = run("224x224x3", {"conv": {"out": 8, "kernel": 1, "stride": 2, "padding": "same"}})
    assert report.output.dims == (112, 112, 8)
    assert {f.severity for f in report.flags} == {"info"}


def test_per_axis_kernel_and_stride() -> None:
    row = only(run("20x30x1", {"conv": {"out": 4, "kernel": [3, 1], "stride": [1, 2]}}))
    # H (20 − 3) + 1 = 18; W (30 − 1)/2 + 1 = 31/2 → 15
    assert row.output.dims == (18, 15, 4)
    assert row.params == 4 * 3 + 4


def test_per_axis_list_length_must_match_rank() -> None:
    assert "kernel has 3 values but the input has 2 spatial axes" in fails("8x8x1", {"conv": {"out": 1, "kernel": [3, 3, 3]}})


# --- flags: the format page's examples --------------------------------------------------------


def test_resnet_stem_on_224_is_info() -> None:
    report = run("224x224x3", {"conv": {"out": 64, "kernel": 7, "stride": 2, "padding": 3}})
    assert report.output.dims == (112, 112, 64)
    h, w = report.flags
    assert (h.axis, w.axis) == ("H", "W")
    assert h.exact == Fraction(225, 2) and h.used == 112 and h.unread == 1
    assert h.severity == "info"
    assert h.formula == "(224 + 2·3 − 7)/2 + 1 = 225/2"


def test_strided_shortcut_on_56_is_info() -> None:
    (h, _w) = run("56x56x256", {"conv": {"out": 512, "kernel": 1, "stride": 2}}).flags
    assert (h.exact, h.used, h.severity) == (Fraction(57, 2), 28, "info")


def test_unpadded_stride_2_conv_on_32_is_a_warning() -> None:
    report = run("32x32x3", {"conv": {"out": 8, "kernel": 3, "stride": 2}})
    h, _w = report.flags
    assert h.formula == "(32 + 2·0 − 3)/2 + 1 = 31/2"
    assert (h.used, h.severity, h.unread) == (15, "warning", 1)
    assert report.output.dims == (15, 15, 8)


def test_pool_on_13_drops_a_row() -> None:
    (h, _w) = run("13x13x64", {"pool": {"kernel": 2}}).flags
    assert (h.exact, h.used, h.severity, h.unread) == (Fraction(13, 2), 6, "warning", 1)


def test_allow_inexact_accepts_the_flag() -> None:
    report = run("13x13x64", {"pool": {"kernel": 2, "allow_inexact": True}})
    assert all(f.accepted for f in report.flags)
    assert report.failing_flags() == ()
    assert report.failing_flags(strict=True) == ()  # accepted means accepted, --strict too
    assert len(run("13x13x64", {"pool": {"kernel": 2}}).failing_flags(strict=True)) == 2


# --- pooling ---------------------------------------------------------------------------------


def test_pool_defaults_and_aliases() -> None:
    assert only(run("24x24x10", {"pool": {"kernel": 2}})).output.dims == (12, 12, 10)
    assert only(run("24x24x10", {"avgpool": {"kernel": 3, "stride": 1}})).output.dims == (22, 22, 10)
    assert only(run("24x24x10", {"maxpool": {"kernel_size": 3, "strides": 2, "padding": 1}})).output.dims == (12, 12, 10)


def test_pool_ceil_mode_rule() -> None:
    # n=5, k=2, s=2, p=1: ceil((5 + 2 − 2)/2) + 1 = 4, but window 4 would start at 6 ≥ 5 + 1: 3
    report = run([5, 1], {"pool": {"kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}})
    assert report.output.dims == (3, 1)
    assert [f.severity for f in report.flags] == ["info"]
    # ceil mode on 13 keeps the last row: ceil(11/2) + 1 = 7
    assert only(run("13x13x1", {"pool": {"kernel": 2, "ceil_mode": True}})).output.dims == (7, 7, 1)


def test_pool_ceil_mode_accepts_input_smaller_than_kernel() -> None:
    assert only(run([1, 1, 1], {"pool": {"kernel": 2, "ceil_mode": True}})).output.dims == (1, 1, 1)
    assert "padded input is only 1" in fails([1, 1, 1], {"pool": {"kernel": 2}})


def test_pool_padding_at_most_half_the_kernel() -> None:
    assert "exceeds half the kernel" in fails("8x8x1", {"pool": {"kernel": 2, "padding": 2}})


def test_avg_pool_has_no_dilation() -> None:
    assert "no dilation" in fails("8x8x1", {"avgpool": {"kernel": 2, "dilation": 2}})
    # max pool with dilation 2: ke = 3, (8 − 3)/2 + 1 = 7/2 → 3
    assert only(run("8x8x1", {"maxpool": {"kernel": 2, "stride": 2, "dilation": 2}})).output.dims == (3, 3, 1)


def test_maxpool_fixes_the_mode() -> None:
    assert "maxpool fixes 'mode'" in fails("8x8x1", {"maxpool": {"kernel": 2, "mode": "avg"}})


def test_global_and_adaptive_pool() -> None:
    assert only(run("7x7x2048", "global_pool")).output.dims == (1, 1, 2048)
    assert only(run("13x13x256", {"adaptive_pool": {"out_size": 6}})).output.dims == (6, 6, 256)
    assert only(run("3x3x8", {"adaptive_pool": {"out_size": [5, 4]}})).output.dims == (5, 4, 8)


# --- transposed convolution ------------------------------------------------------------------


def test_deconv_formula() -> None:
    # (4 − 1)·2 − 2·1 + (4 − 1) + 0 + 1 = 8
    row = only(run("4x4x512", {"deconv": {"out": 256, "kernel": 4, "stride": 2, "padding": 1}}))
    assert row.output.dims == (8, 8, 256)
    assert row.params == 512 * 256 * 16 + 256
    assert row.macs == 4 * 4 * 512 * 256 * 16  # input elements × (out/groups) × taps


def test_deconv_output_padding_and_dilation() -> None:
    # (5 − 1)·2 − 2 + 2·(3 − 1) + 1 + 1 = 12
    row = only(run([5, 1], {"conv_transpose": {"out": 1, "kernel": 3, "stride": 2, "padding": 1, "dilation": 2,
                                               "output_padding": 1}}))
    assert row.output.dims == (12, 1)
    # op ≥ stride is allowed while op < dilation: (5 − 1)·1 + 2·2 + 1 + 1 = 10
    assert only(run([5, 1], {"deconv": {"out": 1, "kernel": 3, "dilation": 2, "output_padding": 1}})).output.dims == (10, 1)
    assert "output_padding 2 must be smaller" in fails([5, 1], {"deconv": {"out": 1, "kernel": 3, "stride": 2,
                                                                         "output_padding": 2}})


def test_deconv_same_and_valid() -> None:
    assert only(run("7x7x8", {"deconv": {"out": 4, "kernel": 3, "stride": 2, "padding": "same"}})).output.dims == (14, 14, 4)
    assert only(run("7x7x8", {"deconv": {"out": 4, "kernel": 1, "stride": 3, "padding": "same"}})).output.dims == (21, 21, 4)
    # valid: (7 − 1)·2 + (3 − 1) + 1 = 15
    assert only(run("7x7x8", {"deconv": {"out": 4, "kernel": 3, "stride": 2, "padding": "valid"}})).output.dims == (15, 15, 4)


def test_deconv_too_much_padding() -> None:
    assert "output size would be" in fails([1, 1], {"deconv": {"out": 1, "kernel": 1, "padding": 1}})


# --- upsample -------------------------------------------------------------------------------


def test_upsample_integer_scale() -> None:
    assert only(run("16x16x8", {"upsample": {"scale": 2}})).output.dims == (32, 32, 8)
    assert only(run("16x16x8", {"upsample": {"size": [20, 24], "mode": "bilinear"}})).output.dims == (20, 24, 8)


def test_upsample_double_precision_floors_below_the_exact_value() -> None:
    # 45 × 1.4 = 63 exactly, but 45.0 * 1.4 == 62.99999999999999 in double precision
    report = run([45, 1], {"upsample": {"scale": 1.4}})
    assert report.output.dims == (62, 1)
    (flag,) = report.flags
    assert (flag.exact, flag.used, flag.severity) == (Fraction(63), 62, "warning")
    # 100 × 0.29 = 29 exactly; PyTorch gives 28
    assert run([100, 1], {"upsample": {"scale": 0.29}}).output.dims == (28, 1)


def test_upsample_non_whole_product_is_a_warning() -> None:
    (flag,) = run([5, 1], {"upsample": {"scale": 1.5}}).flags
    assert (flag.exact, flag.used) == (Fraction(15, 2), 7)


def test_upsample_mode_must_fit_the_rank() -> None:
    assert "needs a 2-D input" in fails([8, 1], {"upsample": {"scale": 2, "mode": "bilinear"}})
    assert "exactly one" in fails("8x8x1", {"upsample": {"scale": 2, "size": 16}})


# --- flat layers and the rest --------------------------------------------------------------


def test_dense_needs_a_flat_input() -> None:
    assert "add `- flatten` before it" in fails("5x5x20", {"dense": {"out": 10}})
    report = run(500, {"linear": {"units": 10}}, {"fc": {"out": 3, "bias": False}})
    assert [r.params for r in report.rows] == [500 * 10 + 10, 10 * 3]


def test_flatten_counts_everything() -> None:
    assert only(run("10x10x20", "flatten")).output.dims == (2000,)


def test_batchnorm_params_and_buffers() -> None:
    row = only(run("14x14x32", "bn"))
    assert (row.params, row.buffers, row.macs) == (64, 64, 0)


def test_activations_and_dropout_change_nothing() -> None:
    report = run("4x4x3", "relu", "relu6", {"leaky_relu": {"negative_slope": 0.2}}, "sigmoid", "tanh", "gelu",
                 "silu", "hardswish", "softmax", {"dropout": {"rate": 0.1}})
    assert all(r.output.dims == (4, 4, 3) and r.params == 0 and r.macs == 0 for r in report.rows)


def test_pad_and_crop() -> None:
    assert only(run("10x10x1", {"pad": {"padding": [[0, 1], [2, 3]]}})).output.dims == (11, 15, 1)
    assert only(run("64x64x8", {"crop": {"to": [56, 60]}})).output.dims == (56, 60, 8)
    assert "cannot crop 64 to 65" in fails("64x64x8", {"crop": {"to": 65}})


def test_pixel_shuffle() -> None:
    assert only(run("8x8x64", {"pixel_shuffle": {"factor": 2}})).output.dims == (16, 16, 16)
    assert "do not divide by factor² = 4" in fails("8x8x6", {"pixel_shuffle": {"factor": 2}})


def test_spatial_kinds_refuse_flat_input() -> None:
    assert "needs a spatial input" in fails(100, {"conv": {"out": 1, "kernel": 3}})


# --- ranks ---------------------------------------------------------------------------------


def test_one_d() -> None:
    row = only(run("100x16", {"conv": {"out": 32, "kernel": 5, "stride": 2}}))
    # (100 − 5)/2 + 1 = 97/2 → 48
    assert row.output.dims == (48, 32)
    assert row.params == 32 * 16 * 5 + 32


def test_three_d() -> None:
    row = only(run("16x112x112x3", {"conv": {"out": 64, "kernel": 3, "padding": 1}}))
    assert row.output.dims == (16, 112, 112, 64)
    assert row.params == 64 * 3 * 27 + 64
    assert row.macs == 16 * 112 * 112 * 64 * 3 * 27


# --- totals, batch, memory, expect --------------------------------------------------------


CONVNET = ("28x28x1", {"conv": {"out": 10, "kernel": 5}}, {"pool": {"kernel": 2}},
           {"conv": {"out": 20, "kernel": 3, "name": "conv2"}}, "flatten", {"dense": {"out": 500}}, "relu",
           {"dense": {"out": 10}})


def test_convnet_totals() -> None:
    report = run(*CONVNET)
    assert [r.name for r in report.rows] == ["conv1", "pool1", "conv2", "flatten1", "dense1", "relu1", "dense2"]
    assert report.totals.params == 260 + 1820 + 1000500 + 5010 == 1007590
    assert report.totals.macs == 144000 + 180000 + 1000000 + 5000
    assert report.totals.flops == 2 * report.totals.macs
    # outputs: 5760 + 1440 + 2000 + 2000 + 500 + 500 + 10 = 12210 values of 4 bytes
    assert report.totals.activation_bytes == 48840
    assert report.totals.param_bytes == 4 * 1007590


def test_batch_scales_macs_and_memory_not_params() -> None:
    report = run(*CONVNET, batch=4, dtype="float16")
    assert report.totals.params == 1007590
    assert report.totals.macs == 4 * 1329000
    assert report.totals.activation_bytes == 4 * 12210 * 2
    assert report.totals.param_bytes == 2 * 1007590


def test_expect_failures_name_the_figure() -> None:
    report = run(*CONVNET, expect={"params": 1007600, "macs_max": "1M", "output": "10"})
    messages = [f.message for f in report.failures]
    assert messages == ["params is 1,007,590, expected 1,007,600", "macs is 1,329,000, expected at most 1,000,000"]


def test_layer_expect() -> None:
    report = run("28x28x1", {"conv": {"out": 10, "kernel": 5, "expect": "24x24x12"}})
    assert [f.message for f in report.failures] == ["conv1: output is 24×24×10, expected 24×24×12"]
    assert run("28x28x1", {"conv": {"out": 10, "kernel": 5, "expect": [24, 24, 10]}}).failures == ()
    assert run("28x28x1", {"conv": {"out": 10, "kernel": 5, "expect": {"params": 260}}}).failures == ()


def test_expect_suffixes() -> None:
    assert run(*CONVNET, expect={"params_max": "1.01M", "params_min": "1M", "flops": "2.658M"}).failures == ()


def test_input_override() -> None:
    report = evaluate(load_spec(json.dumps({"input": "28x28x1", "layers": [{"conv": {"out": 2, "kernel": 5}}]})),
                      input="32x32x1")
    assert report.output.dims == (28, 28, 2)


# --- token sequences and attention ---------------------------------------------------------


def test_tokens_and_untokens() -> None:
    tokens, back = run("14x14x768", "tokens", {"untokens": {"size": [14, 14]}}).rows
    assert tokens.output == Shape((14 * 14,), 768, tokens=True)
    assert str(tokens.output) == "196×768 tok" and tokens.output.dims == (196, 768)
    assert back.output == Shape((14, 14), 768) and not back.output.tokens  # a map again
    assert only(run("2x3x4x5", "tokens")).output.dims == (2 * 3 * 4, 5)  # any spatial rank
    assert run("4x6x5", "tokens", {"untokens": {"size": 24}}).rows[-1].output == Shape((24,), 5)  # one size: 1-D
    assert run("4x6x5", "tokens", {"untokens": {"size": [2, 3, 4]}}).rows[-1].output == Shape((2, 3, 4), 5)
    assert all(r.params == 0 and r.macs == 0 for r in run("14x14x8", "tokens", {"untokens": {"size": 196}}).rows)


def test_class_token_and_position_embedding() -> None:
    report = run("14x14x768", "tokens", "class_token", "position_embedding")
    assert [r.output.dims for r in report.rows] == [(196, 768), (197, 768), (197, 768)]
    assert [r.params for r in report.rows] == [0, 768, 197 * 768]  # a token of C; one embedding per position
    assert all(r.output.tokens for r in report.rows)


@pytest.mark.parametrize("bias", [True, False])
def test_attention_params_and_macs(bias: bool) -> None:
    n, c = 197, 768
    row = run("14x14x768", "tokens", "class_token", {"attention": {"heads": 12, "bias": bias}}).rows[-1]
    assert row.output == Shape((n,), c, tokens=True)
    # q, k, v and output projections, C×C each, and their biases (nn.MultiheadAttention's)
    assert row.params == 4 * c * c + (4 * c if bias else 0)
    # the four projections on every token, then q·kᵀ (N×N×C) and the weights times v (N×N×C)
    assert row.macs == 4 * n * c * c + 2 * n * n * c == 524_391_936
    assert row.summary == ("h12" if bias else "h12 no bias")


def test_mlp_on_tokens_and_on_a_flat_vector() -> None:
    n, c, h = 197, 768, 3072
    row = run("14x14x768", "tokens", "class_token", {"mlp": {"hidden": h}}).rows[-1]
    assert row.output == Shape((n,), c, tokens=True)
    assert row.params == c * h + h + h * c + c
    assert row.macs == n * (c * h + h * c)
    assert row.summary == "3072 gelu"
    row = only(run(64, {"mlp": {"hidden": 32, "out": 10, "act": "relu", "bias": False, "dropout": 0.1}}))
    assert (row.output, row.params, row.macs) == (Shape((), 10), 64 * 32 + 32 * 10, 64 * 32 + 32 * 10)
    assert row.summary == "32 relu → 10 no bias dropout 0.1"


def test_dense_acts_on_each_token() -> None:
    row = run("4x4x8", "tokens", {"dense": {"out": 3}}).rows[-1]
    assert row.output == Shape((16,), 3, tokens=True)
    assert (row.params, row.macs) == (8 * 3 + 3, 16 * 8 * 3)


@pytest.mark.parametrize("mode", ["first", "mean"])
def test_token_pool_reads_one_vector(mode: str) -> None:
    row = run("4x4x8", "tokens", {"token_pool": {"mode": mode}}).rows[-1]
    assert (row.output, row.params, row.macs) == (Shape((), 8), 0, 0)


def test_element_wise_kinds_and_norms_on_tokens() -> None:
    report = run("4x4x8", "tokens", {"layernorm": {"eps": 1e-6}}, "layer_scale", "gelu", "softmax",
                 {"dropout": {"rate": 0.1}}, {"drop_path": {"rate": 0.1}}, "flatten")
    assert [r.params for r in report.rows] == [0, 2 * 8, 8, 0, 0, 0, 0, 0]
    assert all(r.output == Shape((16,), 8, tokens=True) for r in report.rows[:-1])
    assert report.rows[-1].output == Shape((), 16 * 8)


@pytest.mark.parametrize(
    ("dims", "layer", "message"),
    [
        ("14x14x8", {"conv": {"out": 8, "kernel": 3}},
         "conv needs a spatial input, not a token sequence 196×8 tok: add `untokens: {size: [14, 14]}` first"),
        ("14x14x8", {"pool": {"kernel": 2}}, "pool needs a spatial input, not a token sequence 196×8 tok"),
        ("5x3x8", "global_pool", "global_pool needs a spatial input, not a token sequence 15×8 tok: add "
         "`untokens: {size: [H, W]}` with H·W = 15 first"),
        ("14x14x8", "batchnorm", "batchnorm needs a map or a flat vector, not a token sequence 196×8 tok"),
        ("14x14x8", {"groupnorm": {"groups": 2}}, "groupnorm needs a map or a flat vector, not a token sequence"),
        ("14x14x8", "tokens", "tokens needs a spatial input, not a token sequence 196×8 tok"),
    ],
)
def test_kinds_that_slide_or_normalise_a_map_refuse_tokens(dims: str, layer: object, message: str) -> None:
    assert message in fails(dims, "tokens", layer)


def test_token_kinds_need_tokens() -> None:
    assert "attention needs a token sequence (N×C tok), not the map 14×14×8: add `- tokens` first" in fails(
        "14x14x8", {"attention": {"heads": 2}})
    assert "class_token needs a token sequence (N×C tok), not a flat vector" in fails(64, "class_token")


def test_token_errors() -> None:
    message = fails("4x4x96", "tokens", {"attention": {"heads": 5}})
    assert "96 channels do not divide into 5 heads: change heads" in message
    assert "size 14×14 holds 196 positions but the sequence has 197 tokens: give sizes that multiply to 197" in fails(
        "14x14x8", "tokens", "class_token", {"untokens": {"size": [14, 14]}})
    assert "a map has 1 to 3" in fails("16x16x8", "tokens", {"untokens": {"size": [2, 2, 4, 16]}})


def test_a_residual_does_not_add_tokens_to_a_map() -> None:
    # the same numbers, 196×8, in two layouts: not the same tensor
    message = fails("14x14x8", "tokens", {"residual": {"body": [{"untokens": {"size": 196}}]}})
    assert "196×8" in message and "196×8 tok" in message


# --- convcalc kinds NAME and the constructs (issue 12, item 10) ----------------------------


def test_kinds_takes_names_spellings_and_constructs() -> None:
    from helpers import expect_exit, run

    one = run("kinds", "conv")
    expect_exit(one, 0)
    assert one.stdout.startswith("conv\n    A convolution") and "\ndeconv" not in one.stdout
    assert run("kinds", "conv_transpose").stdout.startswith("deconv  (also: conv_transpose, transpose)")
    both = run("kinds", "relu", "residual").stdout
    assert both.startswith("relu\n") and "\nresidual\n    x + body(x)" in both
    assert run("kinds", "residual").stdout.startswith("residual\n    x + body(x)")
    unknown = run("kinds", "cnov")
    expect_exit(unknown, 2)
    assert "no kind or construct 'cnov'; did you mean 'conv'?" in unknown.stderr
    everything = run("kinds").stdout
    from convcalc.spec.parser import CONSTRUCTS

    assert all(f"\n{name}\n    " in everything for name in CONSTRUCTS)


def test_every_construct_example_evaluates() -> None:
    import yaml

    from convcalc.engine.evaluate import evaluate
    from convcalc.spec.parser import CONSTRUCT_DOCS, CONSTRUCTS, load_spec

    assert set(CONSTRUCT_DOCS) == set(CONSTRUCTS)
    for name, (_, example) in CONSTRUCT_DOCS.items():
        layer = yaml.safe_load(f"- {example}")
        text = yaml.safe_dump({"input": [8, 8, 16], "layers": [{"conv": {"out": 16, "kernel": 1, "name": "stem"}}, *layer]})
        report = evaluate(load_spec(text))
        assert report.rows[-1].output.dims[:2] == (8, 8), name


def test_solve_writes_multiples_and_runs_of_residues_plainly() -> None:
    from convcalc.engine.solve import _multiples, _residues

    assert _multiples("H", 32, 224) == "H = 32k, k ≥ 7"
    assert _multiples("H", 32, 225) == "H = 32k + 1, k ≥ 7"
    assert _multiples("W", 8, 3) == "W = 8k + 3, k ≥ 0"
    assert _residues([0, 1, 31]) == "0, 1 or 31"
    assert _residues([*range(15), 31]) == "0–14 or 31"
    assert _residues([1, 2, 4, 5, 6]) == "1, 2 or 4–6"
    assert _residues([5]) == "5"


# --- PyTorch's and Keras's spellings (issue 12, item 3) ------------------------------------


def test_in_channels_is_accepted_and_checked_against_the_input() -> None:
    from convcalc.base.errors import SpecError
    from convcalc.engine.evaluate import evaluate
    from convcalc.spec.parser import load_spec

    torchy = ("input: 8x8x3\nlayers:\n  - conv: {in_channels: 3, out_channels: 8, kernel_size: 3, activation: relu}\n"
              "  - flatten\n  - dense: {in_features: 288, out_features: 10}\n")
    keras = "input: 8x8x3\nlayers:\n  - conv: {filters: 8, kernel_size: 3, activation: relu}\n  - flatten\n  - dense: {units: 10}\n"
    assert evaluate(load_spec(torchy)).totals == evaluate(load_spec(keras)).totals  # 3·3·3·8 + 8, 288·10 + 10
    assert evaluate(load_spec(torchy)).totals.params == 224 + 2890
    wrong = "input: 8x8x3\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - pointwise: {in_channels: 4, out: 2}\n"
    with pytest.raises(SpecError, match=r"in \(in_channels\) is 4, but its input 6×6×8 has 8 channels") as caught:
        evaluate(load_spec(wrong))
    assert caught.value.mark is not None and caught.value.mark.line == 4


@pytest.mark.parametrize("kind", ["conv", "grouped", "deconv", "depthwise", "pointwise", "separable", "spatial_separable", "dense"])
def test_every_kind_that_has_input_channels_takes_in_channels(kind: str) -> None:
    from convcalc.model.kinds import SPELLINGS

    names = {alias for opt in SPELLINGS[kind][0].options for alias in (opt.name, *opt.aliases)}
    assert {"in", "in_channels"} <= names


@pytest.mark.parametrize(("layer", "meant"), [("conv: {units: 8, kernel: 3}", "out"), ("dense: {filters: 8}", None),
                                              ("conv: {out: 8, kernel: 3, pool_size: 2}", "kernel")])
def test_another_kinds_spelling_suggests_its_meaning_here(layer: str, meant: str | None) -> None:
    from convcalc.base.errors import SpecError
    from convcalc.spec.parser import load_spec

    text = f"input: 8x8x3\nlayers:\n  - {layer}\n"
    if meant is None:  # filters is dense's own alias of out: accepted
        load_spec(text)
        return
    with pytest.raises(SpecError, match=rf"has no option '\w+'; did you mean '{meant}'\?"):
        load_spec(text)


@pytest.mark.parametrize(("options", "message"), [
    ("{out: 8, kernel: 3, eps: 0.001}", "eps and momentum are a normalisation's: add bn: true"),
    ("{out: 8, kernel: 3, momentum: 0.1}", "eps and momentum are a normalisation's: add bn: true"),
    ("{out: 8, kernel: 3, norm: layer, momentum: 0.3}", "momentum is a batch norm's, and norm: layer is none"),
])
def test_eps_and_momentum_need_their_normalisation(options: str, message: str) -> None:
    from convcalc.base.errors import SpecError
    from convcalc.engine.evaluate import evaluate
    from convcalc.spec.parser import load_spec

    with pytest.raises(SpecError, match=message):
        evaluate(load_spec(f"input: 8x8x3\nlayers:\n  - conv: {options}\n"))
