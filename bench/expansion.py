"""Expansion benchmark: evaluation time of a block repeated many times, in-process.

Run: python bench/expansion.py [--times N]

Issue #3 asks that a block repeated 10,000 times evaluates in well under a second; this prints
the load, parse and evaluate time and the number of rows for a residual block of four rows, and
for comparison a straight stack of 8,000 layers written out.
"""

from __future__ import annotations

import argparse
import time

from convcalc.engine.evaluate import evaluate
from convcalc.spec.parser import load_spec

BLOCK = """
input: 16x16x32
blocks:
  unit:
    args: {{width: 32}}
    layers:
      - residual:
          body:
            - conv: {{out: $width, kernel: 3, padding: 1, bias: false, bn: true, act: relu}}
            - conv: {{out: $width, kernel: 3, padding: 1, bias: false, bn: true}}
      - relu
layers:
  - repeat: {{times: {times}, layers: [unit]}}
"""


def timed(text: str) -> tuple[float, int]:
    start = time.perf_counter()
    report = evaluate(load_spec(text))
    return (time.perf_counter() - start) * 1000, len(report.rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=10_000)
    args = parser.parse_args()
    ms, rows = timed(BLOCK.format(times=args.times))
    print(f"block repeated {args.times:,} times: {rows:,} rows in {ms:.0f} ms ({1000 * ms / rows:.1f} µs a row)")
    # a straight stack as long as the loader's node budget allows (4 YAML nodes a layer)
    straight = "input: 16x16x32\nlayers:\n" + "  - conv: {out: 32, kernel: 3, padding: 1}\n" * 8_000
    ms, rows = timed(straight)
    print(f"straight stack of {rows:,} layers: {ms:.0f} ms ({1000 * ms / rows:.1f} µs a row)")


if __name__ == "__main__":
    main()
