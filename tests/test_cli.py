"""The command line through click's CliRunner: exact output of every format, exit codes, streams.

click 8.2+ keeps standard output and standard error apart in a CliRunner result
(``result.stdout``, ``result.stderr``), and its output stream is not a terminal, so every run
here is a *piped* run unless a test says otherwise.

The data-driven test at the end runs ``convcalc check`` on every file of ``specs/failing/``
and checks the exit code, message and line written in the file's header comment.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from convcalc.model.kinds import KINDS, SPELLINGS

from helpers import CONVNET, CONVNET_PATH, FAILING, expect_exit, invoke, run, show_json, streams, write

ANSI = "\x1b["
BOX_CHARS = re.compile("[\u2500-\u257f]")  # box drawing: ─ │ ┃ ━ ┌ ...

# The article's ConvNet is specs/convnet.yaml (the `convnet` fixture: its path; helpers.CONVNET: its text).
# name, kind, kernel/stride/pad, output, params, MACs, FLOPs (as the table shows them)
CONVNET_TABLE = [
    ("conv1", "conv", "k5", "24×24×10", "260", "144K", "288K"),
    ("pool1", "pool", "max k2", "12×12×10", "–", "–", "–"),
    ("conv2", "conv", "k3", "10×10×20", "1.82K", "180K", "360K"),
    ("flatten1", "flatten", "", "2000", "–", "–", "–"),
    ("dense1", "dense", "", "500", "1M", "1M", "2M"),
    ("relu1", "relu", "", "500", "–", "–", "–"),
    ("dense2", "dense", "", "10", "5.01K", "5K", "10K"),
]

# name, kind, input, output, params, MACs (exact)
CONVNET_ROWS = [
    ("conv1", "conv", [28, 28, 1], [24, 24, 10], 260, 144_000),
    ("pool1", "pool", [24, 24, 10], [12, 12, 10], 0, 0),
    ("conv2", "conv", [12, 12, 10], [10, 10, 20], 1_820, 180_000),
    ("flatten1", "flatten", [10, 10, 20], [2000], 0, 0),
    ("dense1", "dense", [2000], [500], 1_000_500, 1_000_000),
    ("relu1", "relu", [500], [500], 0, 0),
    ("dense2", "dense", [500], [10], 5_010, 5_000),
]

# activations: (5760 + 1440 + 2000 + 2000 + 500 + 500 + 10) · 4 bytes
CONVNET_TOTAL = {
    "params": 1_007_590,
    "buffers": 0,
    "macs": 1_329_000,
    "flops": 2_658_000,
    "activation_bytes": 48_840,
    "param_bytes": 4_030_360,
}

# ResNet's stem: (224 + 6 − 7)/2 + 1 = 225/2 → 112, only a padding row unread: info flags.
RESNET_STEM = """\
name: stem
input: 224x224x3
layers:
  - conv: {out: 64, kernel: 7, stride: 2, padding: 3, bias: false}
"""

# A 3×3 stride-2 conv without padding on 32: 31/2 → 15, a real input row dropped: warning flags.
WARNING = """\
input: 32x32x3
layers:
  - conv: {out: 8, kernel: 3, stride: 2}
"""

ACCEPTED = """\
input: 32x32x3
layers:
  - conv: {out: 8, kernel: 3, stride: 2, allow_inexact: true}
"""

INVALID = """\
input: 28x28x1
layers:
  - cnov: {out: 10, kernel: 5}
"""

FAILED_EXPECT = """\
input: 28x28x1
layers:
  - conv: {out: 10, kernel: 5}
expect:
  params: 261
