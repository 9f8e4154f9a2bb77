"""Python CPU per single-lead capture, in process: the app's own cost, without HTTP.

    python bench/capture_cpu.py [--captures 2000] [--rounds 3] [--profile N]

Creates its own PostgreSQL database ``<BENCH_DB_PREFIX>_cpu`` on 127.0.0.1:5432 (dropped
at the end), stores 2,000 leads and analyses, then sends ``--captures`` requests of
``POST /api/v1/events/{id}/leads`` with a bearer token through Flask's test client, per
round, and prints the process's CPU time (``time.process_time``: user + system, so the
waits for PostgreSQL and Redis do not count) per capture: the median round, and the
quietest (on a shared machine a neighbour's load inflates CPU time too).
The test client's own work (building the request) is in it, the same at every revision.

``--profile N`` also profiles N more captures with cProfile timed by CPU time (so a wait
for the database costs nothing) and prints the top functions.

To compare two revisions in one run, run it alternately with ``PYTHONPATH`` pointing at
each checkout (``bench/compare.py`` does the same with worktrees).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's ``queue`` module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import cProfile
import importlib.util
import pstats
import statistics
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _capture_profile():
    """bench/capture_profile.py: its ``warm_capture`` (the same database, app and warm-up)
    and its ``_ingest`` (bench/ingest.py, which reads the PostgreSQL backends' CPU)."""
    path = ROOT / "bench" / "capture_profile.py"
    spec = importlib.util.spec_from_file_location("bench_capture_profile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--lockstep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", help="also write the profile's raw stats to this file (pstats)")
    args = parser.parse_args()

    rounds, databases = [], []
    profile_module = _capture_profile()
    database_cpu = profile_module._ingest().database_cpu
    with profile_module.warm_capture("cpu") as (app, capture, body, _sync):
        db_name = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[-1]
        number = iter(range(10_000, 10**9))
        if args.lockstep:
            lockstep(capture, body, number, lambda: database_cpu(db_name))
            args.rounds = 0
        for _ in range(args.rounds):
            bodies = [body(next(number)) for _ in range(args.captures)]
            database = database_cpu(db_name)
            started, wall = time.process_time(), time.perf_counter()
            for one in bodies:
                capture(one)
            cpu = (time.process_time() - started) / args.captures
            wall = (time.perf_counter() - wall) / args.captures
            database = (database_cpu(db_name) - database) / args.captures
            rounds.append(cpu)
            databases.append(database)
            print(
                f"round: {cpu * 1000:.3f} ms CPU, {wall * 1000:.3f} ms wall, "
                f"PostgreSQL {database * 1000:.3f} ms CPU per capture"
            )
        if args.profile:
            bodies = [body(next(number)) for _ in range(args.profile)]
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for one in bodies:
                capture(one)
            profile.disable()
    if not rounds:
        return
    print(
        f"Python CPU per capture: {statistics.median(rounds) * 1000:.3f} ms (median round), "
        f"{min(rounds) * 1000:.3f} ms (quietest round); PostgreSQL backend CPU per capture: "
        f"{statistics.median(databases) * 1000:.3f} ms (median round)"
    )
    if args.profile:
        stats = pstats.Stats(profile)
        if args.save:
            stats.dump_stats(args.save)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)


def lockstep(capture, body, number, database_cpu) -> None:
    """Driven by bench/capture_cpu_ab.py: a line "N" asks for N captures, answered with
    their CPU seconds in this process and in the PostgreSQL backends; an empty line ends."""
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        bodies = [body(next(number)) for _ in range(int(line))]
        database = database_cpu()
        started = time.process_time()
        for one in bodies:
            capture(one)
        print(time.process_time() - started, database_cpu() - database, flush=True)


if __name__ == "__main__":
    main()
