"""Fuzzing the command line: random YAML and mutated valid specs through ``check`` and ``show``.

Whatever the input, the CLI must never raise (a Python exception other than SystemExit is a
traceback for the user), must exit 0, 1 or 2, and ``show`` must keep its streams apart: on
exit 2 nothing on standard output and exactly one ``path:line:col: error: message`` line on
standard error.  ``check`` and ``show`` must also agree with each other: a spec is invalid for
both or for neither, and ``check`` exits 1 exactly when ``show``'s JSON has an unaccepted
warning flag or a failed expect.

The table (``show`` without ``--format``) must fail exactly as the JSON does.

Messages that quote a user string (a key, a kind, an option, a ``with`` target, a tag) holding a
newline or an escape code stay on one line: the tests at the end of this file pin that.

Bugs this fuzz found and the package has since fixed (now regression tests in test_cli.py):
``dtype: []`` raised TypeError; a spec name such as ``[/x]`` crashed the table (rich markup).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from helpers import invoke, streams

EXAMPLES = int(os.environ.get("CONVCALC_FUZZ_EXAMPLES", "300"))  # raise it locally to hunt longer
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)

ERROR_LINE = re.compile(r"^[^:]+(:\d+:\d+)?: error: .+$")
FINDING_LINE = re.compile(r"^[^:]+(:\d+:\d+)?: (error|warning|info): .+$")

# --- vocabulary -----------------------------------------------------------------------------

KIND_NAMES = [
    "conv",
    "deconv",
    "conv_transpose",
    "transpose",
    "pool",
    "maxpool",
    "avgpool",
    "global_pool",
    "adaptive_pool",
    "upsample",
    "grouped",
    "separable",
    "spatial_separable",
    "depthwise",
    "pointwise",
    "dense",
    "linear",
    "fc",
    "flatten",
    "batchnorm",
    "bn",
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
    "residual",
    "concat",
    "add",
    "repeat",
    "cnov",
    "Conv",
    "conv2d",
    "layer",
]
OPTION_NAMES = [
    "out",
    "filters",
    "out_channels",
    "units",
    "kernel",
    "kernel_size",
    "stride",
    "strides",
    "padding",
    "dilation",
    "dilation_rate",
    "output_padding",
    "groups",
    "bias",
    "use_bias",
    "bn",
    "act",
    "mode",
    "ceil_mode",
    "out_size",
    "scale",
    "size",
    "multiplier",
    "depthwise_bias",
    "pointwise_bias",
    "depthwise_bn",
    "depthwise_act",
    "rate",
    "to",
    "factor",
    "name",
    "expect",
    "allow_inexact",
    "with",
    "fit",
    "through",
    "branches",
    "body",
    "shortcut",
    "times",
    "layers",
    "args",
    "kernal",
    "stirde",
]
TOP_KEYS = [
    "convcalc",
    "name",
    "description",
    "input",
    "dtype",
    "batch",
    "blocks",
    "layers",
    "expect",
    "layer",
    "inputs",
    "output",
    "params",
    "params_max",
    "macs_max",
    "flops_max",
    "macs",
]
WORDS = [
    "same",
    "valid",
    "max",
    "avg",
    "nearest",
    "bilinear",
    "crop",
    "pad",
    "true",
    "false",
    "null",
    "~",
    "yes",
    "no",
    "float32",
    "int8",
    "float128",
    "relu",
    "stem",
    "enc1",
    "$mid",
    "$out",
    "${mid * 2}",
    "${mid / 2}",
    "${__import__('os')}",
    "28x28x1",
    "224x224x3",
    "100x16",
    "16x112x112x3",
    "0x0",
    "1x1x1",
    "x",
    "25.6M",
    "1e3",
    "1.5",
    ".nan",
    ".inf",
    "-.inf",
    "0",
    "-1",
    "999999999999999999999999",
    "0.0",
    "1_000",
    "0x1F",
    "!!python/object/apply:os.system",
    "!!binary",
    "!shape",
    "*a",
    "&a",
    "<<",
    "?",
    "|",
    ">",
    "-",
    ":",
    "#",
    "'",
    '"',
    "[",
    "]",
    "{",
    "}",
    ",",
    "@",
    "`",
    "%YAML 1.1",
    "---",
    "...",
    "[/x]",
    "[bold]b[/bold]",
    "a|b",
    "a,b",
    "line\tbreak",
]
NUMBERS = [
    "0",
    "-1",
    "-0",
    "1",
    "2",
    "3",
    "7",
    "1.4",
    "0.5",
    "1e400",
    "10000000000000000000000000000000",
    "2147483648",
    "18446744073709551617",
    '"3"',
    "three",
    "[]",
    "{}",
    "[0]",
    "[3, -1]",
    "[[0, 1], [0, 1]]",
    "null",
    "true",
    ".nan",
]

# Text without control characters (see the module docstring) and without backslashes, so YAML
# escapes such as "\n" cannot be spelt either.
SAFE_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\\\x85")
safe_text = st.text(SAFE_CHARS, max_size=12)

# --- base specs (inline, so that the fuzz does not depend on files that change) -------------

CONVNET = """\
convcalc: 1
name: ConvNet
input: 28x28x1
dtype: float32
batch: 1
layers:
  - conv: {out: 10, kernel: 5, expect: 24x24x10}
  - pool: {kernel: 2}
  - conv: {out: 20, kernel: 3, name: conv2}
  - flatten
  - dense: {out: 500}
  - relu
  - dense: {out: 10}
