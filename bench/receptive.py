"""Receptive-field benchmark: `show --rf -f json` against `show -f json` on deep straight stacks.

Run: python bench/receptive.py [--layers 1000 10000] [--runs 3] [--timeout 120] [--input 64x64x3]

For each depth, a spec of that many 3×3 convs with padding 1 on 64×64×3 (``--input`` another: a
non-square one keeps the axes from sharing one computation; a ``repeat``, since
the loader's node budget refuses a written-out list that long) is timed with and without
``--rf``, the median of ``--runs`` runs each.  Every run happens in a small wrapper process of
its own that starts the command, waits for it and reports its wall time and
``getrusage(RUSAGE_CHILDREN).ru_maxrss``: as the wrapper has no other child, that peak resident
size is this one run's.  Prints the times, the --rf / no-rf ratio and the peak MiB.  Targets
(issue: receptive fields linear in depth): 10,000 layers with --rf in at most 2× the time
without, in at most 200 MiB.  A run that takes longer than ``--timeout`` seconds is killed and
shown as such.  CONVCALC_BENCH_CLI="python -m convcalc" (split on spaces) times another command
line, for instance an older checkout's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

STACK = """\
input: {input}
layers:
  - conv: {{out: 8, kernel: 3, padding: 1}}
  - repeat: {{times: {rest}, layers: [{{conv: {{out: 8, kernel: 3, padding: 1}}}}]}}
"""

# Runs one command with no other child, so that RUSAGE_CHILDREN's peak is that command's own.
WRAPPER = """\
import json, resource, subprocess, sys, time
start = time.perf_counter()
try:
    code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=float(sys.argv[1])).returncode
except subprocess.TimeoutExpired:
    code = None
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(json.dumps({"seconds": seconds, "kib": peak, "code": code}))
"""


def measure(argv: list[str], timeout: float) -> dict[str, float | int | None]:
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(timeout), *argv], capture_output=True, text=True, check=True
    )
    result: dict[str, float | int | None] = json.loads(done.stdout)
    return result


def median_run(argv: list[str], runs: int, timeout: float) -> tuple[float | None, float, int | None]:
    """Median seconds (None: a run timed out), the largest peak MiB, and the exit code."""
    times, peaks, code = [], [], None
    for _ in range(runs):
        got = measure(argv, timeout)
        peaks.append(float(got["kib"] or 0) / 1024)
        if got["code"] is None:
            return None, max(peaks), None
        times.append(float(got["seconds"] or 0))
        code = int(got["code"] or 0)
    return statistics.median(times), max(peaks), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--input", default="64x64x3", help="the stack's input (64x48x3: axes computed apart)")
    args = parser.parse_args()
    exe = shutil.which("convcalc")
    cli = [exe] if exe else [sys.executable, "-m", "convcalc"]
    if os.environ.get("CONVCALC_BENCH_CLI"):
        cli = os.environ["CONVCALC_BENCH_CLI"].split()
    print(f"3×3 convs, padding 1, on {args.input}; median of {args.runs} runs, each killed after {args.timeout:g} s")
    print(f"{'layers':>7}  {'show -f json':>16}  {'show --rf -f json':>18}  {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for layers in args.layers:
            spec = Path(folder) / f"stack{layers}.yaml"
            spec.write_text(STACK.format(input=args.input, rest=layers - 1))
            show = [*cli, "show", str(spec)]
            plain, plain_mib, plain_code = median_run([*show, "-f", "json"], args.runs, args.timeout)
            rf, rf_mib, rf_code = median_run([*show, "--rf", "-f", "json"], args.runs, args.timeout)
            for code in (plain_code, rf_code):
                if code not in (0, None):
                    sys.exit(f"{layers} layers: the command failed with exit code {code}")

            def cell(seconds: float | None, mib: float) -> str:
                return f"{'killed' if seconds is None else f'{seconds:.2f} s'} {mib:5.0f} MiB"

            ratio = f"{rf / plain:.2f}×" if rf is not None and plain else "-"
            print(f"{layers:>7,}  {cell(plain, plain_mib):>16}  {cell(rf, rf_mib):>18}  {ratio:>6}", flush=True)
    print("target: 10,000 layers with --rf ≤ 2× the time without, ≤ 200 MiB")


if __name__ == "__main__":
    main()
