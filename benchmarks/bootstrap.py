"""The facts stage's bootstrap intervals alone: seconds of `bootstrap_difference`, before and after.

    uv run python benchmarks/bootstrap.py [--shape 1m --shape 5m] [--repeat 3]

Synthetic groups shaped like the AI and manual tasks of a benchmark week (`benchmarks/weekly.py`):
the 1M-call week has about 70,000 AI and 27,000 manual solved tasks, the 5M-call week 350,000 and
135,000. Contact counts are small integers (1 to 6, the mean's input); resolution minutes come
from a lognormal rounded to 0.1 minute (the median's input, thousands of distinct values).

For each shape and statistic this times, in turn and `--repeat` times, the function before (the
frozen copy kept in tests/pipelines/test_intervals_bootstrap.py) and `bootstrap_difference` as
built (with --worker-thread also with its statistics read on a worker thread while the main
thread draws), and prints the median
wall and CPU seconds of each and whether the intervals are equal to the last bit. Groups of
`intervals._COUNTED_FROM` values or more (every shape here) are drawn as counts, the same law
by other draws: their intervals differ from the function before by the bootstrap's noise, and
the line says by how much of the interval's width. CPU seconds above wall seconds mean both
cores worked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from pipelines import intervals
from pipelines.intervals import bootstrap_difference
from tests.pipelines.test_intervals_bootstrap import frozen_bootstrap_difference

SHAPES = {"1m": (70_000, 27_000), "5m": (350_000, 135_000), "20m": (1_400_000, 540_000)}


def groups(ai: int, manual: int, seed: int = 7) -> dict[str, tuple[list[float], list[float]]]:
    """The AI and manual groups of each statistic: contact counts and resolution minutes."""
    rng = np.random.default_rng(seed)

    def contacts(n: int) -> list[float]:
        return rng.integers(1, 7, n).astype(float).tolist()

    def minutes(n: int) -> list[float]:
        return np.round(rng.lognormal(5.0, 1.2, n), 1).tolist()

    return {"mean": (contacts(ai), contacts(manual)), "median": (minutes(ai), minutes(manual))}


def timed(run: Callable[[], object]) -> tuple[float, float, object]:
    """Wall seconds, CPU seconds (all threads) and the result of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    """Time before and after for each shape and statistic and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--after-only", action="store_true", help="skip the function before")
    parser.add_argument(
        "--worker-thread",
        action="store_true",
        help="also time the function as built with its statistics read on a worker thread",
    )
    args = parser.parse_args()

    for shape in args.shape or ["1m", "5m"]:
        ai, manual = SHAPES[shape]
        for statistic, (a, b) in groups(ai, manual).items():
            runs: dict[str, list[tuple[float, float, object]]] = {
                "before": [],
                "after": [],
                "after, worker thread": [],
            }
            for _ in range(args.repeat):
                if not args.after_only:
                    runs["before"].append(
                        timed(lambda a=a, b=b, s=statistic: frozen_bootstrap_difference(a, b, s))
                    )
                runs["after"].append(
                    timed(lambda a=a, b=b, s=statistic: bootstrap_difference(a, b, s))
                )
                if args.worker_thread:
                    intervals._WORKER_THREADS = 1
                    runs["after, worker thread"].append(
                        timed(lambda a=a, b=b, s=statistic: bootstrap_difference(a, b, s))
                    )
                    intervals._WORKER_THREADS = 0
            line = [f"{shape} {ai:,}/{manual:,} {statistic}:"]
            for name, done in runs.items():
                if done:
                    wall = statistics.median(r[0] for r in done)
                    cpu = statistics.median(r[1] for r in done)
                    line.append(f"{name} {wall:.2f} s (cpu {cpu:.2f} s)")
            if runs["before"]:
                same = all(np.array_equal(
                    np.array(x[2]).view(np.int64), np.array(y[2]).view(np.int64)
                ) for x, y in zip(runs["before"], runs["after"], strict=True))  # fmt: skip
                walls = [statistics.median(r[0] for r in runs[k]) for k in ("before", "after")]
                line.append(f"before / after x{walls[0] / walls[1]:.2f}, equal to the bit: {same}")
                old, new = np.array(runs["before"][0][2]), np.array(runs["after"][0][2])
                apart = np.abs(new - old).max() / (old[1] - old[0])
                line.append(f"(ends apart by {apart:.1%} of the width before)")
            print(" ".join(line), flush=True)


if __name__ == "__main__":
    main()
