"""Sweep benchmark: a 1,000-variant sweep of MobileNetV2 (40 widths × 25 input sizes) in one process.

Run: python bench/sweep.py [--runs N]

Prints the median wall time of `convcalc sweep specs/mobilenet_v2.yaml --vary width=0.25..2.2/0.05
--sizes 128..320/8 -f csv` (1,000 variants), and of the same sweep with --train.  Target: ≤ 5 s
for the 1,000 variants on this machine (issue 14).
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
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exe = shutil.which("convcalc")
    cli = [exe] if exe else [sys.executable, "-m", "convcalc"]
    command = [*cli, "sweep", str(ROOT / "specs" / "mobilenet_v2.yaml"), "--vary", "width=0.25..2.2/0.05",
               "--sizes", "128..320/8", "-f", "csv"]
    for label, argv in (("1,000 variants", command), ("1,000 variants, --train", [*command, "--train"])):
        times, rows = [], 0
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=True, env=ENV)
            times.append(time.perf_counter() - start)
            rows = len(done.stdout.splitlines()) - 1
        print(f"{label:26} {statistics.median(times):6.2f} s  ({rows} rows, median of {args.runs})")


if __name__ == "__main__":
    main()