expect:
  output: 10
  params: 1007590
"""

BLOCKS = """\
name: blocks
input: 64x64x3
blocks:
  bottleneck:
    args: {mid: 16, out: 64, stride: 1}
    layers:
      - residual:
          body:
            - conv: {out: $mid, kernel: 1, bias: false, bn: true, act: relu}
            - conv: {out: $mid, kernel: 3, stride: $stride, padding: 1, bias: false, bn: true, act: relu}
            - conv: {out: $out, kernel: 1, bias: false, bn: true}
          shortcut:
            - conv: {out: $out, kernel: 1, stride: $stride, bias: false, bn: true}
      - relu
layers:
  - conv: {out: 32, kernel: 7, stride: 2, padding: 3, name: stem}
  - maxpool: {kernel: 3, stride: 2, padding: 1}
  - repeat: {times: 2, layers: [{bottleneck: {mid: 16, out: 64}}]}
  - bottleneck: {mid: 32, out: 128, stride: 2, name: down}
  - concat:
      - [{conv: {out: 16, kernel: 1}}]
      - [{conv: {out: 8, kernel: 1}}, {conv: {out: 16, kernel: 3, padding: 1}}]
      - []
  - conv: {out: 32, kernel: "${4 * 8}", padding: same}
  - upsample: {scale: 2}
  - concat: {with: stem, fit: crop}
  - add: {with: stem, fit: crop, through: [{conv: {out: 64, kernel: 1}}]}
  - global_pool
  - flatten
  - dense: {units: 10}
expect:
  output: 10
