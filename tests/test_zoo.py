"""The model zoo and the examples in specs/ carry the published figures of their networks (no torch needed).

The numbers (``helpers.PUBLISHED``: the zoo's and the other examples') come from outside
convcalc: torchvision's models (params, buffers and ``torch.utils.flop_counter`` MACs on
224×224×3, as given in the zoo's issue), the U-Net paper's sizes, the article's ConvNet, and for
the textbook examples the weight formulas themselves.  ``tools/zoo_reference.py`` rebuilds every
network of the zoo in PyTorch and compares; these tests only pin the specs to the figures.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from convcalc.engine.evaluate import evaluate
from convcalc.spec.parser import load_spec

from helpers import INC3A_WEIGHTS, PUBLISHED, ZOO, run, show_json, spec_path, streams


def test_the_textbook_weights() -> None:
    # the figures quoted in the zoo's issue, from their formulas
    assert 1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 64 * 256 == 69_632
    assert 2 * 3 * 3 * 256 * 256 == 1_179_648
    assert INC3A_WEIGHTS == 163_328  # the paper's "159K" (in units of 1024)
    assert 28 * 28 * INC3A_WEIGHTS == 128_049_152  # the paper's "128M" ops


def test_the_zoo_is_complete() -> None:
    for name in PUBLISHED:
        assert spec_path(name).is_file(), name


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_figures(name: str) -> None:
    params, buffers, macs, output = PUBLISHED[name]
    report = evaluate(load_spec(spec_path(name).read_bytes()))
    assert report.totals.params == params
    if buffers is not None:
        assert report.totals.buffers == buffers
    if macs is not None:
        assert report.totals.macs == macs
        assert report.totals.flops == 2 * macs
    assert report.output.dims == output
    assert not report.failures, [f.message for f in report.failures]
    assert not report.failing_flags(), [f.describe() for f in report.failing_flags()]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_spec_expect_carries_the_published_figures(name: str) -> None:
    params, buffers, macs, output = PUBLISHED[name]
    spec = load_spec(spec_path(name).read_bytes())
    expect = spec.expect
    assert expect is not None
    figures = {figure: value for figure, op, value, _ in expect.figures if op == "=="}
    if spec.args:  # a spec with args (mobilenet_v2's width) expects its output only: its figures
        # follow the args (test_published_figures checks the defaults')
        assert not figures and expect.output == output
        return
    assert figures.get("params") == params
    if macs is not None:
        assert figures.get("macs") == macs
    if buffers:
        assert figures.get("buffers") == buffers
    if expect.outputs:  # several outputs, checked by name: the last is the network's output
        assert expect.output is None and expect.outputs[-1][1] == output
    else:
        assert expect.output == output


def zoo_json(name: str, *args: str) -> dict[str, Any]:
    return show_json(str(spec_path(name)), *args)


def rows_by_name(name: str) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in zoo_json(name)["layers"]}


def test_resnet50_paths() -> None:
    rows = rows_by_name("resnet50.yaml")
    # layer3's first block: its 3×3 conv carries the stride, its shortcut projects 512 → 1024
    first = "layer3.bottleneck1.residual1"
    assert rows[f"{first}.body.conv2"]["input"] == [28, 28, 256]
    assert rows[f"{first}.body.conv2"]["output"] == [14, 14, 256]
    assert rows[f"{first}.body.conv2"]["params"] == 3 * 3 * 256 * 256 + 2 * 256
    assert rows[f"{first}.shortcut.conv1"]["output"] == [14, 14, 1024]
    assert rows[first]["kind"] == "residual"
    assert rows[first]["inputs"] == [[14, 14, 1024], [14, 14, 1024]]
    # the other five blocks of layer3 are the repeat's iterations 0–4
    last = "layer3.repeat1.4.identity1.residual1"
    assert rows[f"{last}.body.conv2"]["output"] == [14, 14, 256]
    assert f"{last}.shortcut.conv1" not in rows  # identity shortcut: no row
    assert "layer3.repeat1.5.identity1.residual1" not in rows
    assert rows["dense1"]["params"] == 2048 * 1000 + 1000


def test_resnet18_paths() -> None:
    rows = rows_by_name("resnet18.yaml")
    assert rows["layer1.1.basic1.residual1.body.conv2"]["output"] == [56, 56, 64]
    assert rows["layer4.basic_down1.residual1.shortcut.conv1"]["output"] == [7, 7, 512]
    assert rows["layer4.repeat1.0.basic1.residual1"]["kind"] == "residual"


def test_unet_crop_joins() -> None:
    rows = rows_by_name("unet.yaml")
    # up-convolution output, cropped skip of the same level, joined on channels
    for level, size, channels in [("dec4", 56, 512), ("dec3", 104, 256), ("dec2", 200, 128), ("dec1", 392, 64)]:
        join = rows[f"{level}.concat1"]
        assert join["kind"] == "concat"
        assert join["inputs"] == [[size, size, channels], [size, size, channels]]
        assert join["output"] == [size, size, 2 * channels]
        assert rows[f"{level}.deconv1"]["output"] == [size, size, channels]
    # the skips are cropped from the encoder outputs: 64 → 56, 136 → 104, 280 → 200, 568 → 392
    assert rows["enc4.conv2"]["output"] == [64, 64, 512]
    assert rows["enc1.conv2"]["output"] == [568, 568, 64]
    assert rows["bottom.conv2"]["output"] == [28, 28, 1024]
    assert rows["dec1.double_conv1.conv2"]["output"] == [388, 388, 64]
    assert rows["conv1"]["output"] == [388, 388, 2]


def test_unet_sizes_divide_evenly() -> None:
    # 572 is chosen so that every 2×2 pool gets an even size: no flag at all
    assert zoo_json("unet.yaml")["flags"] == []


def test_inception_branches() -> None:
    rows = rows_by_name("inception3a.yaml")
    assert rows["inc3a.0.conv1"]["output"] == [28, 28, 64]
    assert rows["inc3a.1.conv2"]["output"] == [28, 28, 128]
    assert rows["inc3a.1.conv2"]["params"] == 3 * 3 * 96 * 128 + 128
    assert rows["inc3a.2.conv2"]["output"] == [28, 28, 32]
    assert rows["inc3a.3.pool1"]["output"] == [28, 28, 192]
    assert rows["inc3a.3.conv1"]["output"] == [28, 28, 32]
    assert rows["inc3a"]["inputs"] == [[28, 28, 64], [28, 28, 128], [28, 28, 32], [28, 28, 32]]
    naive = rows_by_name("inception3a-naive.yaml")
    assert naive["inc3a"]["inputs"] == [[28, 28, 64], [28, 28, 128], [28, 28, 32], [28, 28, 192]]


def test_mobilenet_v2_residuals() -> None:
    rows = rows_by_name("mobilenet_v2.yaml")
    # the first block of a row changes the width: no skip; the others add their input
    assert "c24.inverted1.pointwise2" in rows
    assert not any(name.startswith("c24.inverted1.residual") for name in rows)
    assert rows["c24.repeat1.0.residual1"]["inputs"] == [[56, 56, 24], [56, 56, 24]]
    assert rows["c160.repeat1.1.residual1.body.inverted1.depthwise1"]["params"] == 3 * 3 * 960 + 2 * 960
    residuals = [name for name, row in rows.items() if row["kind"] == "residual"]
    assert len(residuals) == 1 + 2 + 3 + 2 + 2  # (n − 1) per row of the paper's table, n > 1


def test_vit_b_16_tokens() -> None:
    rows = rows_by_name("vit_b_16.yaml")
    n, c, mlp = 14 * 14 + 1, 768, 3072  # 196 patches and the class token
    assert rows["conv_proj"]["output"] == [14, 14, c] and rows["conv_proj"]["layout"] == "spatial"
    assert (rows["tokens1"]["output"], rows["tokens1"]["layout"]) == ([196, c], "tokens")
    assert rows["class_token1"]["params"] == c
    assert rows["position_embedding1"]["params"] == n * c
    block = "encoder.11.encoder_block1"  # the repeat's last iteration
    attention = rows[f"{block}.residual1.body.self_attention"]
    assert attention["output"] == [n, c] and attention["layout"] == "tokens"
    assert attention["params"] == 4 * c * c + 4 * c  # nn.MultiheadAttention(768, 12)
    assert attention["macs"] == 4 * n * c * c + 2 * n * n * c
    assert rows[f"{block}.residual2.body.mlp1"]["params"] == c * mlp + mlp + mlp * c + c
    assert rows[f"{block}.residual2.body.mlp1"]["macs"] == n * 2 * c * mlp
    assert rows[f"{block}.residual1"]["inputs"] == [[n, c], [n, c]]
    assert (rows["token_pool1"]["output"], rows["token_pool1"]["layout"]) == ([c], "spatial")
    assert rows["head"]["params"] == c * 1000 + 1000


def test_shufflenet_v2_units() -> None:
    rows = rows_by_name("shufflenet_v2_x1_0.yaml")
    # stride 2: both branches read the whole 24-channel input; 58 + 58 = 116
    down = "stage2.down1.concat1"
    assert rows[f"{down}.0.depthwise1"]["input"] == [56, 56, 24]
    assert rows[f"{down}.1.pointwise1"]["input"] == [56, 56, 24]
    assert rows[down]["inputs"] == [[28, 28, 58], [28, 28, 58]]
    # stride 1: halves of 116, the first kept, the second through 1×1, 3×3 depthwise, 1×1
    unit = "stage2.repeat1.0.unit1"
    assert rows[f"{unit}.split1"]["inputs"] == [[28, 28, 58], [28, 28, 58]]
    assert rows[f"{unit}.split1.1.pointwise2"]["params"] == 58 * 58 + 2 * 58
    assert rows[f"{unit}.channel_shuffle1"]["output"] == [28, 28, 116]
    assert "stage4.repeat1.2.unit1.channel_shuffle1" in rows  # 1 + 3 units in stage4
    assert "stage4.repeat1.3.unit1.channel_shuffle1" not in rows


def test_yolov5n_outputs() -> None:
    doc = zoo_json("yolov5n.yaml")
    assert doc["outputs"] == [
        {"name": "detect_p3", "shape": [80, 80, 255]},
        {"name": "detect_p4", "shape": [40, 40, 255]},
        {"name": "detect_p5", "shape": [20, 20, 255]},
    ]
    assert doc["output"] == [20, 20, 255]
    rows = {row["name"]: row for row in doc["layers"]}
    # the detect convs read the neck's P3, P4 and P5; 1×1 with bias to 3 × (80 + 5) channels
    for level, (size, channels) in {"p3": (80, 64), "p4": (40, 128), "p5": (20, 256)}.items():
        assert rows[f"detect_{level}"]["input"] == [size, size, channels]
        assert rows[f"detect_{level}"]["params"] == channels * 255 + 255
    # the neck's joins with backbone layers 6 and 4 and its own layers 14 and 10
    assert rows["layer12"]["inputs"] == [[40, 40, 128], [40, 40, 128]]
    assert rows["layer16"]["inputs"] == [[80, 80, 64], [80, 80, 64]]
    assert rows["layer19"]["inputs"] == [[40, 40, 64], [40, 40, 64]]
    assert rows["layer22"]["inputs"] == [[20, 20, 128], [20, 20, 128]]
    # SPPF: the 1×1 conv's output and the three pools' joined, 4 × 128
    assert rows["layer9.concat1"]["inputs"] == [[20, 20, 128]] * 4
    # shortcuts in the backbone's C3 blocks only
    assert rows["layer6.concat1.0.m.2.bottleneck1.residual1"]["kind"] == "residual"
    assert not any(".residual" in name for name in rows if name.startswith(("layer13", "p3", "p4", "p5")))


def table(name: str, *args: str) -> str:
    result = run("show", str(spec_path(name)), "--color", "never", *args)
    assert result.exit_code == 0, streams(result)
    return result.stdout


def rows_part(text: str) -> str:
    """The table without the totals and the flag notes (which name full paths)."""
    return text.split("params (trainable)")[0]


@pytest.mark.parametrize(
    "name, groups",
    [
        ("resnet50.yaml", ["layer1", "layer2", "layer3", "layer4"]),
        ("unet.yaml", ["enc1", "enc2", "enc3", "enc4", "bottom", "dec4", "dec3", "dec2", "dec1"]),
    ],
)
def test_depth_1_folds_the_table(name: str, groups: list[str]) -> None:
    full, folded = table(name), table(name, "--depth", "1")
    assert len(folded.splitlines()) < len(full.splitlines())
    for group in groups:
        assert re.search(rf"▸ {group}\b", folded), group  # folded, with a closed marker
        assert re.search(rf"▾ {group}\b", full), group
    inner = "bottleneck1" if name == "resnet50.yaml" else "deconv1"
    assert inner in rows_part(full) and inner not in rows_part(folded)
    # the totals are the same however the table is folded
    assert full.split("params (trainable)")[1] == folded.split("params (trainable)")[1]


def test_zoo_checks_clean() -> None:
    result = run("check", *(str(spec_path(name)) for name in sorted(ZOO)))
    assert result.exit_code == 0, streams(result)


def test_deeplab_follows_the_input() -> None:
    # torchvision's deeplabv3_mobilenet_v3_large at 256×256×3: 2,457,806,720 MACs (flop counter),
    # output 256×256×21; both resizes are `like:`, so no size is written in the spec
    report = evaluate(load_spec(spec_path("deeplabv3_mobilenet_v3_large.yaml").read_bytes()), input="256x256x3")
    assert report.output.dims == (256, 256, 21)
    assert report.totals.macs == 2_457_806_720
    assert report.totals.params == 11_025_477
    pooled = next(r for r in report.rows if r.name == "aspp.4.upsample1")
    assert pooled.output.spatial == (16, 16)  # the image-pooling branch back to the backbone's 256/16
