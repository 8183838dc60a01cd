"""A spec's text and a file's name never write control sequences to a terminal or a CI log.

Issue 9, item 0: the spec's ``name`` and ``description`` and the file's name reach the table,
markdown, solve's text, check's findings and every error line.  Each is shown with its control,
separator and bidi characters escaped (``\\x1b``, ``\\x0a``, ``\\u202e``), in every format and
with or without colour; JSON keeps the data and writes those characters as JSON escapes;
``-f github`` keeps its own escaping (``%0A``) and escapes the rest.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.base.text import json_safe, visible

from helpers import ROOT, run

PAYLOADS = {
    "clear screen": "\x1b[2J\x1b[H",
    "window title": "\x1b]0;owned\x07",
    "hyperlink": "\x1b]8;;https://example.invalid\x1b\\click\x1b]8;;\x1b\\",
    "hidden text": "\x1b[8mhidden\x1b[0m",
    "C1 CSI": "\x9b2J",
    "line break": "a\nb\r\nc",
    "workflow command": "\n::error file=x::owned",
    "bidi override": "\u202etxt.exe",
    "separators": "\u2028\u2029",
}
# What may stand in output: printable text, the line breaks between lines, and TSV's tabs.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def spec_text(name: str, description: str = "") -> str:
    return (
        f"name: {json.dumps(name)}\ndescription: {json.dumps(description)}\n"
        "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3, stride: 2}\n"
    )


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = run(*args, input=input)
    return result.exit_code, result.stdout, result.stderr


def clean(text: str) -> None:
    found = FORBIDDEN.search(text)
    assert found is None, f"a raw {found.group()!r} reaches the output: {text!r}"


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "tsv", "markdown"])
@pytest.mark.parametrize("color", ["never", "always"])
def test_show_escapes_the_spec_name_and_description(payload: str, fmt: str, color: str) -> None:
    code, out, err = invoke("show", "-", "-f", fmt, "--color", color, input=spec_text(f"n{payload}", f"d{payload}"))
    assert code == 0, err
    if color == "always" and fmt == "table":
        out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's own colour codes, and only those
    clean(out)
    if fmt == "json":
        document = json.loads(out)
        assert (document["name"], document["description"]) == (f"n{payload}", f"d{payload}")  # data kept
    elif fmt in ("table", "markdown"):
        assert visible(f"n{payload}") in out


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_solve_escapes_the_spec_name(payload: str, fmt: str) -> None:
    code, out, err = invoke("solve", "-", "-f", fmt, input=spec_text(f"n{payload}"))
    assert code == 0, err
    clean(out)


@pytest.mark.parametrize("payload", [p for p in PAYLOADS.values() if "\x00" not in p and "/" not in p], ids=[k for k, p in PAYLOADS.items() if "/" not in p])
@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_check_escapes_file_names(payload: str, fmt: str, tmp_path: Path) -> None:
    spec = tmp_path / f"x{payload}.yaml"
    spec.write_text(spec_text("net"), encoding="utf-8")
    missing = tmp_path / f"missing{payload}.yaml"
    code, out, err = invoke("check", "-f", fmt, str(spec), str(missing))
    assert code == 2
    clean(out)
    lines = out.splitlines()
    if fmt != "json":
        # two warning flags (H, W), the missing file's error, the summary: one line each
        assert len(lines) == 4, out
        if fmt == "text":  # no line a GitHub runner would read as a workflow command
            assert not any(line.startswith("::") for line in lines)
    else:
        assert json.loads(out)["files"][0]["path"] == str(spec)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_error_lines_escape_the_file_name(payload: str, tmp_path: Path) -> None:
    if "/" in payload:
        return
    bad = tmp_path / f"bad{payload}.yaml"
    bad.write_text("input: 8x8x3\nlayers:\n  - conv: {out: 4, kernal: 3}\n", encoding="utf-8")
    for command in (["show"], ["solve"], ["annotate", "--check"], ["export", "--to", "torch"]):
        code, out, err = invoke(*command, str(bad))
        assert code == 2, (command, err)
        clean(err)
        assert err.count("\n") == 1 and err.startswith(f"{visible(str(bad))}:3:"), (command, err)


def test_usage_errors_escape_what_the_user_typed() -> None:
    # through the console script's entry point (run), which prints click's usage errors itself
    proc = subprocess.run(
        [sys.executable, "-m", "convcalc", "show", "specs/convnet.yaml", "--\x1b]0;x\x07"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    clean(proc.stderr)
    assert "\\x1b" in proc.stderr and proc.stderr.count("\n") == 1


def test_a_two_line_file_name_gives_one_error_line_in_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "a\nb.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "convcalc", "check", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == f"{tmp_path}/a\\x0ab.yaml: error: cannot read the file: No such file or directory"


@given(st.text())
@settings(max_examples=500)
def test_visible_leaves_nothing_a_terminal_would_act_on(text: str) -> None:
    shown = visible(text)
    clean(shown)
    assert "\n" not in shown and "\t" not in shown
    assert visible(shown) == shown  # escaping twice changes nothing more


@given(st.text())
@settings(max_examples=500)
def test_json_safe_keeps_the_data(text: str) -> None:
    encoded = json_safe(json.dumps({"k": text}, ensure_ascii=False))
    clean(encoded)
    assert json.loads(encoded) == {"k": text}


def test_json_safe_searches_for_exactly_the_characters_it_escapes() -> None:
    # json_safe skips its translate when a scan finds nothing: the scan must see every one, and
    # only those (a neighbour of each range passes through untouched).
    from convcalc.base.text import _JSON

    for c in _JSON:
        assert json_safe(f"a{chr(c)}b") == f"a\\u{c:04x}b"
    for c in (0x7E, 0xA0, 0x2027, 0x202F, 0x2065, 0x206A, 0xFEFE, 0xFF00, 0x1F600):
        assert c not in _JSON and json_safe(f"a{chr(c)}b") == f"a{chr(c)}b"
    assert json_safe('{"a": "x"}') == '{"a": "x"}'
    assert json_safe('{"a": "\u2028\x7f\u202e"}') == '{"a": "\\u2028\\u007f\\u202e"}'
