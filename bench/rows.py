"""Large specs: 10⁵ rows for show -f json, check and solve, against 10⁴ rows.

Run: python bench/rows.py [--runs N]

Times each command in a child process (median of N runs) on a block of one conv repeated
10,000 and 100,000 times, and on flat specs of 10,000 and 100,000 written-out layers, with the
child's peak memory (ru_maxrss, each run in a process of its own).  Targets (issue 9): the
10⁵-row block ≤ 2 s and ≤ 300 MiB for each command.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

BLOCK = """input: 32x32x16
blocks:
  unit:
    layers:
      - conv: {{out: 16, kernel: 3, padding: 1}}
layers:
  - repeat: {{times: {n}, layers: [unit]}}
"""
FLAT = "input: 32x32x16\nlayers:\n{body}"
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "t = time.perf_counter() - t\n"
    "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """Median seconds and the largest peak MiB over ``runs`` runs (a fresh measuring child each)."""
    times, peaks = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, check=True)
        seconds, kib = out.stdout.split()
        times.append(float(seconds))
        peaks.append(int(kib) / 1024)
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "convcalc"]
    commands = {"show -f json": ["show", "-f", "json"], "check": ["check"], "solve": ["solve"]}
    with tempfile.TemporaryDirectory() as tmp:
        specs = {}
        for n in (10_000, 100_000):
            path = os.path.join(tmp, f"block{n}.yaml")
            with open(path, "w") as f:
                f.write(BLOCK.format(n=n))
            specs[f"block ×{n:,}"] = path
            path = os.path.join(tmp, f"flat{n}.yaml")
            with open(path, "w") as f:
                f.write(FLAT.format(body="  - conv: {out: 16, kernel: 3, padding: 1}\n" * n))
            specs[f"flat {n:,}"] = path
        print(f"median of {args.runs} runs; the largest peak memory (ru_maxrss) of any run")
        for label, command in commands.items():
            base: dict[str, float] = {}
            for spec_label, path in specs.items():
                seconds, mib = measure([*cli, *command[:1], path, *command[1:]], args.runs)
                kind = spec_label.split()[0]
                ratio = f"  {seconds / base[kind]:5.1f}× the 10⁴ spec" if kind in base else ""
                base.setdefault(kind, seconds)
                print(f"{label:14} {spec_label:16} {seconds:7.2f} s  {mib:7.1f} MiB{ratio}")


if __name__ == "__main__":
    main()
