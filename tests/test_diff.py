"""``convcalc diff A B``: rows aligned by name, renames, insertions and removals, the totals'
deltas, and the exit codes of ``diff`` (0 the same, 1 changed, 2 an error)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import convcalc

from helpers import CONVNET, PUBLISHED, expect_exit, run, spec_path, streams, write

WIDER = CONVNET.replace("out: 20", "out: 24")  # conv2 of the article's ConvNet: 20 → 24 channels


def diff_json(*args: str, input: str | None = None) -> dict:  # type: ignore[type-arg]
    result = run("diff", *args, "-f", "json", input=input)
    assert result.exit_code in (0, 1) and result.stderr == "", streams(result)
    doc: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    assert doc["changed"] == (result.exit_code == 1)
    return doc


def test_the_same_spec_is_no_change_and_exit_0() -> None:
    result = run("diff", str(spec_path("convnet.yaml")), str(spec_path("convnet.yaml")))
    expect_exit(result, 0)
    assert result.stdout.splitlines()[-1] == "no change: every layer, shape and figure is the same"


def test_a_wider_conv_changes_itself_the_flatten_and_the_dense_after_it(tmp_path: Path) -> None:
    a, b = write(tmp_path, "a.yaml", CONVNET), write(tmp_path, "b.yaml", WIDER)
    doc = diff_json(a, b)
    layers = {c["name"]: c for c in doc["layers"]}
    assert sorted(layers) == ["conv2", "dense1", "flatten1"] and all(c["status"] == "changed" for c in layers.values())
    # conv2: 3·3·10·24 + 24 = 2,184 params (was 1,820), on 10×10: 216,000 MACs; the flatten: 10·10·24
    # = 2,400; the dense layer: 2,400·500 + 500 = 1,200,500 params.
    assert layers["conv2"]["fields"]["params"] == {"before": 1820, "after": 2184}
    assert layers["conv2"]["fields"]["macs"] == {"before": 180_000, "after": 216_000}
    assert layers["flatten1"]["fields"] == {"output": {"before": "2000", "after": "2400"}}
    assert layers["dense1"]["fields"]["params"] == {"before": 1_000_500, "after": 1_200_500}
    assert doc["total"]["params"] == {"before": 1_007_590, "after": 1_207_954, "delta": 200_364}


def test_resnet18_to_34_inserts_blocks_and_the_totals_move_by_the_published_figures() -> None:
    doc = diff_json(str(spec_path("resnet18.yaml")), str(spec_path("resnet34.yaml")))
    r18 = convcalc.evaluate(convcalc.load(spec_path("resnet18.yaml")))
    r34 = convcalc.evaluate(convcalc.load(spec_path("resnet34.yaml")))
    inserted = [c for c in doc["layers"] if c["status"] == "inserted"]
    assert len(inserted) == len(r34.rows) - len(r18.rows) and not [c for c in doc["layers"] if c["status"] == "removed"]
    for figure, index in (("params", 0), ("macs", 2)):
        assert doc["total"][figure]["delta"] == PUBLISHED["resnet34.yaml"][index] - PUBLISHED["resnet18.yaml"][index]


def test_renames_and_removals_are_shown_as_such(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3, name: stem}\n  - relu\n  - pool: {kernel: 2}\n")
    b = write(tmp_path, "b.yaml", "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3, name: first}\n  - relu\n")
    doc = diff_json(a, b)
    assert [(c["status"], c["name"], c.get("before_name")) for c in doc["layers"]] == [
        ("renamed", "first", "stem"), ("removed", "pool1", None)]


def test_one_spec_under_two_settings() -> None:
    path = str(spec_path("mobilenet_v2.yaml"))
    doc = diff_json(path, path, "--set-b", "width=0.75")
    narrow = convcalc.evaluate(convcalc.load(path, set={"width": 0.75}))
    assert doc["total"]["params"]["before"] == PUBLISHED["mobilenet_v2.yaml"][0]
    assert doc["total"]["params"]["after"] == narrow.totals.params and doc["total"]["macs"]["after"] == narrow.totals.macs


def test_a_revision_from_standard_input() -> None:
    result = run("diff", "-", str(spec_path("convnet.yaml")), input=WIDER)
    expect_exit(result, 1)
    assert result.stdout.startswith("<stdin> → ") and "conv2" in result.stdout


def test_markdown_for_a_pull_request(tmp_path: Path) -> None:
    a, b = write(tmp_path, "a.yaml", CONVNET), write(tmp_path, "b.yaml", WIDER)
    result = run("diff", a, b, "-f", "markdown")
    expect_exit(result, 1)
    lines = result.stdout.splitlines()
    assert lines[0] == f"**{a} → {b}**: 28×28×1 → 10 vs 28×28×1 → 10"
    assert "| conv2 | changed | output | 10×10×20 | 10×10×24 |  |" in lines
    assert "|  |  | params | 1,820 | 2,184 | +364 (+20.0%) |" in lines
    assert "| params | 1,007,590 | 1,207,954 | +200,364 (+19.9%) |" in lines


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("diff", str(spec_path("convnet.yaml")), str(spec_path("ecg1d.yaml")))
    expect_exit(result, 2)
    assert result.stderr == (f"{spec_path('ecg1d.yaml')}: error: {spec_path('convnet.yaml')} takes 28×28×1 and "
                             f"{spec_path('ecg1d.yaml')} takes 5000×1: diff compares networks whose inputs have the same rank\n")
    bad = write(tmp_path, "bad.yaml", "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    result = run("diff", str(spec_path("convnet.yaml")), bad)
    expect_exit(result, 2)
    assert result.stderr.startswith(f"{bad}:3:5: error: ") and len(result.stderr.splitlines()) == 1
    result = run("diff", str(spec_path("convnet.yaml")), str(spec_path("convnet.yaml")), "--set-b", "width=2")
    expect_exit(result, 2)
    assert "--set width: the spec has no argument 'width'" in result.stderr
    done = subprocess.run([sys.executable, "-m", "convcalc", "diff", "-", "-"], capture_output=True, text=True,
                          timeout=60, check=False, input="")
    assert done.returncode == 2 and "only one of A and B can be standard input" in done.stderr
