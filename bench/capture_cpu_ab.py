"""Python CPU per single-lead capture at two revisions, measured by turns in one run.

    python bench/capture_cpu_ab.py [--before main] [--after .] [--chunk 100] [--chunks 30]

Each side is a git revision (exported to a temporary folder) or ``.`` (this checkout).
Both run this checkout's ``bench/capture_cpu.py`` (copied into the export) with
``PYTHONPATH`` pointing at their code and a database of their own; each is asked in turn
for ``--chunk`` captures, ``--chunks`` times, so both pay the machine's load of the same
minute (on a shared machine that moves CPU time by more than the difference measured).
Prints each side's CPU per capture (all chunks, and the median chunk) and the ratio
after/before, then the PostgreSQL backends' CPU per capture and the ratio of the two
together.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile

ROOT = Path(__file__).resolve().parent.parent


def checkout(revision: str, folder: Path) -> Path:
    """The code of ``revision``: this checkout for ``.``, else an export of it, with this
    checkout's bench script and compiled translations (``*.mo`` files are not in git)."""
    if revision == ".":
        tree = ROOT
    else:
        tree = folder / revision.replace("/", "_")
        tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", revision], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        # capture_cpu.py uses capture_profile.py, which uses ingest.py
        for script in ("capture_cpu.py", "capture_profile.py", "ingest.py"):
            shutil.copy(ROOT / "bench" / script, tree / "bench" / script)
    subprocess.run(
        [sys.executable, "-c", "from backend.i18n import compile_catalogs; compile_catalogs()"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
    )  # fmt: skip
    return tree


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


def chunk(proc: subprocess.Popen, captures: int) -> tuple[float, float]:
    """CPU seconds of ``captures`` captures: the app's process, the PostgreSQL backends."""
    proc.stdin.write(f"{captures}\n")
    proc.stdin.flush()
    python, database = proc.stdout.readline().split()
    return float(python), float(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--after", default=".")
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=30)
    args = parser.parse_args()
    prefix = os.environ.get("BENCH_DB_PREFIX", "leadrelay_bench")
    with tempfile.TemporaryDirectory(prefix="leadrelay-cpu-ab-") as folder:
        trees = {
            "before": checkout(args.before, Path(folder)),
            "after": checkout(args.after, Path(folder)),
        }
        print(f"before: {args.before}, after: {args.after}", flush=True)
        sides = {
            "before": start(trees["before"], f"{prefix}_a"),
            "after": start(trees["after"], f"{prefix}_b"),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        database: dict[str, list[float]] = {name: [] for name in sides}
        try:
            for n in range(args.chunks):
                order = list(sides) if n % 2 == 0 else list(reversed(sides))
                for name in order:
                    python, backends = chunk(sides[name], args.chunk)
                    times[name].append(python / args.chunk)
                    database[name].append(backends / args.chunk)
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
    for name, values in database.items():
        print(f"{name:<6} PostgreSQL CPU per capture: {statistics.fmean(values) * 1000:.3f} ms")
    both = {name: mean[name] + statistics.fmean(database[name]) for name in sides}
    print(
        f"after/before, Python + PostgreSQL: {both['after'] / both['before']:.3f} "
        f"({both['before'] * 1000:.3f} -> {both['after'] * 1000:.3f} ms)"
    )


if __name__ == "__main__":
    main()
