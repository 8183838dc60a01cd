"""``show --memory``: each layer's output bytes at the spec's dtype and batch, in every format.

The expected figures are computed here from the shapes (H·W·C · batch · bytes per value), never
taken from convcalc's output.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.engine.evaluate import evaluate
from convcalc.spec.parser import load_spec

from helpers import SPEC_FILES, expect_exit, run, show_json, write

BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}  # the format page's dtypes

SMALL = """\
name: small
input: 32x32x3
dtype: {dtype}
batch: {batch}
layers:
  - conv: {{out: 16, kernel: 3, stride: 2}}
  - conv: {{out: 32, kernel: 3, stride: 2, padding: 1, bn: true, act: relu}}
  - flatten
  - dense: {{out: 10}}
"""
# 15×15×16, 8×8×32, 2048, 10 values a sample
SMALL_VALUES = (15 * 15 * 16, 8 * 8 * 32, 8 * 8 * 32, 10)


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_json_memory_is_the_output_at_dtype_and_batch(path: Path) -> None:
    doc = show_json(str(path))
    per_value = BYTES[doc["dtype"]]
    for layer in doc["layers"]:
        assert layer["memory"] == math.prod(layer["output"]) * doc["batch"] * per_value, layer["name"]
    assert sum(layer["memory"] for layer in doc["layers"]) == doc["total"]["activation_bytes"]


@settings(max_examples=30, deadline=None)
@given(dtype=st.sampled_from(sorted(BYTES)), batch=st.integers(1, 10**6))
def test_memory_scales_with_batch_and_dtype_not_params(dtype: str, batch: int) -> None:
    report = evaluate(load_spec(SMALL.format(dtype=dtype, batch=batch)))
    assert [report.memory(r) for r in report.rows] == [v * batch * BYTES[dtype] for v in SMALL_VALUES]
    assert report.totals.param_bytes == report.totals.params * BYTES[dtype]


def test_csv_and_tsv_gain_a_last_memory_column_only_when_asked(tmp_path: Path) -> None:
    spec = write(tmp_path, "small.yaml", SMALL.format(dtype="float16", batch=3))
    plain = run("show", spec, "-f", "csv")
    expect_exit(plain, 0)
    assert "memory" not in plain.stdout.splitlines()[0]
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        result = run("show", spec, "--memory", "-f", fmt)
        expect_exit(result, 0)
        rows = list(csv.reader(io.StringIO(result.stdout), delimiter=delimiter))
        assert rows[0][-1] == "memory" and rows[0][:-1] == plain.stdout.splitlines()[0].split(",")
        assert [int(r[-1]) for r in rows[1:]] == [v * 3 * 2 for v in SMALL_VALUES]


def test_csv_memory_comes_before_the_receptive_field_columns(tmp_path: Path) -> None:
    spec = write(tmp_path, "small.yaml", SMALL.format(dtype="float32", batch=1))
    result = run("show", spec, "--memory", "--rf", "-f", "csv")
    expect_exit(result, 0)
    header = result.stdout.splitlines()[0].split(",")
    assert header[-5:] == ["memory", "rf_min", "rf_max", "jump", "start"]
    assert result.stdout.splitlines()[1].split(",")[-5] == str(15 * 15 * 16 * 4)


def test_table_memory_column_in_binary_units(tmp_path: Path) -> None:
    spec = write(tmp_path, "small.yaml", SMALL.format(dtype="float32", batch=1))
    plain = run("show", spec)
    result = run("show", spec, "--memory")
    expect_exit(result, 0)
    assert " memory " not in next(line for line in plain.stdout.splitlines() if " name " in line)
    header = next(line for line in result.stdout.splitlines() if " name " in line).split()
    assert header[header.index("FLOPs") + 1] == "memory" and header[-1] == "flags"
    row = {line.split()[1]: line for line in result.stdout.splitlines() if line.split()[:1] in (["1"], ["2"], ["4"])}
    # 15·15·16·4 = 14,400 B = 14.1 KiB; 8·8·32·4 = 8,192 B = 8 KiB; 10·4 = 40 B
    assert "   14.1 KiB   " in row["conv1"] and "   8 KiB" in row["conv2"] and row["dense1"].rstrip().endswith(" 40 B")


def test_folded_group_sums_the_outputs_its_rows_write(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "g.yaml",
        "input: 8x8x4\nlayers:\n  - repeat: {times: 2, layers: [{conv: {out: 4, kernel: 3, padding: 1}}]}\n",
    )
    result = run("show", spec, "--memory", "--depth", "1")
    expect_exit(result, 0)
    row = next(line for line in result.stdout.splitlines() if "repeat" in line)
    assert row.rstrip().endswith("2 KiB")  # two 8·8·4·4 = 1,024 B outputs


def test_markdown_memory_in_exact_bytes(tmp_path: Path) -> None:
    spec = write(tmp_path, "small.yaml", SMALL.format(dtype="int8", batch=2))
    result = run("show", spec, "--memory", "-f", "markdown")
    expect_exit(result, 0)
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| # |"))
    assert "| FLOPs | memory | flags |" in header
    first = lines[lines.index(header) + 2]
    assert "| 7,200 B |" in first  # 15·15·16 values, batch 2, 1 byte each


# --- the peak of inference (show --memory); the oracle against torch is tests/test_peak.py ----

CONCAT = """\
name: two branches
input: 8x8x3
batch: {batch}
layers:
  - concat:
      - [{{conv: {{out: 4, kernel: 3, padding: 1, name: wide}}}}]
      - [{{conv: {{out: 5, kernel: 1, name: narrow}}}}]
  - pointwise: {{out: 2}}
{expect}"""
# The input (8·8·3) is read by both convs; during the concat the two branches (8·8·4, 8·8·5)
# and its output (8·8·9) are live, more than during any conv: 64 · (4 + 5 + 9) values.
CONCAT_PEAK = 64 * (4 + 5 + 9) * 4


def concat_spec(batch: int = 1, expect: str = "") -> str:
    return CONCAT.format(batch=batch, expect=expect)


@pytest.mark.parametrize("batch", [1, 3])
def test_the_peak_of_a_concat_is_its_inputs_and_output(batch: int) -> None:
    from convcalc import inference_peak

    report = evaluate(load_spec(concat_spec(batch)))
    peak = inference_peak(report)
    assert peak.bytes == CONCAT_PEAK * batch
    assert peak.at(report) == "concat1"


def test_a_skip_stays_live_until_its_join() -> None:
    from convcalc import inference_peak

    # conv a (4·4·8) is kept for the add while conv b and conv c run: during c, a + b + c are live
    text = """\
