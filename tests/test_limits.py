"""Hostile specs are refused with one located line that names the limit, in bounded work.

Issue 9, items 1 and 3.  Every case here once ran for minutes, ate gigabytes or ended in a
traceback.  Each now gives exit 2 and one ``path:line:col: error:`` (or ``path: error:``) line
whose words name the limit it hit.  The assertions are on those deterministic refusals; the
process limits (60 s of CPU, 2 GiB of address space) are only a guard against a hang, never
the thing measured (bench/ measures time).
"""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from convcalc.outputs.humanize import count, data_size, scientific

from helpers import ROOT

CPU_SECONDS = 60
MEMORY = 2 * 1024**3


def guard() -> None:  # runs in the child before convcalc starts
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def convcalc(*args: str, input: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    data = input.encode() if isinstance(input, str) else input
    proc = subprocess.run(
        [sys.executable, "-m", "convcalc", *args],
        input=data,
        capture_output=True,
        cwd=ROOT,
        preexec_fn=guard,
        timeout=CPU_SECONDS * 2,
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def refused(spec: str | bytes, *words: str, command: tuple[str, ...] = ("show",)) -> str:
    """Run ``command`` on the spec (standard input); assert exit 2 and one error line naming ``words``."""
    proc = convcalc(*command, "-", "-f", "json", input=spec) if command == ("show",) else convcalc(*command, "-", input=spec)
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("<stdin>"), proc.stderr[-2000:]
    assert ": error: " in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr
    assert len(proc.stderr) < 1200
    return proc.stderr


def test_string_interpolation_cannot_grow_exponentially() -> None:
    blocks = "".join(
        f"  b{i}:\n    args: {{x: a}}\n    layers:\n      - b{i + 1}: {{x: \"$x$x$x$x$x$x$x$x$x$x\"}}\n" for i in range(12)
    )
    spec = f"input: 8x8x3\nblocks:\n{blocks}  b12:\n    args: {{x: a}}\n    layers: [relu]\nlayers:\n  - b0: {{}}\n"
    refused(spec, "longer than 1000 characters")


def test_empty_repeats_cost_their_iterations() -> None:
    spec = "input: 8x8x3\nlayers:\n  - repeat: {times: 1000000, layers: [{repeat: {times: 1000000, layers: []}}]}\n"
    refused(spec, "1,000,000 steps")


def test_block_calls_that_add_nothing_cost_their_calls() -> None:
    blocks = "".join(f"  b{i}:\n    layers: [{{b{i + 1}: {{}}}}, {{b{i + 1}: {{}}}}]\n" for i in range(40))
    spec = f"input: 8x8x3\nblocks:\n{blocks}  b40:\n    layers: []\nlayers:\n  - b0: {{}}\n"
    proc = convcalc("check", "-", input=spec)  # check writes its findings on standard output
    assert proc.returncode == 2 and proc.stderr == ""
    assert proc.stdout.splitlines()[0].startswith("<stdin>:") and "1,000,000 steps" in proc.stdout


def test_a_million_rows_are_refused_at_the_row_limit() -> None:
    refused("input: 8x8x3\nlayers:\n  - repeat: {times: 1000000, layers: [relu]}\n", "200,000 layers")


def test_an_endless_input_is_read_only_up_to_the_limit() -> None:
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run(
            [sys.executable, "-m", "convcalc", "show", "-"], stdin=zero, capture_output=True, preexec_fn=guard, timeout=120
        )
    assert proc.returncode == 2
    assert proc.stderr.decode() == "<stdin>:1:1: error: spec is larger than 10 MiB (more than 10,485,760 bytes; convcalc's limit)\n"
    devzero = convcalc("check", "/dev/zero")
    assert devzero.returncode == 2 and "larger than 10 MiB" in devzero.stdout


@pytest.mark.parametrize("value", ["1e999999999", "1e-999999999", "1E100M"])
def test_huge_exponents_in_expect_are_refused(value: str) -> None:
    refused(f"input: 8x8x3\nlayers: [relu]\nexpect: {{params_max: {value}}}\n", "an exponent of at most two")


def test_a_5000_digit_count_in_expect_is_refused() -> None:  # found by tests/test_fuzz_specs.py
    refused(f"input: 8x8x3\nlayers: [relu]\nexpect: {{params: '{'9' * 5000}'}}\n", "at most 60 digits")


def test_an_alias_of_a_long_scalar_costs_its_length() -> None:
    text = "x" * 1_000_000
    names = ", ".join(["*n"] * 200)
    spec = f"input: 8x8x3\nnames: [&n {text}, {names}]\nlayers: [relu]\n"
    refused(spec, "alias expansion too large")


@pytest.mark.parametrize(
    ("layer", "words"),
    [
        ("conv: {out: 1000000000000000000000, kernel: 3}", ("conv out is larger than 2^63 − 1",)),
        ("dense: {out: 10000000000000000000000}", ("larger than 2^63 − 1",)),
        ("upsample: {scale: 1.0e+300}", ("larger than 2^63 − 1",)),
        ("pad: {padding: 100000000000000000000}", ("larger than 2^63 − 1",)),
        ("deconv: {out: 3, kernel: 3, stride: 9223372036854775807}", ("output", "larger than 2^63 − 1")),
    ],
)
def test_numbers_beyond_the_limit_are_refused(layer: str, words: tuple[str, ...]) -> None:
    refused(f"input: 10x10x3\nlayers:\n  - {layer}\n", *words)


def test_a_5000_digit_size_is_refused() -> None:
    refused(f"input: {'9' * 5000}x8x3\nlayers: [relu]\n", "number too long")
    refused(f"input: '{'9' * 5000}x8x3'\nlayers: [relu]\n", "larger than 2^63 − 1")


def test_expression_results_are_bounded() -> None:
    spec = (
        "input: 8x8x3\nblocks:\n  b:\n    args: {w: 3000000000}\n"
        '    layers: [{conv: {out: "${w * w * w}", kernel: 1}}]\nlayers:\n  - b: {}\n'
    )
    refused(spec, "larger than 2^63 − 1")


def test_solve_refuses_a_huge_stride_before_building_its_classes() -> None:
    refused("input: 32x32x3\nlayers:\n  - conv: {out: 4, kernel: 1, stride: 10000000}\n", "200,000 residue classes", command=("solve",))


def test_the_largest_figures_print_in_every_format() -> None:
    big = 2**63 - 1
    spec = f"input: 4x4x3\nlayers:\n  - conv: {{out: {big}, kernel: 3, padding: 1}}\n  - conv: {{out: {big}, kernel: 3, padding: 1}}\n"
    for fmt in ("table", "json", "csv", "markdown"):
        proc = convcalc("show", "-", "-f", fmt, input=spec)
        assert proc.returncode == 0, (fmt, proc.stderr)
    macs = 4 * 4 * big * big * 9  # the second conv: out elements · in channels · k²
    assert str(macs) in convcalc("show", "-", "-f", "json", input=spec).stdout
    assert scientific(macs) in convcalc("show", "-", input=spec).stdout


@pytest.mark.parametrize(
    ("n", "text"),
    [(10**300 * 7, "7.00e+300"), (999_500_000_000_000, "1.00e+15"), (123_456_789_012_345_678_901, "1.23e+20"), (-(10**30), "-1.00e+30")],
)
def test_huge_counts_are_scientific(n: int, text: str) -> None:
    assert count(n) == text


def test_huge_byte_counts_are_scientific() -> None:
    assert data_size(10**400) == "1.00e+400 B"
    assert data_size(3 * 1024**4) == "3 TiB"


def test_byte_counts_just_under_a_unit_print_whole() -> None:
    # 1,099,511,614,240 B is 1023.99998 GiB: three significant digits would print 1.02e+03 GiB
    assert data_size(1_099_511_614_240) == "1024 GiB"
    assert data_size(999 * 2**20) == "999 MiB"
    assert data_size(1000 * 2**10) == "1000 KiB"