"""


# --- helpers --------------------------------------------------------------------------------


def parse_table(stdout: str) -> tuple[str, list[dict[str, str]], dict[str, str]]:
    """The title, the rows (header name → cell) and the totals (label → value) of the terminal table.

    Columns are found as the character ranges where every line of the table (header and rows)
    has at least two spaces between them; cells may hold single spaces (``max k2``).
    """
    lines = stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.strip() and set(line.strip()) == {"─"})
    header = lines[rule - 1]
    end = next((i for i in range(rule + 1, len(lines)) if not lines[i].strip()), len(lines))
    body = lines[rule + 1 : end]
    block = [header, *body]
    width = max(len(line) for line in block)
    used = [any(i < len(line) and line[i] != " " for line in block) for i in range(width)]
    spans: list[list[int]] = []
    i = 0
    while i < width:
        if used[i]:
            if spans and i - spans[-1][1] < 2:
                spans[-1][1] = i + 1
            else:
                spans.append([i, i + 1])
        i += 1
    names = [header[a:b].strip() for a, b in spans]
    rows = [{n: line[a:b].strip() for n, (a, b) in zip(names, spans)} for line in body]
    totals = {}
    for line in lines[end:]:
        m = re.match(r"^(\S.*?)\s{2,}(\S.*)$", line)
        if m and not line.startswith("["):
            totals[m.group(1)] = m.group(2)
    return lines[0].strip(), rows, totals


# --- show: the table ------------------------------------------------------------------------


def test_show_table_contents(convnet: str) -> None:
    result = run("show", convnet)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    title, rows, totals = parse_table(result.stdout)
    assert title == "ConvNet: 28×28×1 → 10", streams(result)
    assert [r["#"] for r in rows] == [str(i) for i in range(1, 8)], streams(result)
    got = [
        (r["name"], r["kind"], r["kernel/stride/pad"], r["output"], r["params"], r["MACs"], r["FLOPs"]) for r in rows
    ]
    assert got == CONVNET_TABLE, streams(result)
    assert all(r["flags"] == "" for r in rows), streams(result)
    assert totals["params (trainable)"] == "1.01M (1,007,590)", streams(result)
    assert totals["buffers (running stats)"] == "0 (0)", streams(result)
    assert totals["MACs (multiply-accumulates)"] == "1.33M (1,329,000)", streams(result)
    assert totals["FLOPs (= 2 × MACs)"] == "2.66M (2,658,000)", streams(result)
    assert totals["activations (float32, batch 1)"] == "47.7 KiB", streams(result)  # 48,840 B
    assert totals["params memory (float32)"] == "3.84 MiB", streams(result)  # 4,030,360 B
    assert "1,007,590" in result.stdout and "1,329,000" in result.stdout


def test_table_lines_have_no_trailing_spaces(convnet: str) -> None:
    result = run("show", convnet)
    assert all(line == line.rstrip() for line in result.stdout.splitlines()), streams(result)
    assert result.stdout.endswith("\n") and not result.stdout.endswith("\n\n"), streams(result)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--format", "json"],
        ["-f", "csv"],
        ["--batch", "3", "-f", "tsv"],
        ["--input", "32x32x1"],
        ["--format", "markdown"],
    ],
)
def test_bare_spec_is_show(convnet: str, extra: list[str]) -> None:
    bare, explicit = run(convnet, *extra), run("show", convnet, *extra)
    expect_exit(bare, 0)
    assert (bare.exit_code, bare.stdout, bare.stderr) == (explicit.exit_code, explicit.stdout, explicit.stderr), (
        streams(bare) + streams(explicit)
    )


def test_bare_spec_with_options_first(convnet: str) -> None:
    bare, explicit = run("-f", "json", convnet), run("show", "-f", "json", convnet)
    expect_exit(bare, 0)
    assert bare.stdout == explicit.stdout, streams(bare)


def test_bare_invalid_spec_is_show(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    bare, explicit = run(path), run("show", path)
    expect_exit(bare, 2)
    assert (bare.stdout, bare.stderr) == (explicit.stdout, explicit.stderr), streams(bare)


# --- show: JSON -----------------------------------------------------------------------------


def test_json_is_the_contract(convnet: str) -> None:
    doc = show_json(convnet)
    # Every key of the format page's example, with its value.
    assert doc["schema_version"] == 1
    assert doc["name"] == "ConvNet"
    assert doc["input"] == [28, 28, 1]
    assert doc["output"] == [10]
    assert doc["total"] == doc["total"] | CONVNET_TOTAL, doc["total"]
    assert set(CONVNET_TOTAL) <= set(doc["total"])
    assert doc["flags"] == []
    assert doc["expect"]["ok"] is True and doc["expect"]["failures"] == []
    conv1 = doc["layers"][0]
    assert conv1 == conv1 | {
        "name": "conv1",
        "kind": "conv",
        "input": [28, 28, 1],
        "output": [24, 24, 10],
        "params": 260,
        "macs": 144_000,
        "flops": 288_000,
        "flags": [],
    }
    # Every row, exact.
    assert len(doc["layers"]) == len(CONVNET_ROWS)
    for layer, (name, kind, inp, out, params, macs) in zip(doc["layers"], CONVNET_ROWS):
        assert (
            layer["name"],
            layer["kind"],
            layer["input"],
            layer["output"],
            layer["params"],
            layer["macs"],
            layer["flops"],
            layer["flags"],
        ) == (name, kind, inp, out, params, macs, 2 * macs, []), layer
        assert all(type(layer[k]) is int for k in ("params", "macs", "flops"))
    assert sum(layer["params"] for layer in doc["layers"]) == doc["total"]["params"]
    assert sum(layer["macs"] for layer in doc["layers"]) == doc["total"]["macs"]
    assert doc["total"]["flops"] == 2 * doc["total"]["macs"]
    assert doc["total"]["param_bytes"] == 4 * doc["total"]["params"]


def test_json_is_one_document_without_decoration(convnet: str) -> None:
    result = run("show", convnet, "-f", "json", "--color", "always")
    expect_exit(result, 0)
    json.loads(result.stdout)  # the whole of stdout is one JSON value
    assert ANSI not in result.stdout, streams(result)


def test_json_flag_objects(tmp_path: Path) -> None:
    doc = show_json(write(tmp_path, "stem.yaml", RESNET_STEM))
    assert doc["output"] == [112, 112, 64]
    assert doc["layers"][0]["params"] == 64 * 3 * 49
    flags = doc["flags"]
    assert [f["axis"] for f in flags] == ["H", "W"], flags
    for f in flags:
        assert f == f | {
            "layer": "conv1",
            "exact": "225/2",
            "used": 112,
            "severity": "info",
            "unread": 1,
            "accepted": False,
        }, f
    assert doc["layers"][0]["flags"] == flags


# --- show: csv, tsv, markdown ---------------------------------------------------------------


@pytest.mark.parametrize("fmt, delimiter", [("csv", ","), ("tsv", "\t")])
def test_delimited(convnet: str, fmt: str, delimiter: str) -> None:
    result = run("show", convnet, "--format", fmt)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    out = result.stdout
    assert ANSI not in out and not BOX_CHARS.search(out), streams(result)
    rows = list(csv.DictReader(io.StringIO(out), delimiter=delimiter))
    assert out.splitlines()[0].split(delimiter)[:9] == [
        "index",
        "name",
        "kind",
        "input",
        "output",
        "params",
        "buffers",
        "macs",
        "flops",
    ], streams(result)
    assert len(rows) == len(CONVNET_ROWS) == len(out.splitlines()) - 1, streams(result)
    for row, (name, kind, inp, outp, params, macs) in zip(rows, CONVNET_ROWS):
        assert (row["name"], row["kind"]) == (name, kind)
        assert row["input"] == "x".join(map(str, inp)) and row["output"] == "x".join(map(str, outp)), row
        for key, value in (("params", params), ("macs", macs), ("flops", 2 * macs), ("buffers", 0)):
            assert row[key] == str(value), (key, row)  # exact integers: no 1.01M, no 1,007,590
    assert sum(int(r["params"]) for r in rows) == 1_007_590
    assert sum(int(r["macs"]) for r in rows) == 1_329_000


def test_csv_flag_column(tmp_path: Path) -> None:
    for text, flag in ((WARNING, "warning"), (RESNET_STEM, "info"), (ACCEPTED, "accepted")):
        result = run("show", write(tmp_path, f"{flag}.yaml", text), "-f", "csv")
        expect_exit(result, 0)
        (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
        assert row["flag"] == flag, streams(result)


def test_markdown(convnet: str) -> None:
    result = run("show", convnet, "--format", "markdown")
    expect_exit(result, 0)
    out = result.stdout
    assert ANSI not in out and not BOX_CHARS.search(out), streams(result)
    lines = out.splitlines()
    assert lines[0] == "### ConvNet", streams(result)
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 7, streams(result)
    assert [c.strip() for c in table[0].strip("|").split("|")] == [
        "#",
        "name",
        "kind",
        "kernel/stride/pad",
        "output",
        "params",
        "MACs",
        "FLOPs",
        "flags",
    ]
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", table[1]), table[1]
    assert table[2] == "| 1 | conv1 | conv | k5 | 24×24×10 | 260 | 144,000 | 288,000 |  |"
    assert table[6] == "| 5 | dense1 | dense |  | 500 | 1,000,500 | 1,000,000 | 2,000,000 |  |"
    assert "- params (trainable): 1,007,590" in lines
    assert "- MACs (multiply-accumulates): 1,329,000" in lines
    assert "- FLOPs (= 2 × MACs): 2,658,000" in lines


# --- show: token sequences ------------------------------------------------------------------

TOKENS = """\
name: tiny ViT
input: 8x8x3
layers:
  - conv: {out: 16, kernel: 2, stride: 2}
  - tokens
  - class_token
  - attention: {heads: 4}
  - token_pool
  - dense: {out: 10}
