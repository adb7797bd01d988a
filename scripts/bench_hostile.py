"""Extraction time on adversarial pages, by size: the table the README quotes.

Usage::

    python scripts/bench_hostile.py [--sizes 100000 200000 400000] [--shape NAME ...]

For each shape of ``tests/support/hostile.py`` (unclosed tags, long attributes,
repeated markers, deep nesting, nested items, many og:videos, long JSON
strings) and each size, the best of three timings of
``harvester.extract(page_bytes)``, and the ratio to the time at the previous
size.  Linear extraction shows ratios near the size ratio (2 for doubling).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harvester.extract import extract  # noqa: E402
from tests.support.hostile import SHAPES  # noqa: E402


def best_time(page: bytes, runs: int = 3) -> float:
    """Best of ``runs`` timings of one extraction, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        extract(page, "https://e.org/")
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 400_000])
    ap.add_argument("--shape", action="append", help="only these shapes (repeatable)")
    args = ap.parse_args()
    print(f"| {'shape':<30} | {'size':>9} | {'time':>10} | {'ratio':>5} |")
    print(f"|{'-' * 32}|{'-' * 11}:|{'-' * 11}:|{'-' * 6}:|")
    for name, make in SHAPES.items():
        if args.shape and name not in args.shape:
            continue
        previous = None
        for size in args.sizes:
            page = make(size).encode()
            took = best_time(page)
            ratio = f"{took / previous:5.2f}" if previous else "    -"
            print(f"| {name:<30} | {len(page):>9,} | {took * 1000:>7.1f} ms | {ratio} |",
                  flush=True)
            previous = took
    return 0


if __name__ == "__main__":
    sys.exit(main())
