"""``convcalc explain``: every layer's derivation adds up to the figures ``show`` gives.

The derivations are written from the kind's axis operations and torch modules; the tests hold
their results to the evaluator's rows for every spec of the zoo and every kind's oracle cases,
and check the text of a few by hand (the numbers from the formulas, not from convcalc).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from convcalc.engine.evaluate import evaluate
from convcalc.engine.explain import explain
from convcalc.spec.parser import load_spec

from helpers import ROOT, SPEC_FILES, expect_exit, run


def check_sums(text: str, batch: int = 1) -> None:
    report = evaluate(load_spec(text), batch=batch)
    for e in explain(report):
        assert (e.params_total, e.macs_total) == (e.row.params, e.row.macs), e.row.name
        if e.sizes and not e.row.inputs:  # each axis's last line ends in the output's size
            last = {line.split(":")[0]: int(line.rsplit(" = ", 1)[1]) for line in e.sizes}
            assert tuple(last.values()) == e.row.output.spatial[: len(last)], e.row.name


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_zoo_derivations_add_up(path: Path) -> None:
    check_sums(path.read_text(encoding="utf-8"), batch=3)


def test_every_kinds_derivation_adds_up() -> None:
    pytest.importorskip("torch")  # the oracle's cases build torch modules
    from test_oracle import FAMILIES, valid_spec_text

    for family, (cases, _) in sorted(FAMILIES.items()):

        @settings(max_examples=int(os.environ.get("EXPLAIN_EXAMPLES", "30")), deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
        @given(case=cases)
        def check(case: Any) -> None:
            check_sums(valid_spec_text(case))

        check()


def test_the_convnet_by_hand() -> None:
    result = run("explain", str(ROOT / "specs" / "convnet.yaml"), "conv1", "dense1")
    expect_exit(result, 0)
    assert result.stdout == (
        "conv1 (conv k5): 28×28×1 → 24×24×10\n"
        "  H: ⌊(28 + 0 + 0 − 1·(5 − 1) − 1)/1⌋ + 1 = 24\n"
        "  W: ⌊(28 + 0 + 0 − 1·(5 − 1) − 1)/1⌋ + 1 = 24\n"
        "  params: Conv2d: (5·5·1 + 1)·10 = 260\n"
        "  MACs: Conv2d: 5,760 outputs · 5·5·1 = 144,000\n"
        "  FLOPs: 2·144,000 = 288,000\n"
        "  RF H: 1 → 5, jump 1 → 1\n"  # a 5-wide window on the input itself
        "  RF W: 1 → 5, jump 1 → 1\n"
        "\n"
        "dense1 (dense): 2000 → 500\n"
        "  params: Linear: (2000 + 1)·500 = 1,000,500\n"
        "  MACs: Linear: 1 row · 2000·500 = 1,000,000\n"
        "  FLOPs: 2·1,000,000 = 2,000,000\n"
    )
    pool = run("explain", str(ROOT / "specs" / "convnet.yaml"), "pool1", "conv2").stdout
    assert "RF H: 5 → 6, jump 1 → 2" in pool  # 5 + (2 − 1)·1; the stride doubles the jump
    assert "RF H: 6 → 10, jump 2 → 2" in pool  # 6 + (3 − 1)·2


def test_a_flagged_layer_says_what_is_cut_off_and_json_and_markdown() -> None:
    spec = str(ROOT / "docs" / "examples" / "strided.yaml")
    text = run("explain", spec).stdout
    assert "flag H: 31/2 → 15 (warning): the last 1 row of input data is never read (cut off at the edge)" in text
    doc = json.loads(run("explain", spec, "-f", "json").stdout)
    assert doc["layers"][0]["sizes"][0] == "H: ⌊(32 + 0 + 0 − 1·(3 − 1) − 1)/2⌋ + 1 = 15"
    assert run("explain", spec, "-f", "markdown").stdout.startswith("**conv1 (conv k3 s2): 32×32×3 → 15×15×16**")


def test_an_unknown_layer_is_one_error_line_with_a_suggestion() -> None:
    result = run("explain", str(ROOT / "specs" / "convnet.yaml"), "conv3")
    expect_exit(result, 2)
    assert "no layer is named 'conv3'; did you mean 'conv1'?" in result.stderr or "did you mean 'conv2'?" in result.stderr