"""
# 8×8 in 2×2 patches: 16 tokens, 17 with the class token; (name, input, output, layout)
TOKEN_ROWS = [
    ("conv1", [8, 8, 3], [4, 4, 16], "spatial"),
    ("tokens1", [4, 4, 16], [16, 16], "tokens"),
    ("class_token1", [16, 16], [17, 16], "tokens"),
    ("attention1", [17, 16], [17, 16], "tokens"),
    ("token_pool1", [17, 16], [16], "spatial"),  # a flat vector
    ("dense1", [16], [10], "spatial"),
]


def test_json_layout_says_which_outputs_are_token_sequences(tmp_path: Path) -> None:
    doc = show_json(write(tmp_path, "vit.yaml", TOKENS))
    assert [(r["name"], r["input"], r["output"], r["layout"]) for r in doc["layers"]] == [
        tuple(row) for row in TOKEN_ROWS
    ]
    attention = doc["layers"][3]
    assert attention["params"] == 4 * 16 * 16 + 4 * 16
    assert attention["macs"] == 4 * 17 * 16 * 16 + 2 * 17 * 17 * 16


def test_table_and_markdown_mark_token_sequences_csv_does_not(tmp_path: Path) -> None:
    path = write(tmp_path, "vit.yaml", TOKENS)
    table = run("show", path, "--color", "never")
    expect_exit(table, 0)
    lines = table.stdout.splitlines()
    assert lines[0] == "tiny ViT: 8×8×3 → 10"
    outputs = {name: re.search(rf"\b{name}\b.*?((?:\d+×)*\d+(?: tok)?) +\S+ +\S+ +\S+$", line)
               for name, *_ in TOKEN_ROWS for line in lines if re.search(rf"\b{name}\b", line)}
    assert {name: m[1] for name, m in outputs.items() if m} == {
        "conv1": "4×4×16", "tokens1": "16×16 tok", "class_token1": "17×16 tok", "attention1": "17×16 tok",
        "token_pool1": "16", "dense1": "10",
    }, table.stdout
    markdown = run("show", path, "-f", "markdown").stdout
    assert "| 2 | tokens1 | tokens |  | 16×16 tok | 0 | 0 | 0 |  |" in markdown.splitlines()
    rows = list(csv.DictReader(io.StringIO(run("show", path, "-f", "csv").stdout)))
    assert [(r["input"], r["output"]) for r in rows] == [
        ("x".join(map(str, i)), "x".join(map(str, o))) for _, i, o, _ in TOKEN_ROWS
    ]


@pytest.mark.parametrize(
    ("layers", "line", "col", "message"),
    [
        ("  - tokens\n  - pool: {kernel: 2}\n", 5, 5,
         "pool1 (pool on 16×16 tok): pool needs a spatial input, not a token sequence 16×16 tok: add "
         "`untokens: {size: [4, 4]}` first"),
        ("  - tokens\n  - conv: {out: 4, kernel: 1}\n", 5, 5, "conv needs a spatial input, not a token sequence"),
        ("  - tokens\n  - attention: {heads: 3}\n", 5, 5, "16 channels do not divide into 3 heads: change heads"),
        ("  - tokens\n  - class_token\n  - untokens: {size: [4, 4]}\n", 6, 5,
         "size 4×4 holds 16 positions but the sequence has 17 tokens: give sizes that multiply to 17"),
    ],
)
def test_token_errors_are_one_located_line(tmp_path: Path, layers: str, line: int, col: int, message: str) -> None:
    path = write(tmp_path, "bad.yaml", "input: 8x8x3\nlayers:\n  - conv: {out: 16, kernel: 2, stride: 2}\n" + layers)
    result = run("show", path)
    expect_exit(result, 2)
    assert result.stdout == "", streams(result)
    assert result.stderr.startswith(f"{path}:{line}:{col}: error: "), streams(result)
    assert message in result.stderr and result.stderr.count("\n") == 1, streams(result)


# --- show: options --------------------------------------------------------------------------


def test_input_override(convnet: str) -> None:
    doc = show_json(convnet, "--input", "32x32x1")
    assert doc["input"] == [32, 32, 1]
    assert [layer["output"] for layer in doc["layers"]] == [
        [28, 28, 10],
        [14, 14, 10],
        [12, 12, 20],
        [2880],
        [500],
        [500],
        [10],
    ]
    assert doc["layers"][4]["params"] == 2880 * 500 + 500
    assert doc["total"]["params"] == 260 + 1820 + 1_440_500 + 5010
    assert doc["expect"]["ok"] is False  # the spec's expect was written for 28×28


def test_input_override_as_list_and_in_table(convnet: str) -> None:
    result = run("show", convnet, "--input", "32x32x1")
    expect_exit(result, 0)
    title, rows, _ = parse_table(result.stdout)
    assert title == "ConvNet: 32×32×1 → 10"
    assert rows[0]["output"] == "28×28×10"


def test_input_override_supplies_a_missing_input(tmp_path: Path) -> None:
    path = write(tmp_path, "headless.yaml", "layers:\n  - conv: {out: 4, kernel: 3}\n")
    expect_exit(run("show", path), 2)
    doc = show_json(path, "--input", "8x8x2")
    assert doc["output"] == [6, 6, 4]


@pytest.mark.parametrize("bad", ["32xx1", "0x28x1", "28x-1x1", "abc", "", "28x28x1.5"])
def test_invalid_input_option(convnet: str, bad: str) -> None:
    result = run("show", convnet, "--input", bad)
    expect_exit(result, 2)
    assert result.stdout == "", streams(result)
    assert "--input" in result.stderr and "Traceback" not in result.stderr, streams(result)


def test_batch_scales_compute_and_activations_not_params(convnet: str) -> None:
    one, four = show_json(convnet), show_json(convnet, "--batch", "4")
    assert four["batch"] == 4 and one["batch"] == 1
    for key in ("macs", "flops", "activation_bytes"):
        assert four["total"][key] == 4 * one["total"][key], key
    for key in ("params", "param_bytes", "buffers"):
        assert four["total"][key] == one["total"][key], key
    assert four["total"]["macs"] == 5_316_000
    for a, b in zip(one["layers"], four["layers"]):
        assert (b["params"], b["macs"], b["flops"]) == (a["params"], 4 * a["macs"], 4 * a["flops"])
        assert b["output"] == a["output"]  # shapes are per sample


def test_batch_in_table(convnet: str) -> None:
    result = run("show", convnet, "--batch", "4")
    _, _, totals = parse_table(result.stdout)
    assert totals["params (trainable)"] == "1.01M (1,007,590)"
    assert totals["MACs (multiply-accumulates)"] == "5.32M (5,316,000)"
    assert "activations (float32, batch 4)" in totals, totals


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_invalid_batch(convnet: str, bad: str) -> None:
    result = run("show", convnet, "--batch", bad)
    expect_exit(result, 2)
    assert result.stdout == "" and "--batch" in result.stderr, streams(result)


def test_stdin(convnet: str) -> None:
    from_file = run("show", convnet, "-f", "json")
    from_stdin = run("show", "-", "-f", "json", input=CONVNET)
    expect_exit(from_stdin, 0)
    assert from_stdin.stdout == from_file.stdout, streams(from_stdin)
    table = run("-", input=CONVNET.encode())
    expect_exit(table, 0)
    assert table.stdout == run("show", convnet).stdout


def test_stdin_errors_name_stdin() -> None:
    result = run("show", "-", input=INVALID)
    expect_exit(result, 2)
    assert result.stdout == ""
    assert result.stderr == "<stdin>:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n", streams(result)
    check = run("check", "-", input=INVALID)
    expect_exit(check, 2)
    assert check.stdout.startswith("<stdin>:3:5: error: unknown layer kind 'cnov'"), streams(check)


def test_strict_fails_on_info_flags(tmp_path: Path) -> None:
    path = write(tmp_path, "stem.yaml", RESNET_STEM)
    plain, strict = run("show", path), run("show", path, "--strict")
    expect_exit(plain, 0)
    expect_exit(strict, 1)
    assert strict.stdout == plain.stdout, "--strict changes the exit code, not the document"
    assert "225/2" in plain.stdout and "info" in plain.stdout, streams(plain)
    _, rows, _ = parse_table(plain.stdout)
    assert rows[0]["flags"] == "info[1,2]", streams(plain)
    assert "[1] info: conv1: H: (224 + 2·3 − 7)/2 + 1 = 225/2 → PyTorch uses 112" in plain.stdout, streams(plain)
    expect_exit(run("show", path, "--strict", "-f", "json"), 1)


def test_strict_show_fails_on_failed_expect(tmp_path: Path) -> None:
    path = write(tmp_path, "expect.yaml", FAILED_EXPECT)
    plain = run("show", path)
    expect_exit(plain, 0)
    assert "expect failed: line 5: params is 260, expected 261" in plain.stdout, streams(plain)
    expect_exit(run("show", path, "--strict"), 1)


def test_show_with_warning_exits_0_and_prints_it(tmp_path: Path) -> None:
    result = run("show", write(tmp_path, "w.yaml", WARNING))
    expect_exit(result, 0)
    _, rows, _ = parse_table(result.stdout)
    assert rows[0]["output"] == "15×15×8" and rows[0]["flags"] == "warning[1,2]", streams(result)
    assert "31/2 → PyTorch uses 15" in result.stdout


# --- show: errors ---------------------------------------------------------------------------

ONE_ERROR_LINE = re.compile(r"^[^\n]+:\d+:\d+: error: [^\n]+\n$")


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "tsv", "markdown"])
def test_show_invalid_spec(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    result = run("show", path, "--format", fmt)
    expect_exit(result, 2)
    assert result.stdout == "", streams(result)
    assert result.stderr == f"{path}:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n", streams(result)


@pytest.mark.parametrize(
    "text",
    [
        "input: 28x28x1\nlayers:\n  - conv: {out: 10, kernel: [5, 5}\n",
        "input: 28x28x1\nlayers:\n  - conv: {out: 0, kernel: 3}\n",
        "input: 28x28x1\nlayer: []\n",
        "input: 28x28x1\nlayers:\n  - dense: {out: 3}\n",
        "input: 28x28x1\nlayers:\n  - !!python/object/apply:os.system [ls]\n",
    ],
)
def test_show_error_is_one_line_on_stderr(tmp_path: Path, text: str) -> None:
    result = run("show", write(tmp_path, "bad.yaml", text))
    expect_exit(result, 2)
    assert result.stdout == "", streams(result)
    assert ONE_ERROR_LINE.match(result.stderr), streams(result)


def test_show_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    result = run("show", path)
    expect_exit(result, 2)
    assert result.stdout == "", streams(result)
    assert re.fullmatch(re.escape(path) + r": error: cannot read the file: .+\n", result.stderr), streams(result)


def test_show_directory(tmp_path: Path) -> None:
    result = run("show", str(tmp_path))
    expect_exit(result, 2)
    assert result.stdout == "" and result.stderr.count("\n") == 1 and ": error: " in result.stderr, streams(result)


def test_show_unknown_format(convnet: str) -> None:
    result = run("show", convnet, "--format", "xml")
    expect_exit(result, 2)
    assert result.stdout == "" and "--format" in result.stderr, streams(result)


# --- check ----------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {
        "clean": write(tmp_path, "clean.yaml", CONVNET),
        "warning": write(tmp_path, "warning.yaml", WARNING),
        "info": write(tmp_path, "info.yaml", RESNET_STEM),
        "accepted": write(tmp_path, "accepted.yaml", ACCEPTED),
        "expect": write(tmp_path, "expect.yaml", FAILED_EXPECT),
        "invalid": write(tmp_path, "invalid.yaml", INVALID),
        "missing": str(tmp_path / "missing.yaml"),
    }


@pytest.mark.parametrize(
    "names, code",
    [
        (["clean"], 0),
        (["info"], 0),
        (["accepted"], 0),
        (["warning"], 1),
        (["expect"], 1),
        (["invalid"], 2),
        (["missing"], 2),
        (["clean", "info", "accepted"], 0),
        (["clean", "warning"], 1),
        (["warning", "clean"], 1),
        (["clean", "expect", "info"], 1),
        (["warning", "invalid"], 2),
        (["invalid", "warning"], 2),
        (["clean", "warning", "invalid", "clean"], 2),
        (["expect", "missing"], 2),
    ],
)
def test_check_exit_codes(files: dict[str, str], names: list[str], code: int) -> None:
    result = run("check", *(files[n] for n in names))
    expect_exit(result, code)
    assert result.stderr == "", "check prints everything on stdout\n" + streams(result)
    lines = result.stdout.splitlines()
    assert lines[-1].startswith(f"checked {len(names)} file"), streams(result)
    for line in lines[:-1]:
        assert re.match(r"^[^:]+(:\d+:\d+)?: (error|warning|info): .+$", line), line


def test_check_text_and_summary(files: dict[str, str]) -> None:
    result = run("check", files["clean"], files["warning"], files["invalid"])
    expect_exit(result, 2)
    w, i = files["warning"], files["invalid"]
    assert result.stdout == (
        f"{w}:3:5: warning: conv1: H: (32 + 2·0 − 3)/2 + 1 = 31/2 → PyTorch uses 15; "
        "the last 1 row of input data is never read (cut off at the edge)\n"
        f"{w}:3:5: warning: conv1: W: (32 + 2·0 − 3)/2 + 1 = 31/2 → PyTorch uses 15; "
        "the last 1 column of input data is never read (cut off at the edge)\n"
        f"{i}:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n"
        "checked 3 files: 1 clean, 1 with problems, 1 invalid (2 failing flags, 0 failed expectations)\n"
    ), streams(result)


def test_check_clean_summary(files: dict[str, str]) -> None:
    result = run("check", files["clean"])
    expect_exit(result, 0)
    assert result.stdout == "checked 1 file: all clean\n", streams(result)


def test_check_failed_expect(files: dict[str, str]) -> None:
    result = run("check", files["expect"])
    expect_exit(result, 1)
    assert result.stdout == (
        f"{files['expect']}:5:11: error: expect: params is 260, expected 261\n"
        "checked 1 file: 0 clean, 1 with problems, 0 invalid "
        "(0 failing flags, 1 failed expectation)\n"
    ), streams(result)


def test_check_missing_file(files: dict[str, str]) -> None:
    result = run("check", files["missing"])
    expect_exit(result, 2)
    assert result.stderr == ""
    assert result.stdout.startswith(f"{files['missing']}: error: cannot read the file: "), streams(result)


def test_check_needs_a_file() -> None:
    result = run("check")
    expect_exit(result, 2)
    assert result.stdout == "" and "Missing argument" in result.stderr, streams(result)


def test_check_json(files: dict[str, str]) -> None:
    result = run("check", "--format", "json", files["clean"], files["warning"], files["invalid"], files["missing"])
    expect_exit(result, 2)
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 2
    assert [(f["path"], f["status"]) for f in doc["files"]] == [
        (files["clean"], "clean"),
        (files["warning"], "problems"),
        (files["invalid"], "invalid"),
        (files["missing"], "invalid"),
    ]
    assert doc["files"][0]["findings"] == []
    assert [(f["line"], f["col"], f["severity"]) for f in doc["files"][1]["findings"]] == [(3, 5, "warning")] * 2
    assert doc["files"][2]["findings"] == [
        {"line": 3, "col": 5, "severity": "error", "message": "unknown layer kind 'cnov'; did you mean 'conv'?"}
    ]
    assert doc["files"][3]["findings"][0]["line"] is None
    assert doc["summary"].startswith("checked 4 files: 1 clean, 1 with problems, 2 invalid")


@pytest.mark.parametrize("names, code", [(["clean"], 0), (["warning"], 1), (["clean", "invalid"], 2)])
def test_check_json_exit_code_matches(files: dict[str, str], names: list[str], code: int) -> None:
    result = run("check", "-f", "json", *(files[n] for n in names))
    expect_exit(result, code)
    assert json.loads(result.stdout)["exit_code"] == code


def test_check_github(files: dict[str, str]) -> None:
    result = run("check", "--format", "github", files["warning"], files["expect"], files["invalid"])
    expect_exit(result, 2)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 1 + 1 + 1, streams(result)
    annotation = re.compile(
        r"^::error file=(?P<file>[^,:]+),line=(?P<line>\d+),col=(?P<col>\d+)(,[^:]*)?::(?P<msg>.+)$"
    )
    found = [annotation.match(line) for line in lines[:-1]]
    assert all(found), streams(result)
    assert [(m["file"], m["line"], m["col"]) for m in found] == [  # type: ignore[index]
        (files["warning"], "3", "5"),
        (files["warning"], "3", "5"),
        (files["expect"], "5", "11"),
        (files["invalid"], "3", "5"),
    ]
    assert found[3]["msg"] == "unknown layer kind 'cnov'; did you mean 'conv'?"  # type: ignore[index]
    assert lines[-1].startswith("checked 3 files:")


def test_check_github_escapes_the_path(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b:c.yaml", INVALID)
    result = run("check", "-f", "github", path)
    expect_exit(result, 2)
    escaped = path.replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert result.stdout.startswith(f"::error file={escaped},line=3,col=5"), streams(result)


def test_check_github_missing_file_has_no_position(files: dict[str, str]) -> None:
    result = run("check", "-f", "github", files["missing"])
    expect_exit(result, 2)
    assert result.stdout.startswith(f"::error file={files['missing']}"), streams(result)
    assert ",line=" not in result.stdout.splitlines()[0]


def test_check_strict_fails_on_info(files: dict[str, str]) -> None:
    plain = run("check", files["info"])
    expect_exit(plain, 0)
    assert plain.stdout == "checked 1 file: all clean\n", streams(plain)
    strict = run("check", "--strict", files["info"])
    expect_exit(strict, 1)
    lines = strict.stdout.splitlines()
    assert lines[0] == (
        f"{files['info']}:4:5: info: conv1: H: (224 + 2·3 − 7)/2 + 1 = 225/2 → PyTorch uses 112; "
        "the last 1 row never read is padding"
    ), streams(strict)
    assert lines[1].startswith(f"{files['info']}:4:5: info: conv1: W: ")
    assert lines[-1] == ("checked 1 file: 0 clean, 1 with problems, 0 invalid (2 failing flags, 0 failed expectations)")
    expect_exit(run("check", "--strict", files["clean"]), 0)


def test_allow_inexact_accepts_a_warning(files: dict[str, str]) -> None:
    result = run("check", files["accepted"])
    expect_exit(result, 0)
    assert result.stdout == "checked 1 file: all clean\n", streams(result)
    doc = show_json(files["accepted"])
    assert len(doc["flags"]) == 2, doc["flags"]
    for f in doc["flags"]:
        assert f == f | {
            "layer": "conv1",
            "exact": "31/2",
            "used": 15,
            "severity": "warning",
            "unread": 1,
            "accepted": True,
        }, f
    table = run("show", files["accepted"])
    _, rows, _ = parse_table(table.stdout)
    assert rows[0]["flags"] == "accepted[1,2]", streams(table)
    assert "(accepted: allow_inexact)" in table.stdout
    # An accepted flag is accepted under --strict too (--strict adds info flags, it does not un-accept).
    expect_exit(run("check", "--strict", files["accepted"]), 0)


def test_show_strict_agrees_with_check_strict_on_accepted_flags(files: dict[str, str]) -> None:
    check, show = run("check", "--strict", files["accepted"]), run("show", "--strict", files["accepted"])
    assert show.exit_code == check.exit_code, streams(check) + streams(show)


# --- colour ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["show", "{warning}"],
        ["show", "{info}", "-f", "markdown"],
        ["show", "{warning}", "--color", "never"],
        ["show", "{warning}", "--color", "auto"],
        ["show", "{expect}"],
        ["show", "{invalid}"],
        ["check", "{warning}", "{invalid}"],
        ["check", "-f", "github", "{warning}"],
        ["kinds"],
        ["--help"],
    ],
)
@pytest.mark.parametrize("no_color", [None, "1"])
def test_no_ansi_when_piped(files: dict[str, str], args: list[str], no_color: str | None) -> None:
    result = run(*(a.format(**files) for a in args), env={"NO_COLOR": no_color})
    assert result.exit_code in (0, 1, 2), streams(result)
    assert ANSI not in result.stdout and ANSI not in result.stderr, streams(result)


def test_no_color_wins_over_auto_even_when_click_keeps_colour(files: dict[str, str]) -> None:
    # color=True makes click keep ANSI codes; with NO_COLOR convcalc must not make any.
    result = run("show", files["warning"], env={"NO_COLOR": "1"}, color=True)
    assert ANSI not in result.stdout, streams(result)


def test_color_always_renders_colour(files: dict[str, str]) -> None:
    # With click's colour stripping off (as on a terminal), `--color always` gives styled cells.
    result = run("show", files["warning"], "--color", "always", color=True)
    expect_exit(result, 0)
    assert ANSI in result.stdout, streams(result)
    assert "\x1b[1;31mwarning[1,2]" in result.stdout, streams(result)


def test_color_always_when_piped(files: dict[str, str]) -> None:
    # Found as a bug: click.echo stripped the codes of `--color always` when stdout was not a terminal.
    result = run("show", files["warning"], "--color", "always")
    expect_exit(result, 0)
    assert ANSI in result.stdout, streams(result)


# --- kinds, help, version -------------------------------------------------------------------

CONTRACT_KINDS = [
    "conv",
    "deconv",
    "pool",
    "global_pool",
    "adaptive_pool",
    "upsample",
    "grouped",
    "separable",
    "spatial_separable",
    "depthwise",
    "pointwise",
    "dense",
    "flatten",
    "batchnorm",
    "relu",
    "relu6",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "hardswish",
    "softmax",
    "dropout",
    "pad",
    "crop",
    "pixel_shuffle",
]
CONTRACT_ALIASES = ["conv_transpose", "transpose", "maxpool", "avgpool", "linear", "fc", "bn"]


def test_kinds_lists_every_kind() -> None:
    result = run("kinds")
    expect_exit(result, 0)
    assert result.stderr == ""
    heads = {line.split()[0] for line in result.stdout.splitlines() if line and not line[0].isspace()}
    assert set(CONTRACT_KINDS) <= heads, set(CONTRACT_KINDS) - heads
    assert set(KINDS) <= heads, set(KINDS) - heads
    for alias in CONTRACT_ALIASES:
        assert re.search(rf"^\S+\s+\(also: .*\b{alias}\b", result.stdout, re.MULTILINE), alias
    assert set(SPELLINGS) >= set(CONTRACT_KINDS) | set(CONTRACT_ALIASES)


def test_kinds_markdown() -> None:
    result = run("kinds", "--format", "markdown")
    expect_exit(result, 0)
    for kind in CONTRACT_KINDS:
        assert f"`{kind}`" in result.stdout or f"{kind}" in result.stdout, kind
    assert ANSI not in result.stdout


def test_help_and_version() -> None:
    for args in (["--help"], ["-h"], ["show", "--help"], ["check", "--help"], ["kinds", "--help"]):
        result = run(*args)
        expect_exit(result, 0)
        assert result.stdout.startswith("Usage: convcalc"), streams(result)
    version = run("--version")
    expect_exit(version, 0)
    assert re.fullmatch(r"convcalc, version \S+\n", version.stdout), streams(version)


def test_no_arguments_is_usage() -> None:
    result = run()
    assert result.exit_code in (0, 2), streams(result)
    assert "Usage: convcalc" in result.stdout + result.stderr


# --- specs/failing/: each file says how it must fail -----------------------------------------

HEADER = re.compile(r"\A# exit: (?P<exit>[0-2])\n# message: (?P<message>.+)\n# line: (?P<line>\d+)\n")


def header(path: Path) -> tuple[int, str, int]:
    m = HEADER.match(path.read_text(encoding="utf-8"))
    assert m, f"{path.name} must start with '# exit:', '# message:' and '# line:' lines"
    return int(m["exit"]), m["message"], int(m["line"])


def test_failing_specs_exist() -> None:
    assert len(FAILING) >= 20, FAILING


@pytest.mark.parametrize("path", FAILING, ids=lambda p: p.name)
def test_failing_spec(path: Path) -> None:
    code, message, line = header(path)
    assert code in (1, 2), f"{path.name}: a spec in specs/failing/ must fail"
    spec = str(path)
    text = run("check", spec)
    expect_exit(text, code)
    assert text.stderr == "", streams(text)
    wanted = re.compile(rf"^{re.escape(spec)}:{line}:\d+: (error|warning|info): .*{re.escape(message)}")
    assert any(wanted.match(row) for row in text.stdout.splitlines()), (
        f"no finding at line {line} containing {message!r}\n" + streams(text)
    )

    doc = json.loads(run("check", "-f", "json", spec).stdout)
    (entry,) = doc["files"]
    assert entry["status"] == {1: "problems", 2: "invalid"}[code]
    assert any(f["line"] == line and message in f["message"] for f in entry["findings"]), entry

    # show: a problem (exit 1 for check) still shows, exit 0; an invalid spec is one line on stderr.
    shown = run("show", spec)
    if code == 2:
        expect_exit(shown, 2)
        assert shown.stdout == "", streams(shown)
        assert re.fullmatch(rf"{re.escape(spec)}:{line}:\d+: error: .*{re.escape(message)}.*\n", shown.stderr), streams(
            shown
        )
    else:
        expect_exit(shown, 0)
        assert shown.stderr == "", streams(shown)
        expect_exit(run("show", spec, "--strict"), 1)


# --- regression tests of package bugs found while writing these tests (since fixed) ------


@pytest.mark.parametrize("value", ["[]", "{}", "[float32]", "{a: 1}"])
def test_dtype_list_is_an_error(tmp_path: Path, value: str) -> None:
    # Found as a bug: a list or mapping as dtype raised TypeError (unhashable LList) in spec.parse_spec.
    path = write(tmp_path, "dtype.yaml", f"input: 8x8x1\ndtype: {value}\nlayers: [relu]\n")
    result = invoke("show", path)
    assert result.exit_code == 2, streams(result)
    assert result.stdout == "" and result.stderr.startswith(f"{path}:2:8: error: dtype must be one of"), streams(result)


@pytest.mark.parametrize("key", ["name", "description"])
@pytest.mark.parametrize("text", ["[/x]", "[bold]Net[/bold]", "a [red]b"])
def test_spec_name_is_not_rich_markup(tmp_path: Path, key: str, text: str) -> None:
    # Found as a bug: the table passed the spec's name to rich as markup ('[/x]' raised MarkupError,
    # '[bold]Net[/bold]' showed as 'Net'); the description, shown as the caption, must be safe too.
    path = write(tmp_path, "name.yaml", f'{key}: "{text}"\ninput: 8x8x1\nlayers: [relu]\n')
    result = invoke("show", path)
    assert result.exit_code == 0, streams(result)
    lines = result.stdout.splitlines()
    if key == "name":
        assert lines[0] == f"{text}: 8×8×1 → 8×8×1", streams(result)
    else:
        assert text in lines, streams(result)


def test_spec_name_in_machine_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "name.yaml", 'name: "[/x]"\ninput: 8x8x1\nlayers: [relu]\n')
    assert show_json(path)["name"] == "[/x]"
    markdown = run("show", path, "-f", "markdown")
    expect_exit(markdown, 0)
    assert markdown.stdout.startswith("### [/x]\n")


@pytest.mark.parametrize("join", ["add", "concat"])
def test_join_mismatch_through_names_both_sides(tmp_path: Path, join: str) -> None:
    # Found as a bug: with `through:` the message named the through layer on both sides
    # ("add1.conv1 gives 16×16×8 but add1.conv1 gives 32×32×8").
    path = write(
        tmp_path,
        "join.yaml",
        f"""\
