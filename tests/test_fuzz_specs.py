"""The project's own fuzzer: every spec in specs/, mutated, through every command and format.

Grammar-aware mutation (issue 9, item 2): a spec is loaded, one to four of its values are
replaced (a number by 0, −1, 2²⁰⁰, a 5,000-digit string, a float, null, a list, a mapping or a
wrong kind; a string by Unicode, NUL or escape codes), keys are dropped or duplicated, and the
text may get a BOM, CRLF line ends, a NUL byte or invalid UTF-8.  Each mutant runs in-process
through ``show`` (every format, with and without ``--rf``), ``check`` (every format), ``solve``,
``annotate --check`` and ``export``; every run must:

* exit 0, 1 or 2, with no exception but SystemExit (no traceback);
* on exit 2, print exactly one ``path:line:col: error:`` line (or ``path: error:``) and, for
  ``show``/``solve``/``export``, nothing on standard output;
* finish within the example's deadline: a generous guard against a hang, not a measurement.

A few hundred examples per run (``CONVCALC_FUZZ_EXAMPLES`` raises it: 100000 for a long hunt).
An input that once failed is kept in tests/fuzz-regressions/ and runs every time.
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import SPEC_FILES, invoke

REGRESSIONS = sorted((Path(__file__).parent / "fuzz-regressions").glob("*"))
EXAMPLES = int(os.environ.get("CONVCALC_FUZZ_EXAMPLES", "200"))
ERROR_LINE = re.compile(r"^<stdin>(:\d+:\d+)?: error: [^\n]+\n$")
FINDING = re.compile(r"^<stdin>(:\d+:\d+)?: error: ")
GITHUB = re.compile(r"^::error file=<stdin>(,line=\d+,col=\d+)?,title=convcalc error::")
# What check finds before an invalid part: flags and failed expects, in either format
EARLIER = re.compile(r"^<stdin>:\d+:\d+: (warning|info|error): |^::(warning|notice|error) file=<stdin>,line=\d+,col=\d+")

COMMANDS: list[list[str]] = [
    *(["show", "-", "-f", f] for f in ("table", "json", "csv", "tsv", "markdown")),
    ["show", "-", "-f", "json", "--rf"],
    ["show", "-", "--rf", "--depth", "1"],
    ["show", "-", "--memory", "--depth", "1", "-f", "table"],
    ["show", "-", "--memory", "-f", "csv"],
    ["show", "-", "--train", "-f", "json"],
    ["show", "-", "--optimizer", "sgd", "--depth", "1"],
    *(["check", "-", "-f", f] for f in ("text", "json", "github")),
    ["solve", "-"],
    ["solve", "-", "-f", "json"],
    ["solve", "-", "--train", "--max-memory", "1GiB"],
    ["annotate", "--check", "-"],
    ["export", "-", "--to", "torch"],
    ["show", "-", "-f", "dot"],
    ["show", "-", "-f", "html"],
    ["show", "-", "-f", "mermaid", "--depth", "1"],
    ["draw", "-"],
    ["sweep", "-", "--sizes", "64,96"],
    ["draw", "-", "--depth", "all", "--style", "flat", "--scale", "linear"],
]

NUMBERS = st.sampled_from([0, -1, 1, 2**200, "9" * 5000, 1.5, -0.0, 1e308, float("nan"), None, [], {}, True, "conv", [3, 3, 3, 3, 3]])
TEXTS = st.sampled_from(["", "\x00", "\x1b[2J", "é\u202e", "a\nb", "$x", "${1//0}", "x" * 3000, "[1", "{a: b}", "&a", "*a"])


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the data: a mapping key or a list index, all the way down."""
    found = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            found += paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += paths(v, (*prefix, i))
    return found


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    data = load(draw(st.sampled_from(SPEC_FILES)))
    duplicate = None
    for _ in range(draw(st.integers(1, 4))):
        places = [p for p in paths(data) if p]
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent, key = get(data, place[:-1]), place[-1]
        action = draw(st.sampled_from(["value", "value", "drop", "duplicate", "text"]))
        if action == "drop":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, dict):
            duplicate = key
        elif action == "text":
            parent[key] = draw(TEXTS)
        else:
            parent[key] = copy.deepcopy(draw(NUMBERS))  # a fresh list or mapping: never one placed twice
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)
    if duplicate is not None and isinstance(duplicate, str):
        text = text.replace(f"\n{duplicate}:", f"\n{duplicate}: 1\n{duplicate}:", 1)
    raw = text.encode("utf-8")
    for change in draw(st.lists(st.sampled_from(["bom", "crlf", "nul", "latin1", "cut"]), max_size=2)):
        if change == "bom":
            raw = b"\xef\xbb\xbf" + raw
        elif change == "crlf":
            raw = raw.replace(b"\n", b"\r\n")
        elif change == "nul":
            at = draw(st.integers(0, len(raw)))
            raw = raw[:at] + b"\x00" + raw[at:]
        elif change == "latin1":
            raw = raw + b"\xe9\xff"
        else:
            raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


def run_all(spec: bytes) -> None:
    for args in COMMANDS:
        result = invoke(*args, input=spec)
        what = f"{' '.join(args)} on {spec[:300]!r}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{what}: raised {result.exception!r}") from result.exception
        assert result.exit_code in (0, 1, 2), (what, result.exit_code)
        if result.exit_code != 2:
            continue
        if args[0] == "check":  # findings on standard output: those before the invalid part, its error, the summary
            assert result.stderr == "", (what, result.stderr)
            if args[-1] == "json":
                assert json.loads(result.stdout)["exit_code"] == 2
                continue
            lines = result.stdout.splitlines()
            pattern = FINDING if args[-1] == "text" else GITHUB
            assert len(lines) >= 2 and lines[-1].startswith("checked 1 file"), (what, result.stdout)
            assert pattern.match(lines[-2]), (what, result.stdout)  # the invalid part's error, last
            assert all(EARLIER.match(line) for line in lines[:-2]), (what, result.stdout)
        else:
            assert ERROR_LINE.match(result.stderr), (what, result.stderr)
            if args[0] != "annotate":
                assert result.stdout == "", (what, result.stdout[:300])


@settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=30),  # a guard against a hang; a run takes well under a second
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
@given(mutants())
def test_mutated_specs_never_crash_or_hang(spec: bytes) -> None:
    run_all(spec)


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_inputs_the_fuzzer_once_broke_on(path: Path) -> None:
    run_all(path.read_bytes())


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_spec_runs_through_every_command(path: Path) -> None:
    run_all(path.read_bytes())
