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