input: 32x32x3
layers:
  - conv: {{out: 8, kernel: 3, padding: 1, name: stem}}
  - pool: {{kernel: 2}}
  - {join}: {{with: stem, through: [{{conv: {{out: 8, kernel: 1}}}}]}}
""",
    )
    result = run("show", path)
    expect_exit(result, 2)
    assert f"{join}1: pool1 gives 16×16×8 but stem" in result.stderr, streams(result)
    assert "gives 32×32×8" in result.stderr and result.stderr.count(f"{join}1.conv1") <= 1, streams(result)


def test_join_mismatch_without_through_names_both_sides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "join.yaml",
        """\
input: 32x32x3
layers:
  - conv: {out: 8, kernel: 3, padding: 1, name: stem}
  - pool: {kernel: 2}
  - add: {with: stem}
""",
    )
    result = run("show", path)
    expect_exit(result, 2)
    assert (
        result.stderr == f"{path}:5:5: error: add1: pool1 gives 16×16×8 but stem gives 32×32×8; "
        "add needs identical shapes\n"
    ), streams(result)


def test_options_of_an_activation_must_be_a_mapping(tmp_path: Path) -> None:
    # Found as a bug: the message ended in a lone '{' ("must be a mapping such as {").
    result = run("show", write(tmp_path, "relu.yaml", "input: 8x8x1\nlayers:\n  - relu: 5\n"))
    expect_exit(result, 2)
    message = result.stderr.strip()
    assert not message.endswith("{") and message.count("{") == message.count("}"), streams(result)


def test_info_flag_of_a_1x1_stride2_shortcut(tmp_path: Path) -> None:
    # ResNet's 1×1 stride-2 shortcut on 56: (56 − 1)/2 + 1 = 57/2 → 28; the stride skips the last row anyway.
    path = write(tmp_path, "shortcut.yaml", "input: 56x56x64\nlayers:\n  - conv: {out: 128, kernel: 1, stride: 2}\n")
    (flag, _) = show_json(path)["flags"]
    assert flag == flag | {"exact": "57/2", "used": 28, "severity": "info"}, flag
    expect_exit(run("check", path), 0)
    expect_exit(run("check", "--strict", path), 1)


def test_the_terminal_table_crops_to_the_width_and_styles_with_ansi() -> None:
    # Each line is cut to width − 1 cells and an ellipsis, never wrapped; a styled segment is
    # its SGR codes, the text and a reset (bold 1, dim 2, red 31, yellow 33), as rich writes them.
    from rich.cells import cell_len

    from convcalc.outputs.report import styled

    segments = [("abcdef", "bold"), ("ghij\n", None), ("漢字漢字", "bold red"), ("\nxy  ", "yellow")]
    # trailing padding is dropped, not styled, and not counted: "xy  " fits 3 cells
    assert styled(segments, 8, True, cell_len) == "\x1b[1mabcdef\x1b[0mg…\n\x1b[1;31m漢字漢字\x1b[0m\n\x1b[33mxy\x1b[0m\n"
    assert styled(segments, 3, False, cell_len) == "ab…\n漢…\nxy\n"
    assert styled(segments, 5, False, cell_len) == "abcd…\n漢字…\nxy\n"
    assert styled(segments, None, False, cell_len) == "abcdefghij\n漢字漢字\nxy\n"


def test_a_narrow_table_gives_up_columns_in_the_documented_order() -> None:
    from convcalc.outputs.report import fit_columns

    headers = ["#", "name", "kind", "kernel/stride/pad", "output", "params", "MACs", "FLOPs", "flags"]
    widths = [3, 20, 10, 20, 10, 6, 6, 6, 9]  # names nested 3 levels deep, two cells each

    def fit(width: int, flagless: bool = False) -> tuple[list[str], int, int, int]:
        f = fit_columns(headers, widths, width, flagless, depth=3)
        return [headers[i] for i in f.shown], f.gap, f.indent, f.name_width

    def without(*dropped: str) -> list[str]:
        return [h for h in headers if h not in dropped]

    full = 3 + sum(widths) + 3 * 8  # a margin of two, the rule one cell wider, gaps of three
    assert fit(full) == (headers, 3, 2, 20)
    assert fit(full - 1, flagless=True) == (without("flags"), 3, 2, 20)  # an empty flags column first
    assert fit(full - 1) == (without("FLOPs"), 3, 2, 20)  # flags shown when a row has one
    assert fit(full - 10) == (without("FLOPs", "kernel/stride/pad"), 3, 2, 20)
    assert fit(84) == (without("FLOPs", "kernel/stride/pad"), 2, 2, 20)  # 3 + 64 + 6·2 = 79 > 78
    assert fit(78) == (without("#", "FLOPs", "kernel/stride/pad"), 2, 2, 20)
    assert fit(73) == (without("#", "FLOPs", "kernel/stride/pad"), 2, 1, 17)  # one cell per level
    assert fit(65) == (without("#", "FLOPs", "kernel/stride/pad"), 2, 1, 11)  # names cut by 6
    assert fit(50)[3] == 8  # never below NAME_MIN: the edge crops the rest


def test_names_are_cut_in_the_middle_keeping_their_nesting() -> None:
    from rich.cells import cell_len

    from convcalc.outputs.report import middle_cut

    assert middle_cut("      ▾ bottleneck_down1", 14, cell_len) == "      ▾ bot…n1"
    assert middle_cut("  conv1", 7, cell_len) == "  conv1"
    assert middle_cut("  encoder_block", 9, cell_len) == "  enc…ock"
    assert middle_cut("漢字漢字漢字", 7, cell_len) == "漢…漢字"  # two cells a character


# --- commands people type: misspellings, help, version (issue 12, item 3) ------------------


@pytest.mark.parametrize(("typed", "meant"), [("shwo", "show"), ("chek", "check"), ("slove", "solve"), ("kind", "kinds")])
def test_a_misspelt_command_gets_a_did_you_mean_and_a_way_to_read_such_a_file(typed: str, meant: str) -> None:
    result = run(typed, "x.yaml")
    expect_exit(result, 2)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"no command '{typed}'; did you mean '{meant}'?" in result.stderr
    assert f"To read a file of that name: convcalc show ./{typed}" in result.stderr


def test_a_missing_file_is_not_taken_for_a_misspelt_command() -> None:
    result = run("shwo.yaml")  # a path: the file is missing, whatever it resembles
    expect_exit(result, 2)
    assert "cannot read the file" in result.stderr and "did you mean" not in result.stderr


def test_a_file_named_like_a_command_is_read_and_a_command_name_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3}\n"
    (tmp_path / "shwo").write_text(spec, encoding="utf-8")
    (tmp_path / "help").write_text(spec, encoding="utf-8")
    shown = run("shwo", "-f", "csv")
    expect_exit(shown, 0)
    assert shown.stdout.splitlines()[1].startswith("1,conv1,conv,8x8x3,6x6x4,")
    assert "Usage: convcalc" in run("help").stdout  # the command, not the file
    expect_exit(run("./help", "-f", "csv"), 0)


def test_help_and_version_as_commands_and_minus_capital_v() -> None:
    assert run("help").stdout == run("--help").stdout
    check_help = run("help", "check")
    expect_exit(check_help, 0)
    assert check_help.stdout == run("check", "--help").stdout
    unknown = run("help", "shwo")
    expect_exit(unknown, 2)
    assert "no command 'shwo'; did you mean 'show'?" in unknown.stderr
    version = run("version").stdout
    assert version.startswith("convcalc, version ") and version == run("-V").stdout == run("--version").stdout


def test_a_misspelt_top_level_option_is_suggested() -> None:
    result = run("--versoin")
    expect_exit(result, 2)
    assert "no such option '--versoin'; did you mean '--version'?" in result.stderr
    expect_exit(run("--depth", "1", str(CONVNET_PATH)), 0)  # show's own options still come first


# --- the input's rank and layout (issue 12, item 4) -------------------------------------------


@pytest.mark.parametrize("command", ["show", "solve"])
def test_an_input_of_another_rank_needs_rank(command: str) -> None:
    result = run(command, str(CONVNET_PATH), "--input", "64x64")
    expect_exit(result, 2)
    assert result.stdout == ""
    assert ("--input 64x64 is 1-D (L×C), but the spec's input 28x28x1 is 2-D (H×W×C): give a shape of that "
            "rank, or --rank 1 to change it on purpose") in result.stderr
    on_purpose = run(command, str(CONVNET_PATH), "--input", "64x64", "--rank", "1")
    expect_exit(on_purpose, 0)
    wrong = run(command, str(CONVNET_PATH), "--input", "64x64", "--rank", "2")
    expect_exit(wrong, 2)
    assert "--input 64x64 is 1-D (L×C), not 2-D (H×W×C)" in wrong.stderr
    alone = run(command, str(CONVNET_PATH), "--rank", "1")
    expect_exit(alone, 2)
    assert "--rank changes the rank of an input given with --input: give both" in alone.stderr


def test_the_same_rank_needs_no_rank() -> None:
    doc = show_json(str(CONVNET_PATH), "--input", "64x64x1", "--rank", "2")
    assert doc["input"] == [64, 64, 1]


def test_a_channels_first_input_gets_a_note_on_stderr_only(tmp_path: Path) -> None:
    spec = write(tmp_path, "nchw.yaml", "input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n")
    result = run("show", spec, "-f", "csv")
    expect_exit(result, 0)
    assert result.stdout.splitlines()[1].startswith("1,conv1,conv,3x32x32,1x30x8,")  # read as H×W×C still
    assert result.stderr == (
        f"{spec}: note: input 3x32x32 is read channels last (H×W×C): H=3, W=32, C=32; "
        "PyTorch's (C, H, W) = (3, 32, 32) is input: 32x32x3\n"
    )


@pytest.mark.parametrize("dims", [(28, 28, 1), (224, 224, 3), (5000, 1), (16, 112, 112, 3), (3, 4, 32), (8, 8, 8, 8)])
def test_no_note_for_a_channels_last_input(dims: tuple[int, ...]) -> None:
    from convcalc.engine.evaluate import channels_first_hint

    assert channels_first_hint(dims) is None
    assert channels_first_hint((3, 32, 32)) is not None and channels_first_hint((1, 8, 8, 8)) is not None


def test_no_spec_of_the_zoo_gets_the_channels_first_note() -> None:
    from convcalc.engine.evaluate import channels_first_hint
    from convcalc.spec.parser import load_spec
    from helpers import SPEC_FILES

    for path in SPEC_FILES:
        dims = load_spec(path.read_text(encoding="utf-8")).input
        assert dims is None or channels_first_hint(dims) is None, path.name


# --- a terminal's table: folded to its height, alike flags grouped, -q and -v (issue 12, item 2)


def _resnet50_table(**terminal: Any) -> str:
    from convcalc.engine.evaluate import evaluate
    from convcalc.outputs.formats import Terminal
    from convcalc.outputs.report import write_table
    from convcalc.spec.parser import load_spec
    from helpers import SPECS

    report = evaluate(load_spec((SPECS / "resnet50.yaml").read_text(encoding="utf-8")))
    return write_table(report, Terminal(**terminal))


def test_a_terminal_groups_alike_flags_and_v_lists_each() -> None:
    grouped = _resnet50_table(width=200, height=400)
    # ResNet-50's 16 flags: the stem conv, the pool and each stage's first 3×3 conv (both axes)
    # leave a padding-only row and column; each stage's stride-2 shortcut a row and column a
    # stride would skip anyway.
    assert ("[1-6,9,10,13,14] info: 10 flags in 5 layers (conv1, pool1, …): the last 1 row or column never "
            "read is padding") in grouped
    assert ("[7,8,11,12,15,16] info: 6 flags in 3 layers (layer2.bottleneck1.residual1.shortcut.conv1, "
            "layer3.bottleneck1.residual1.shortcut.conv1, …): the last 1 row or column is never read") in grouped
    assert "(-v lists each flag)" in grouped and "\n[16] info:" not in grouped
    each = _resnet50_table(width=200, height=400, verbose=True)
    assert "\n[16] info: layer4.bottleneck1.residual1.shortcut.conv1: W:" in each and "-v lists" not in each
    piped = _resnet50_table()  # no terminal: every flag, every row
    assert "\n[16] info:" in piped and "folded" not in piped


def test_a_table_taller_than_the_terminal_is_folded_to_fit() -> None:
    from convcalc.outputs.report import TABLE_FRAME

    text = _resnet50_table(width=100, height=40, fold=True)
    assert "folded 2 levels deep to fit the terminal: --depth all shows every row" in text
    rows = [line for line in text.splitlines() if "▸" in line or "▾" in line or line[:5].strip().isdigit()]
    assert 10 < len(rows) <= 40 - TABLE_FRAME
    assert "folded" not in _resnet50_table(width=100, height=400, fold=True)  # it fits: every row
    assert "folded" not in _resnet50_table(width=100, height=40, fold=False)  # --depth given


def test_quiet_prints_the_totals_and_the_warnings_only(tmp_path: Path) -> None:
    quiet = run("show", str(CONVNET_PATH), "-q")
    expect_exit(quiet, 0)
    assert quiet.stdout.splitlines()[0] == "ConvNet: 28×28×1 → 10"
    assert "conv1" not in quiet.stdout and "params (trainable)" in quiet.stdout
    warned = write(tmp_path, "w.yaml", "input: 32x32x3\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 2}\n  - pool: {kernel: 3, stride: 2, padding: 1}\n")
    text = run("show", warned, "-q").stdout
    assert "warning: conv1: H:" in text and "info:" not in text


@pytest.mark.parametrize(("value", "ok"), [("all", True), ("2", True), ("0", False), ("deep", False), ("-1", False)])
def test_depth_takes_a_number_or_all(value: str, ok: bool) -> None:
    result = run("show", str(CONVNET_PATH), "--depth", value)
    expect_exit(result, 0 if ok else 2)
    if not ok:
        assert "is not a number ≥ 1 or all" in result.stderr


# --- several specs and sizes at once (issue 12, item 8) -----------------------------------


def test_several_specs_print_each_table_and_a_summary() -> None:
    from helpers import SPECS

    a, b = str(SPECS / "convnet.yaml"), str(SPECS / "resnet18.yaml")
    tables = run("show", a, b)
    expect_exit(tables, 0)
    assert tables.stdout.startswith("ConvNet: 28×28×1 → 10\n") and "\nResNet-18: 224×224×3 → 1000\n" in tables.stdout
    summary = json.loads(run("show", a, b, "--summary", "-f", "json").stdout)["summary"]
    for row, path in zip(summary, (a, b)):
        doc = show_json(path)
        assert row["spec"] == path and row["params"] == doc["total"]["params"] and row["macs"] == doc["total"]["macs"]
        assert row["input"] == doc["input"] and row["output"] == doc["output"]
    rows = list(csv.DictReader(io.StringIO(run("show", a, b, "--summary", "-f", "csv").stdout)))
    assert [r["params"] for r in rows] == ["1007590", "11689512"] and rows[1]["infos"] == "16"


def test_sizes_and_repeated_inputs_give_a_row_each() -> None:
    from helpers import SPECS

    spec = str(SPECS / "resnet18.yaml")
    doc = json.loads(run("show", spec, "--sizes", "224,256", "-f", "json").stdout)["summary"]
    assert [r["input"] for r in doc] == [[224, 224, 3], [256, 256, 3]]
    assert doc[1]["macs"] == show_json(spec, "--input", "256x256x3")["total"]["macs"]
    inputs = json.loads(run("show", spec, "--input", "128x128x3", "--input", "160x160x3", "-f", "json").stdout)["summary"]
    assert [r["input"] for r in inputs] == [[128, 128, 3], [160, 160, 3]]
    bad = run("show", spec, "--sizes", "224x224")
    expect_exit(bad, 2)
    assert "is not a list of sizes such as 224,256,320" in bad.stderr


def test_several_specs_in_json_are_json_lines_and_a_bad_one_is_its_error_line(tmp_path: Path) -> None:
    from helpers import SPECS

    bad = write(tmp_path, "bad.yaml", "input: 8x8x3\nlayers:\n  - cnov: {}\n")
    result = run("show", str(SPECS / "convnet.yaml"), bad, str(SPECS / "ecg1d.yaml"), "-f", "json")
    expect_exit(result, 2)
    lines = result.stdout.splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["ConvNet", "ECG 1-D CNN"]
    assert result.stderr == f"{bad}:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n"
    several_csv = run("show", str(SPECS / "convnet.yaml"), str(SPECS / "ecg1d.yaml"), "-f", "csv").stdout.splitlines()
    assert several_csv[0].startswith("spec,index,name,") and several_csv[1].startswith(f"{SPECS / 'convnet.yaml'},1,conv1,")


# --- keep going after an error (issue 12, item 5) ------------------------------------------

BROKEN = """\
name: broken
input: 32x32x3
layers:
  - conv: {out: 8, kernel: 3, stride: 2, expect: 16x16x8}
  - conv: {out: 16, kernel: 3, padding: 1, name: a}
  - conv: {out: 16, kernel: 40}
  - relu
