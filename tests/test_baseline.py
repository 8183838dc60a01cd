"""Budgets against a baseline: ``show --baseline-out`` then ``check --baseline``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import CONVNET, ROOT, expect_exit, run, streams

# The ConvNet with conv2 widened from 20 to 24 channels (and no expect): params +19.9%, MACs +17.8%.
WIDER = (ROOT / "docs" / "examples" / "convnet-wider.yaml").read_text(encoding="utf-8")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # specs named by relative paths, as in a repository
    (tmp_path / "net.yaml").write_text(CONVNET, encoding="utf-8")
    return tmp_path


def test_the_baseline_holds_each_specs_figures(workdir: Path) -> None:
    result = run("show", "net.yaml", "./net.yaml", "--baseline-out", "base.json", "--train")
    expect_exit(result, 0)
    assert result.stdout == "" and result.stderr == "wrote the figures of 1 spec to base.json\n"
    doc = json.loads((workdir / "base.json").read_text())
    assert doc["convcalc_baseline"] == 1 and list(doc["specs"]) == ["net.yaml"]  # ./net.yaml is net.yaml
    figures = doc["specs"]["net.yaml"]
    assert (figures["params"], figures["macs"], figures["set"], figures["train"]) == (1_007_590, 1_329_000, {}, "adam")
    assert figures["train_peak_bytes"] > 0


def test_growth_past_the_budget_fails_with_how_much(workdir: Path) -> None:
    expect_exit(run("show", "net.yaml", "--baseline-out", "base.json"), 0)
    expect_exit(run("check", "net.yaml", "--baseline", "base.json"), 0)  # unchanged
    (workdir / "net.yaml").write_text(WIDER, encoding="utf-8")
    result = run("check", "net.yaml", "--baseline", "base.json")
    expect_exit(result, 1)
    # params 1,007,590 → 1,207,954 (2,184 − 1,820 + 1,200,500 − 1,000,500 = +200,364), MACs +236,000.
    assert result.stdout.splitlines()[:2] == [
        "net.yaml: error: baseline: params grew from 1,007,590 to 1,207,954 (+19.9%), more than the 5% allowed",
        "net.yaml: error: baseline: MACs grew from 1,329,000 to 1,565,000 (+17.8%), more than the 5% allowed",
    ]
    expect_exit(run("check", "net.yaml", "--baseline", "base.json", "--max-growth", "20%"), 0)
    result = run("check", "net.yaml", "--baseline", "base.json", "--max-growth", "params=20%,macs=17%")
    expect_exit(result, 1)
    assert "MACs grew" in result.stdout and "params grew" not in result.stdout


def test_json_lines_of_show_are_a_baseline(workdir: Path) -> None:
    (workdir / "other.yaml").write_text(CONVNET, encoding="utf-8")
    lines = run("show", "net.yaml", "other.yaml", "-f", "json").stdout
    (workdir / "lines.json").write_text(lines, encoding="utf-8")
    (workdir / "net.yaml").write_text(WIDER, encoding="utf-8")
    result = run("check", "net.yaml", "other.yaml", "--baseline", "lines.json")
    expect_exit(result, 1)
    assert [line.split(":")[0] for line in result.stdout.splitlines()[:-1]] == ["net.yaml", "net.yaml"]


def test_settings_must_match_the_baselines(workdir: Path) -> None:
    (workdir / "scaled.yaml").write_text("args: {w: 4}\ninput: 8x8x3\nlayers:\n  - conv: {out: $w, kernel: 3}\n")
    expect_exit(run("show", "scaled.yaml", "--baseline-out", "base.json", "--set", "w=4"), 0)
    assert json.loads((workdir / "base.json").read_text())["specs"]["scaled.yaml"]["set"] == {"w": "4"}
    expect_exit(run("check", "scaled.yaml", "--baseline", "base.json", "--set", "w=4"), 0)
    result = run("check", "scaled.yaml", "--baseline", "base.json")
    expect_exit(result, 1)
    assert "baseline: made with w=4, checked with no --set: check with the same settings" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ('{"convcalc_baseline": 2, "specs": {}}', [], "a baseline of schema 2; this convcalc reads schema 1"),
        ("not json", [], "not JSON"),
        ('{"schema_version": 1, "layers": []}', [], "neither a baseline (show --baseline-out) nor JSON Lines"),
        ('{"convcalc_baseline": 1, "specs": {}}', ["--max-growth", "5"], "'5' is not PERCENT% or FIGURE=PERCENT%"),
        ('{"convcalc_baseline": 1, "specs": {}}', ["--max-growth", "speed=5%"], "'speed=5%' is not PERCENT%"),
    ],
)
def test_a_bad_baseline_is_one_line_and_exit_2(workdir: Path, content: str, args: list[str], message: str) -> None:
    (workdir / "base.json").write_text(content, encoding="utf-8")
    result = run("check", "net.yaml", "--baseline", "base.json", *args)
    expect_exit(result, 2)
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1 and message in result.stderr, streams(result)


def test_max_growth_needs_a_baseline(workdir: Path) -> None:
    result = run("check", "net.yaml", "--max-growth", "5%")
    expect_exit(result, 2)
    assert "--max-growth needs --baseline FILE" in result.stderr
    assert not os.path.exists(workdir / "base.json")
