"""Python CPU per single-lead capture at two checkouts, measured by turns in one run.

    python bench/capture_cpu_ab.py BEFORE_DIR AFTER_DIR [--chunk 100] [--chunks 30]

Starts each checkout's ``bench/capture_cpu.py`` (copy this one's there first if it has
none or an older one; ``PYTHONPATH`` points at the checkout, each gets its own database), then asks each in turn for ``--chunk`` captures, ``--chunks`` times:
both pay the machine's load of the same minute, which on a shared machine moves CPU time
by more than the difference measured. Prints each side's CPU per capture (all chunks, and
the median chunk) and the ratio after/before.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import statistics
import subprocess


def start(tree: Path, prefix: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "BENCH_DB_PREFIX": prefix}
    proc = subprocess.Popen(
        [sys.executable, str(tree / "bench" / "capture_cpu.py"), "--lockstep", "--rounds", "0"],
        cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in proc.stdout:
        if line.strip() == "ready":
            return proc
    raise RuntimeError(f"{tree}: capture_cpu.py ended before it was ready")


def chunk(proc: subprocess.Popen, captures: int) -> float:
    proc.stdin.write(f"{captures}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=30)
    args = parser.parse_args()
    prefix = os.environ.get("BENCH_DB_PREFIX", "leadrelay_bench")
    sides = {
        "before": start(args.before.resolve(), f"{prefix}_a"),
        "after": start(args.after.resolve(), f"{prefix}_b"),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for n in range(args.chunks):
            order = list(sides) if n % 2 == 0 else list(reversed(sides))
            for name in order:
                times[name].append(chunk(sides[name], args.chunk) / args.chunk)
    finally:
        for proc in sides.values():
            proc.stdin.write("\n")
            proc.stdin.close()
            proc.wait()
    for name, values in times.items():
        print(
            f"{name:<6} CPU per capture: {statistics.fmean(values) * 1000:.3f} ms (all chunks), "
            f"{statistics.median(values) * 1000:.3f} ms (median chunk)"
        )
    mean = {name: statistics.fmean(values) for name, values in times.items()}
    pairs = [a / b for a, b in zip(times["after"], times["before"], strict=True)]
    print(
        f"after/before: {mean['after'] / mean['before']:.3f} (all chunks), "
        f"{statistics.median(pairs):.3f} (median of the chunk pairs)"
    )


if __name__ == "__main__":
    main()