"""

MIXED = """\
name: mixed
input: 45x45x16
layers:
  - separable: {out: 32, kernel: 3, padding: 1, depthwise_act: relu, bn: true}
  - depthwise: {kernel: 3, stride: 2, multiplier: 2}
  - pointwise: {out: 16}
  - spatial_separable: {out: 16, kernel: 3, padding: 1}
  - grouped: {out: 16, kernel: 3, groups: 4, padding: [1, 1]}
  - deconv: {out: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - pad: {padding: [[0, 1], [0, 1]]}
  - crop: {to: [40, 40]}
  - adaptive_pool: {out_size: 7}
  - pixel_shuffle: {factor: 2}
  - batchnorm
  - leaky_relu
  - dropout: {rate: 0.2}
  - avgpool: {kernel: 2, ceil_mode: true, allow_inexact: true}
  - upsample: {scale: 1.4, mode: bilinear}
"""

ONE_D = """\
input: 5000x1
layers:
  - conv: {out: 32, kernel: 15, stride: 2, padding: same, bias: false, bn: true, act: relu}
  - maxpool: {kernel: 2}
  - conv: {out: 64, kernel: 9, stride: 2, padding: same}
  - global_pool: {mode: avg}
  - flatten
  - dense: {out: 5}
expect: {output: 5, params_max: 1M, macs_max: "25.6M"}
"""

THREE_D = """\
input: 16x32x32x3
layers:
  - conv: {out: 8, kernel: 3, padding: 1, act: relu}
  - pool: {kernel: [1, 2, 2]}
  - conv: {out: 8, kernel: [3, 1, 1], dilation: [1, 2, 2]}
  - pool: {kernel: 2, padding: [0, 1, 1]}
"""

BASES = [CONVNET, BLOCKS, MIXED, ONE_D, THREE_D]


def test_bases_are_valid() -> None:
    for base in BASES:
        result = invoke("check", "-", input=base)
        assert result.exit_code in (0, 1), streams(result)


# --- running and checking -------------------------------------------------------------------


def compose(text: str | bytes) -> list[yaml.Node]:
    """The YAML node trees (no construction, so no tags run and no aliases expand); [] when it does not parse."""
    try:
        return [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except (yaml.YAMLError, RecursionError, ValueError):
        return []


def check_cli(text: str | bytes) -> None:
    """Run ``check``, ``show`` as JSON, table, DOT and Mermaid on one document and check every invariant."""
    check = invoke("check", "-", input=text)
    assert check.exception is None or isinstance(check.exception, SystemExit), streams(check)
    assert check.exit_code in (0, 1, 2), streams(check)
    assert check.stderr == "", "check prints everything on stdout\n" + streams(check)
    lines = check.stdout.splitlines()
    assert lines and lines[-1].startswith("checked 1 file: "), streams(check)
    assert all(FINDING_LINE.match(line) for line in lines[:-1]), streams(check)
    assert (check.exit_code == 0) == (len(lines) == 1), streams(check)

    show = invoke("show", "-", "--format", "json", input=text)
    event(f"check exits {check.exit_code}, show exits {show.exit_code}")
    assert show.exception is None or isinstance(show.exception, SystemExit), streams(show)
    assert show.exit_code in (0, 2), "show exits 1 only with --strict\n" + streams(show)
    if show.exit_code == 2:
        assert show.stdout == "", "an invalid spec prints nothing on stdout\n" + streams(show)
        assert show.stderr.endswith("\n"), streams(show)
        err = show.stderr.splitlines()
        assert len(err) == 1 and ERROR_LINE.match(err[0]), streams(show)
        assert check.exit_code == 2, "show and check disagree on validity\n" + streams(show) + streams(check)
    else:
        assert show.stderr == "", streams(show)
        doc = json.loads(show.stdout)
        assert doc["schema_version"] == 1
        failing = any(f["severity"] == "warning" and not f["accepted"] for f in doc["flags"])
        failing = failing or not doc["expect"]["ok"]
        assert check.exit_code == (1 if failing else 0), (
            "check's exit code does not follow show's flags and expects\n" + streams(show) + streams(check)
        )
        total = doc["total"]
        assert total["flops"] == 2 * total["macs"] and total["params"] == sum(r["params"] for r in doc["layers"])

    # The terminal table (piped, so without colour) succeeds and fails exactly as the JSON does.
    table = invoke("show", "-", input=text)
    assert table.exception is None or isinstance(table.exception, SystemExit), streams(table)
    assert table.exit_code == show.exit_code, streams(table) + streams(show)
    assert table.stderr == show.stderr, streams(table) + streams(show)
    if table.exit_code == 0:
        assert table.stdout.strip() and "\x1b[" not in table.stdout, streams(table)

    # The diagrams too, and they write no control character whatever the spec's text.
    for fmt in ("dot", "mermaid", "html"):
        drawn = invoke("show", "-", "--format", fmt, input=text)
        assert drawn.exit_code == show.exit_code and drawn.stderr == show.stderr, streams(drawn) + streams(show)
        assert not any(ord(c) < 32 and c != "\n" or c == "\x7f" for c in drawn.stdout), streams(drawn)


# --- strategy 1: random YAML documents -------------------------------------------------------

scalars = st.one_of(
    st.integers(min_value=-3, max_value=300),
    st.sampled_from([0, -1, 10**30, 2**63, 1.4, 0.5, float("inf"), float("nan"), True, False, None]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS + KIND_NAMES),
    safe_text,
)
keys = st.one_of(st.sampled_from(TOP_KEYS + OPTION_NAMES + KIND_NAMES), safe_text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
layer = st.one_of(
    st.sampled_from(KIND_NAMES),
    st.builds(
        lambda k, opts: {k: opts},
        st.sampled_from(KIND_NAMES),
        st.one_of(st.dictionaries(st.sampled_from(OPTION_NAMES), values, max_size=6), values),
    ),
    values,
)
spec_like = st.fixed_dictionaries(
    {},
    optional={
        "convcalc": st.one_of(st.just(1), scalars),
        "name": st.one_of(scalars, st.sampled_from(["[/x]", "[bold]Net[/bold]", "a [red]b"])),
        "description": st.one_of(scalars, st.sampled_from(["[/x]", "uses [link=x]y"])),
        "input": st.one_of(
            st.sampled_from(["28x28x1", "32x32x3", "100x16", "8x8x8x2", "0x1", "10"]),
            st.lists(st.integers(-2, 64), max_size=5),
            scalars,
        ),
        "dtype": st.one_of(st.sampled_from(["float32", "int8", "float16"]), scalars, values),
        "batch": scalars,
        "layers": st.one_of(st.lists(layer, max_size=8), values),
        "expect": values,
        "blocks": values,
    },
).flatmap(lambda d: st.dictionaries(keys, values, max_size=2).map(lambda extra: {**extra, **d}))


# Plausible specs: real kinds with options in sensible ranges, so that many documents are valid
# and the evaluation paths (flags, impossible shapes, joins) are exercised, not only the parser.
small = st.integers(1, 5)
size = st.one_of(small, small, st.lists(small, min_size=2, max_size=2))
PLAUSIBLE_OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "out": st.sampled_from([1, 4, 8, 16, 64]),
    "kernel": size,
    "stride": st.one_of(st.integers(1, 3), size),
    "padding": st.one_of(st.integers(0, 1), st.sampled_from(["same", "valid", [[0, 1], [0, 1]], [1, 0]])),
    "dilation": st.integers(1, 3),
    "groups": st.sampled_from([1, 1, 2, 4]),
    "bias": st.booleans(),
    "bn": st.booleans(),
    "act": st.sampled_from(["relu", "gelu", None]),
    "output_padding": st.integers(0, 2),
    "mode": st.sampled_from(["max", "avg", "nearest", "bilinear"]),
    "ceil_mode": st.booleans(),
    "scale": st.sampled_from([2, 1.4, 1.5, 0.5, 3]),
    "size": st.integers(1, 64),
    "out_size": st.integers(1, 8),
    "multiplier": st.integers(1, 3),
    "rate": st.sampled_from([0, 0.5]),
    "to": st.integers(1, 16),
    "factor": st.integers(1, 2),
    "allow_inexact": st.booleans(),
    "expect": st.sampled_from(["8x8x8", 10, [4, 4, 4]]),
}
PLAUSIBLE_KINDS = [
    "conv",
    "deconv",
    "pool",
    "maxpool",
    "avgpool",
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
    "bn",
    "relu",
    "dropout",
    "pad",
    "crop",
    "pixel_shuffle",
]


def options_of(kind: str) -> list[str]:
    """The options a kind takes (from the package's registry), or every plausible option."""
    try:
        from convcalc.model.kinds import SPELLINGS

        names = {o.name for o in SPELLINGS[kind][0].options} | {"name", "expect", "allow_inexact"}
    except (ImportError, KeyError, AttributeError, TypeError):  # the registry's shape is not part of the contract
        names = set(PLAUSIBLE_OPTIONS)
    return sorted(names & set(PLAUSIBLE_OPTIONS))


@st.composite
def plausible_layer(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(PLAUSIBLE_KINDS))
    valid = options_of(kind)
    required = [n for n in ("out", "kernel", "factor", "to", "out_size") if n in valid]
    names = draw(st.lists(st.sampled_from(valid or sorted(PLAUSIBLE_OPTIONS)), max_size=3, unique=True))
    if draw(st.integers(0, 9)) == 0:  # now and then an option the kind does not take
        names.append(draw(st.sampled_from(sorted(PLAUSIBLE_OPTIONS))))
    if kind == "upsample":
        required = [draw(st.sampled_from(["scale", "size"]))]
    options: dict[str, Any] = {n: draw(PLAUSIBLE_OPTIONS[n]) for n in dict.fromkeys(required + names)}
    if kind == "upsample" and "scale" in options and "size" in options:
        del options["size"]
    bare = not options and draw(st.booleans())
    return kind if bare else {kind: options}


plausible_specs = st.fixed_dictionaries(
    {
        "input": st.sampled_from(["32x32x3", "13x13x8", "28x28x1", "45x45x4", "100x16", "8x16x16x2", "7x7x64", 64]),
        "layers": st.lists(plausible_layer(), min_size=1, max_size=6),
    },
    optional={"batch": st.integers(1, 4), "expect": st.sampled_from([{"output": 10}, {"params_max": "1M"}])},
)


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    data = draw(st.one_of(plausible_specs, spec_like, values))
    flow = draw(st.sampled_from([None, True, False]))
    return str(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=draw(st.booleans()), sort_keys=False))


raw_text = st.lists(
    st.sampled_from(list("abcxyz019 -:,[]{}'\"#&*!|>?%@`\t\n") + ["conv", "input", "layers", "  - "]), max_size=80
).map("".join)


@SETTINGS
@given(st.one_of(yaml_documents(), raw_text, st.binary(max_size=60)))
@example("")
@example(b"\xff\xfe")
@example("input: 28x28x1\nlayers: []\n")
@example("input: 28x28x1\nlayers:\n  - relu: 5\n")
@example("- - - -")
@example("input: [28, 28, 1]\nlayers: [{conv: {out: 1e400, kernel: 3}}]\n")
def test_random_yaml(text: str | bytes) -> None:
    check_cli(text)


# --- strategy 2: mutated valid specs ----------------------------------------------------------

TOKEN = re.compile(r"[A-Za-z_$][\w$.{}*/ ]*?(?=[:,}\]\s]|$)|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
random_token = st.one_of(st.sampled_from(KIND_NAMES + OPTION_NAMES + TOP_KEYS + WORDS + NUMBERS), safe_text)


@st.composite
def mutation(draw: st.DrawFn, lines: list[str]) -> list[str]:
    lines = list(lines)
    if not lines:
        return [draw(random_token)]
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(
        st.sampled_from(
            ["delete", "duplicate", "swap", "token", "number", "tab", "bracket", "indent", "kind", "option", "insert"]
        )
    )
    line = lines[i]
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, line)
    elif op == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], line
    elif op == "token":
        spans = [m.span() for m in TOKEN.finditer(line)]
        if spans:
            a, b = draw(st.sampled_from(spans))
            lines[i] = line[:a] + draw(random_token) + line[b:]
    elif op == "number":
        spans = [m.span() for m in NUMBER.finditer(line)]
        if spans:
            a, b = draw(st.sampled_from(spans))
            lines[i] = line[:a] + draw(st.sampled_from(NUMBERS)) + line[b:]
    elif op == "tab":
        at = draw(st.integers(0, len(line)))
        lines[i] = line[:at] + "\t" + line[at:]
    elif op == "bracket":
        at = draw(st.integers(0, len(line)))
        lines[i] = (
            line[:at]
            + draw(
                st.sampled_from(
                    ["[", "]", "{", "}", '"', "'", ",", ":", "- ", "&a ", "*a", "!!python/name:os.system ", "? "]
                )
            )
            + line[at:]
        )
    elif op == "indent":
        if draw(st.booleans()):
            lines[i] = " " * draw(st.integers(1, 3)) + line
        else:
            lines[i] = line[draw(st.integers(1, 3)) :] if line.startswith(" ") else line
    elif op == "kind":
        lines[i] = re.sub(r"^(\s*- )\w+", lambda m: m.group(1) + draw(st.sampled_from(KIND_NAMES)), line)
    elif op == "option":
        lines[i] = re.sub(r"\b\w+(?=: )", lambda m: draw(st.sampled_from(OPTION_NAMES)), line, count=1)
    elif op == "insert":
        lines.insert(
            i,
            draw(
                st.sampled_from(
                    [
                        "  - conv: {out: 4, kernel: 3}",
                        "  - flatten",
                        "  - dense: {out: 3}",
                        "layers: []",
                        "input: 8x8x1",
                        "  - add: {with: nowhere}",
                        "  - concat: {with: stem}",
                        "a: &a [1, 2]",
                        "b: [*a, *a, *a]",
                        "---",
                        "  - upsample: {scale: 1.4}",
                        "  - pool: {kernel: 2}",
                        "expect: {params: 1}",
                        "  - residual: {body: []}",
                    ]
                )
            ),
        )
    return lines


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(BASES)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        lines = draw(mutation(lines))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@SETTINGS
@given(mutated_specs())
def test_mutated_specs(text: str) -> None:
    check_cli(text)


