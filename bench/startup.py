"""Start-up benchmark: convcalc's run time as a multiple of `python -c pass`.

Run: python bench/startup.py [SPEC] [--runs N]

Prints the median wall time of each command over N runs, its ratio to a bare interpreter start
and its ratio to importing convcalc's two start-up dependencies (`python -c "import yaml,
click"`), which machines differ less on.  Targets: `show -f json` ≤ 1.3× and the table ≤ 2× of
that import, `--version` and `--help` ≤ 1.1×.  The table is timed with --color always so that
rich renders exactly as on a terminal.  CONVCALC_BENCH_CLI="python -m convcalc" (split on
spaces) times another command line, for instance an older checkout's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# As a user runs it: bytecode cached (a session may set PYTHONDONTWRITEBYTECODE, which would
# make every run compile every module), and one warm-up run first to write the caches.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_ms(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return (time.perf_counter() - start) * 1000


def medians(cases: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Each case's median over `runs` rounds; a round runs every case once, so that a machine
    growing slower or faster during the benchmark moves every case alike, not the last ones."""
    for argv in cases.values():
        time_ms(argv)  # warm-up: bytecode caches written, files in the page cache
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(runs):
        for label, argv in cases.items():
            times[label].append(time_ms(argv))
    return {label: statistics.median(t) for label, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet50.yaml"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    exe = shutil.which("convcalc")
    cli = [exe] if exe else [sys.executable, "-m", "convcalc"]
    if os.environ.get("CONVCALC_BENCH_CLI"):
        cli = os.environ["CONVCALC_BENCH_CLI"].split()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import yaml, click": [sys.executable, "-c", "import yaml, click"],
        "--version": [*cli, "--version"],
        "--help": [*cli, "--help"],
        "show -f json": [*cli, "show", args.spec, "-f", "json"],
        "show --format csv": [*cli, "show", args.spec, "--format", "csv"],
        "check": [*cli, "check", args.spec],
        "show (table)": [*cli, "show", args.spec, "--color", "always"],
        "show --rf -f json": [*cli, "show", args.spec, "--rf", "-f", "json"],
        "solve": [*cli, "solve", args.spec],
    }
    ms_of = medians(cases, args.runs)
    base, deps = ms_of["python -c pass"], ms_of["import yaml, click"]
    print(f"spec: {args.spec}; median of {args.runs} interleaved runs")
    print(f"{'':24} {'time':>10}  {'÷ pass':>6}  {'÷ yaml+click':>12}")
    for label, ms in ms_of.items():
        print(f"{label:24} {ms:7.1f} ms  {ms / base:5.2f}×  {ms / deps:11.2f}×")


if __name__ == "__main__":
    main()
