"""Start-up benchmark: convcalc's run time as a multiple of `python -c pass`.

Run: python bench/startup.py [SPEC] [--runs N]

Prints the median wall time of each command over N runs and its ratio to a bare interpreter
start in the same environment.  Targets (issue #2): json ≤ 4×, terminal table ≤ 8×.  The table
is timed with --color always so that rich renders exactly as on a terminal.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_ms(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet50.yaml"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    exe = shutil.which("convcalc")
    cli = [exe] if exe else [sys.executable, "-m", "convcalc"]
    base = median_ms([sys.executable, "-c", "pass"], args.runs)
    cases = {
        "python -c pass": None,
        "show --format json": [*cli, "show", args.spec, "--format", "json"],
        "show --format csv": [*cli, "show", args.spec, "--format", "csv"],
        "check": [*cli, "check", args.spec],
        "show (table)": [*cli, "show", args.spec, "--color", "always"],
        "show --rf --format json": [*cli, "show", args.spec, "--rf", "--format", "json"],
        "solve": [*cli, "solve", args.spec],
    }
    print(f"spec: {args.spec}; median of {args.runs} runs")
    for label, argv in cases.items():
        ms = base if argv is None else median_ms(argv, args.runs)
        print(f"{label:24} {ms:7.1f} ms  {ms / base:5.2f}×")


if __name__ == "__main__":
    main()