# --- the known bug, pinned ------------------------------------------------------------------

CONTROL_CHARACTER_SPECS = {
    "top-level key": 'input: 28x28x1\n"lay\\ners": []\n',
    "kind": 'input: 28x28x1\nlayers:\n  - "co\\nnv": {out: 3}\n',
    "option": 'input: 28x28x1\nlayers:\n  - conv: {out: 4, kernel: 3, "ker\\nnal": 3}\n',
    "with target": 'input: 28x28x1\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - add: {with: "a\\nb"}\n',
    "tag": "input: 28x28x1\nlayers: !%0a [relu]\n",
    "block argument": (
        "blocks:\n  b:\n    args: {n: 1}\n    layers: [{conv: {out: 1, kernel: 1}}]\n"
        'input: 28x28x1\nlayers:\n  - b: {"m\\nx": 2}\n'
    ),
}


@pytest.mark.parametrize("text", list(CONTROL_CHARACTER_SPECS.values()), ids=list(CONTROL_CHARACTER_SPECS))
def test_control_characters_in_names_keep_errors_on_one_line(text: str) -> None:
    show = invoke("show", "-", input=text)
    assert show.exit_code == 2 and show.stdout == "", streams(show)
    assert len(show.stderr.splitlines()) == 1, streams(show)
    check = invoke("check", "-", input=text)
    assert len(check.stdout.splitlines()) == 2, streams(check)  # one finding, one summary


def test_control_characters_do_not_reach_the_terminal() -> None:
    text = 'input: 28x28x1\nlayers:\n  - "re\\e[31mlu"\n'
    # color=True: click does not strip ANSI codes, as on a terminal
    show = invoke("show", "-", input=text, color=True)
    assert show.exit_code == 2, streams(show)
    assert "\x1b" not in show.stderr, streams(show)


def test_escaped_values_stay_on_one_line() -> None:
    # Option *values* are shown with repr(): the newline stays escaped.
    text = 'input: 28x28x1\nlayers:\n  - conv: {out: 4, kernel: 3, act: "re\\nlu"}\n'
    show = invoke("show", "-", input=text)
    assert show.exit_code == 2 and len(show.stderr.splitlines()) == 1, streams(show)
