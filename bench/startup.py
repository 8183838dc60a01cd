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


def median_ms(argv: list[str], runs: int) -> float:
    times = []
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet50.yaml"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    exe = shutil.which("convcalc")
    cli = [exe] if exe else [sys.executable, "-m", "convcalc"]
    if os.environ.get("CONVCALC_BENCH_CLI"):
        cli = os.environ["CONVCALC_BENCH_CLI"].split()
    base = median_ms([sys.executable, "-c", "pass"], args.runs)
    deps = median_ms([sys.executable, "-c", "import yaml, click"], args.runs)
    cases = {
        "python -c pass": None,
        "import yaml, click": [sys.executable, "-c", "import yaml, click"],
        "--version": [*cli, "--version"],
        "--help": [*cli, "--help"],
        "show --format json": [*cli, "show", args.spec, "--format", "json"],
        "show --format csv": [*cli, "show", args.spec, "--format", "csv"],
        "check": [*cli, "check", args.spec],
        "show (table)": [*cli, "show", args.spec, "--color", "always"],
        "show --rf --format json": [*cli, "show", args.spec, "--rf", "--format", "json"],
        "solve": [*cli, "solve", args.spec],
    }
    print(f"spec: {args.spec}; median of {args.runs} runs")
    print(f"{'':24} {'time':>10}  {'÷ pass':>6}  {'÷ yaml+click':>12}")
    for label, argv in cases.items():
        ms = base if argv is None else deps if label == "import yaml, click" else median_ms(argv, args.runs)
        print(f"{label:24} {ms:7.1f} ms  {ms / base:5.2f}×  {ms / deps:11.2f}×")


if __name__ == "__main__":
    main()