"""


def test_check_lists_what_it_found_before_the_invalid_part(tmp_path: Path) -> None:
    spec = write(tmp_path, "broken.yaml", BROKEN)
    result = run("check", spec)
    expect_exit(result, 2)
    lines = result.stdout.splitlines()
    # conv1 cuts off a row and a column of data (32 − 3 is odd) and is 15×15×8, not 16×16×8
    assert [line.split(": ")[1] for line in lines[:4]] == ["warning", "warning", "error", "error"]
    assert lines[2].endswith("error: expect: conv1: output is 15×15×8, expected 16×16×8")
    assert lines[3].startswith(f"{spec}:6:5: error: conv3 (conv on 15×15×16): H: the kernel reaches 40 cells")
    assert lines[4] == "checked 1 file: 0 clean, 0 with problems, 1 invalid"


def test_a_terminal_shows_the_table_up_to_the_error_and_a_pipe_nothing(tmp_path: Path) -> None:
    from convcalc.commands.show import run as show_run

    spec = write(tmp_path, "broken.yaml", BROKEN)
    piped = run("show", spec)
    expect_exit(piped, 2)
    assert piped.stdout == "" and piped.stderr.count("\n") == 1
    import convcalc.commands.show as show_module

    original = show_module.terminal
    show_module.terminal = lambda color, width=None, depth=None: original(color, 100, depth)._replace(height=50)  # type: ignore[assignment]
    try:
        captured = invoke("show", spec)
    finally:
        show_module.terminal = original  # type: ignore[assignment]
    assert captured.exit_code == 2
    assert "  2   a       conv" in captured.stdout and "(the rows up to the error below)" in captured.stdout
    assert "conv3" not in captured.stdout and "error: conv3 (conv on 15×15×16)" in captured.stderr
    assert show_run is not None


def test_summary_and_several_csv_show_control_characters_visibly(tmp_path: Path) -> None:
    from helpers import SPECS

    spec = write(tmp_path, "x\x1by.yaml", 'name: "a\\x1b[31mred"\ninput: 8x8x3\nlayers: [relu]\n')
    for args in (["--summary", "-f", "csv"], ["-f", "csv"], ["--summary", "-f", "tsv"]):
        out = run("show", spec, str(SPECS / "convnet.yaml"), *args).stdout
        assert "\x1b" not in out and "x\\x1by.yaml" in out, args
    assert "a\\x1b[31mred" in run("show", spec, str(SPECS / "convnet.yaml"), "--summary", "-f", "csv").stdout
