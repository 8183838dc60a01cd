"""Golden files: the exact output of every spec in specs/ (the zoo and the examples), kept in tests/golden/.

For each spec, four files hold what the command line prints today:

    <stem>.table.out   convcalc show SPEC --color never    (the terminal table, piped)
    <stem>.md.out      convcalc show SPEC -f markdown
    <stem>.csv.out     convcalc show SPEC -f csv
    <stem>.solve.out   convcalc solve SPEC

A change of any output shows as a diff here; ``pytest tests/test_golden.py --update-golden``
rewrites the files when the change is meant.  Comparing is not enough, a wrong figure would be
kept as faithfully as a right one, so each output is also checked against what it must add up
to, found independently: the totals of ``-f json`` and ``convcalc check`` (torchinfo's
``assert_sum_column_totals_match``).

CliRunner's standard output is not a terminal, so the table is the piped one: joined as text,
no colour and no width to fit (the terminal's width is read only for a terminal).  The
environment is pinned anyway, and one test shows that COLUMNS changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import CONVNET_PATH, GOLDEN, SPEC_FILES, UPDATE_HINT, compare_golden, expect_exit, run, show_json, streams

# No colour or width from the caller's environment (None: unset while the CLI runs).
ENV: dict[str, str | None] = {"COLUMNS": None, "LINES": None, "NO_COLOR": None, "FORCE_COLOR": None, "TERM": None}

OUTPUTS = {  # golden suffix → the command line after `convcalc`
    "table": ("show", "{spec}", "--color", "never"),
    "md": ("show", "{spec}", "-f", "markdown"),
    "csv": ("show", "{spec}", "-f", "csv"),
    "solve": ("solve", "{spec}"),
}

Golden = Callable[[str, str], None]


def output(kind: str, spec: Path, env: dict[str, str | None] = ENV) -> str:
    """What ``convcalc`` prints for one of OUTPUTS; it must succeed and write nothing on stderr."""
    args = [arg.format(spec=spec) for arg in OUTPUTS[kind]]
    result = run(*args, env=env)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    return result.stdout


@pytest.fixture(scope="module")
def documents() -> dict[Path, dict[str, Any]]:
    """``show -f json`` of every spec, the independent source of the totals."""
    return {spec: show_json(str(spec)) for spec in SPEC_FILES}


def integer(cell: str) -> int:
    """An exact integer as the markdown table groups it: ``1,000,500``."""
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", cell), cell
    return int(cell.replace(",", ""))


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.stem)
def test_table(spec: Path, golden: Golden, documents: dict[Path, dict[str, Any]]) -> None:
    text = output("table", spec)
    golden(f"{spec.stem}.table", text)
    doc = documents[spec]
    lines = text.splitlines()
    assert lines[0].startswith(f"{doc['name']}: "), lines[0]
    assert all(line == line.rstrip() for line in lines), "no trailing spaces"
    # The numbered rows are the layers, 1 to n; the folded groups' rows have no number.
    numbers = [int(m[1]) for line in lines if (m := re.match(r"^ *(\d+) {2,}\S", line))]
    assert numbers == list(range(1, len(doc["layers"]) + 1)), numbers
    # The totals print the exact figure after the short one: "1.01M (1,007,590)".
    totals = {
        "params (trainable)": "params",
        "buffers (running stats)": "buffers",
        "MACs (multiply-accumulates)": "macs",
        "FLOPs (= 2 × MACs)": "flops",
    }
    for label, key in totals.items():
        (line,) = [line for line in lines if line.startswith(label + "  ")]
        exact = re.fullmatch(r".*\((\d{1,3}(?:,\d{3})*)\)", line)
        assert exact, line
        assert integer(exact[1]) == doc["total"][key], (line, doc["total"][key])


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.stem)
def test_markdown(spec: Path, golden: Golden, documents: dict[Path, dict[str, Any]]) -> None:
    text = output("md", spec)
    golden(f"{spec.stem}.md", text)
    doc = documents[spec]
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    rows = [dict(zip(header, (cell.strip() for cell in line[1:-1].split(" | ")))) for line in table[2:]]
    assert [row["#"] for row in rows] == [str(i) for i in range(1, len(doc["layers"]) + 1)]
    assert [row["name"] for row in rows] == [layer["name"] for layer in doc["layers"]]
    for column, key in (("params", "params"), ("MACs", "macs"), ("FLOPs", "flops")):
        assert sum(integer(row[column]) for row in rows) == doc["total"][key], column
    assert f"- params (trainable): {doc['total']['params']:,}" in lines
    assert f"- MACs (multiply-accumulates): {doc['total']['macs']:,}" in lines


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.stem)
def test_csv(spec: Path, golden: Golden, documents: dict[Path, dict[str, Any]]) -> None:
    text = output("csv", spec)
    golden(f"{spec.stem}.csv", text)
    doc = documents[spec]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["name"] for row in rows] == [layer["name"] for layer in doc["layers"]]
    assert [int(row["index"]) for row in rows] == list(range(1, len(rows) + 1))
    for key in ("params", "buffers", "macs", "flops"):
        assert sum(int(row[key]) for row in rows) == doc["total"][key], key
    assert all(int(row["flops"]) == 2 * int(row["macs"]) for row in rows)


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.stem)
def test_solve(spec: Path, golden: Golden, documents: dict[Path, dict[str, Any]]) -> None:
    text = output("solve", spec)
    golden(f"{spec.stem}.solve", text)
    # Every spec checks clean, so the size it gives is one that cuts no input data off.
    expect_exit(run("check", str(spec)), 0)
    spatial = documents[spec]["input"][:-1]  # the last axis is the channels
    axes = re.findall(r"^(\w) \(spec: (\d+)\)$", text, re.MULTILINE)
    assert [int(size) for _, size in axes] == spatial, axes
    clean = [line for line in text.splitlines() if line.startswith("  clean ")]
    assert len(clean) == len(spatial), clean
    for line, size in zip(clean, spatial):
        assert line.endswith(f"[{size} is in]"), line


def test_the_table_does_not_depend_on_the_terminal_size() -> None:
    pinned = output("table", CONVNET_PATH)
    for columns in ("20", "80", "400"):
        assert output("table", CONVNET_PATH, env={**ENV, "COLUMNS": columns, "LINES": "5"}) == pinned, columns


def test_golden_compare_fails_with_a_diff_and_the_hint(tmp_path: Path) -> None:
    path = GOLDEN / "no-such-spec.table.out"
    with pytest.raises(pytest.fail.Exception, match="no golden file tests/golden/no-such-spec.table.out"):
        compare_golden(path, "text\n", update=False)
    kept = GOLDEN / "convnet.table.out"
    changed = kept.read_text(encoding="utf-8").replace("1,007,590", "1,007,591")
    with pytest.raises(pytest.fail.Exception) as failed:
        compare_golden(kept, changed, update=False)
    message = str(failed.value)
    assert "-params (trainable)              1.01M (1,007,590)" in message, message
    assert "+params (trainable)              1.01M (1,007,591)" in message, message
    assert UPDATE_HINT in message
    written = tmp_path / "sub" / "x.out"
    compare_golden(written, "a\r\nb\n", update=True)
    assert written.read_bytes() == b"a\r\nb\n"
    compare_golden(written, "a\r\nb\n", update=False)


# The table on a terminal of a given width (--width fixes it, as a terminal's size does): a deep
# network, one with long flags and skips, one of tokens, a small one.
WIDTHS = (60, 80, 100, 160)
AT_WIDTH = ("resnet50", "unet", "vit_b_16", "convnet")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", AT_WIDTH)
def test_table_at_a_width(name: str, width: int, golden: Golden) -> None:
    spec = next(s for s in SPEC_FILES if s.stem == name)
    result = run("show", str(spec), "--width", str(width), env=ENV)
    expect_exit(result, 0)
    golden(f"{name}.w{width}.table", result.stdout)
    assert max(len(line) for line in result.stdout.splitlines()) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_no_line_of_any_table_is_wider_than_the_width(width: int) -> None:
    from rich.cells import cell_len

    for spec in SPEC_FILES:
        for extra in ([], ["--memory", "--train", "--rf"], ["--depth", "1"]):
            result = run("show", str(spec), "--width", str(width), *extra, env=ENV)
            expect_exit(result, 0)
            assert max(cell_len(line) for line in result.stdout.splitlines()) <= width, (spec.name, extra)


def test_every_spec_has_its_golden_files(pytestconfig: pytest.Config) -> None:
    # last in the file, so that with --update-golden the files above are written by now
    assert len(SPEC_FILES) >= 20, SPEC_FILES
    wanted = {f"{spec.stem}.{kind}.out" for spec in SPEC_FILES for kind in OUTPUTS}
    wanted |= {f"{name}.w{width}.table.out" for name in AT_WIDTH for width in WIDTHS}
    if pytestconfig.getoption("--update-golden"):
        for path in GOLDEN.glob("*.out"):
            if path.name not in wanted:
                path.unlink()  # a spec removed or renamed: its files go too
    kept = {path.name for path in GOLDEN.glob("*.out")}
    assert kept == wanted, f"missing {sorted(wanted - kept)}, left over {sorted(kept - wanted)}; {UPDATE_HINT}"