input: 4x4x8
layers:
  - conv: {out: 8, kernel: 1, name: a}
  - conv: {out: 16, kernel: 1, name: b}
  - conv: {out: 8, kernel: 1, name: c}
  - add: {with: a}
"""
    report = evaluate(load_spec(text))
    assert inference_peak(report).bytes == 16 * (8 + 16 + 8) * 4
    assert inference_peak(report).at(report) == "c"


def test_json_table_and_markdown_show_the_peak_only_with_memory(tmp_path: Path) -> None:
    spec = write(tmp_path, "concat.yaml", concat_spec())
    assert "peak_activation_bytes" not in show_json(spec)["total"]
    total = show_json(spec, "--memory")["total"]
    assert (total["peak_activation_bytes"], total["peak_at"]) == (CONCAT_PEAK, "concat1")
    table = run("show", spec, "--memory")
    expect_exit(table, 0)
    assert [line.split() for line in table.stdout.splitlines() if line.startswith("peak")] == [
        ["peak", "live", "activations", "at", "concat1", "4.5", "KiB"]
    ]
    markdown = run("show", spec, "--memory", "-f", "markdown")
    assert "- peak live activations at concat1: 4.5 KiB" in markdown.stdout
    assert "peak live" not in run("show", spec).stdout


def test_the_inference_peak_budget_in_check(tmp_path: Path) -> None:
    roomy = write(tmp_path, "roomy.yaml", concat_spec(expect=f"expect: {{peak_activation_bytes_max: {CONCAT_PEAK}}}\n"))
    expect_exit(run("check", roomy), 0)
    tight = write(tmp_path, "tight.yaml", concat_spec(expect="expect: {peak_activation_bytes_max: 4KiB}\n"))
    result = run("check", tight)
    expect_exit(result, 1)
    assert f"tight.yaml:9:37: error: expect: peak_activation_bytes is {CONCAT_PEAK:,}, expected at most 4,096" in (
        result.stdout
    )
    on_a_layer = "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3, expect: {peak_activation_bytes_max: 1GiB}}\n"
    result = run("check", write(tmp_path, "layer.yaml", on_a_layer))
    expect_exit(result, 2)
    assert "layer.yaml:3:67: error: expect peak_activation_bytes_max is a figure of the whole network" in (
        result.stdout + result.stderr
    )


def test_report_dict_takes_memory() -> None:
    import convcalc

    report = convcalc.evaluate(concat_spec())
    assert convcalc.report_dict(report, memory=True)["total"]["peak_activation_bytes"] == CONCAT_PEAK
    assert "peak_at" not in convcalc.report_dict(report)["total"]
