"""Where a single-lead capture's Python time goes: cProfile of captures through the test client.

    python bench/capture_profile.py [--captures 2000] [--top 30]
    python bench/capture_profile.py --batch 500 --captures 10000   # POST /sync, 20 batches

Creates its own PostgreSQL database ``<BENCH_DB_PREFIX>_profile`` on 127.0.0.1:5432 (dropped
at the end), stores 2,000 leads and analyses, then profiles ``--captures`` requests of
``POST /api/v1/events/{id}/leads`` with a bearer token (as bench/ingest.py sends them) and
prints the top functions by own time and by cumulative time, and the wall time per capture.
No HTTP server: what it shows is the app's cost, not gunicorn's.

First it lists the round trips to PostgreSQL of one capture (from libpq's trace of the
protocol: a simple ``Query`` or an extended-protocol ``Sync`` waits for the server) and
the Redis commands it sends.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's ``queue`` module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import cProfile
import os
import pstats
import subprocess
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importlib.util  # noqa: E402
from contextlib import contextmanager  # noqa: E402


def _ingest():
    spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def warm_capture(name: str):
    """An app on its own PostgreSQL database ``<BENCH_DB_PREFIX>_<name>`` (dropped at the
    end) holding 2,000 leads, analysed, after 200 warm-up captures (pools, prepared
    statements, caches). Yields ``(app, capture, body, sync)``: ``capture(body(n))`` sends
    lead ``n`` to ``POST /api/v1/events/{id}/leads`` with a bearer token, as bench/ingest.py
    does, through Flask's test client (the app's cost, not gunicorn's); ``sync(bodies)``
    sends them as one batch to ``POST /api/v1/sync``."""
    ingest = _ingest()
    ingest.DB_NAME = db_name = os.environ.get("BENCH_DB_PREFIX", "leadrelay_bench") + f"_{name}"
    os.environ.update(
        DATABASE_URL=ingest.PG + db_name,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        SECRET_KEY="bench",
        LEADRELAY_INSTANCE=tempfile.mkdtemp(prefix=f"leadrelay-{name}-"),
        RATELIMIT_ENABLED="0",
    )
    token, event_id = ingest.setup_database(dict(os.environ))
    from backend.extensions import db

    # The app as gunicorn loads it: backend/wsgi.py (gazetteer loaded, startup objects
    # frozen out of the garbage collector's sight).
    app = importlib.import_module("backend.wsgi").app
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        for start in range(0, 2000, 500):
            leads = [{**ingest.lead(start + i), "event_id": event_id} for i in range(500)]
            response = client.post("/api/v1/sync", json={"leads": leads}, headers=headers)
            assert response.status_code == 200
        subprocess.run(["psql", "-h", "127.0.0.1", "-d", db_name, "-qc", "ANALYZE"], check=True)
        path = f"/api/v1/events/{event_id}/leads"

        def capture(body: dict):
            return client.post(path, json=body, headers=headers)

        def sync(bodies: list[dict]):
            leads = [{**one, "event_id": event_id} for one in bodies]
            return client.post("/api/v1/sync", json={"leads": leads}, headers=headers)

        for n in range(200):
            response = capture(ingest.lead(1_000_000 + n))
            assert response.status_code == 201, response.get_data(as_text=True)
        yield app, capture, ingest.lead, sync
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        ingest.psql(f"DROP DATABASE IF EXISTS {db_name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=2000)
    parser.add_argument(
        "--batch", type=int, default=0, help="profile POST /sync with batches of this size instead"
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--save", help="also write the raw stats to this file (pstats)")
    args = parser.parse_args()

    with warm_capture("profile") as (app, capture, body, sync):
        trips, redis_commands = round_trips(app, lambda: capture(body(5)))
        size = args.batch or 1
        send = sync if args.batch else capture

        def requests_from(first: int, count: int) -> list:
            """``count`` requests: single bodies, or batches of ``size``."""
            bodies = [body(first + n) for n in range(count * size)]
            return (
                [bodies[n * size : (n + 1) * size] for n in range(count)] if args.batch else bodies
            )

        requests = requests_from(10_000, max(1, args.captures // size))
        plain_requests = requests_from(90_000, max(1, len(requests) // 2))
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for one in requests:
            send(one)
        profile.disable()
        wall = time.perf_counter() - started
        with collector_time() as collecting:
            unprofiled, cpu = time.perf_counter(), time.process_time()
            for one in plain_requests:
                send(one)
            plain = (time.perf_counter() - unprofiled) / len(plain_requests)
            cpu = (time.process_time() - cpu) / len(plain_requests)
    what = f"POST /sync batches of {size}" if args.batch else "captures"
    print(f"One capture: {len(trips)} PostgreSQL round trips, Redis {' '.join(redis_commands)}")
    for n, trip in enumerate(trips, 1):
        print(f"  {n}. {trip}")
    print(
        f"{len(requests)} {what}: {wall / len(requests) * 1000:.2f} ms each under the profiler, "
        f"{plain * 1000:.2f} ms without it (test client: Python + PostgreSQL round trips), "
        f"{cpu * 1000:.2f} ms of it this process's CPU, of which the garbage collector "
        f"{collecting['seconds'] / len(plain_requests) * 1000:.2f} ms "
        f"({collecting['runs']} collections, {collecting['full']} of the oldest generation)"
    )
    stats = pstats.Stats(profile)
    if args.save:
        stats.dump_stats(args.save)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


@contextmanager
def collector_time():
    """The time Python's cyclic garbage collector ran while inside (``gc.callbacks``)."""
    import gc

    spent = {"seconds": 0.0, "runs": 0, "full": 0}
    began = [0.0]

    def callback(phase, info):
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            spent["seconds"] += time.perf_counter() - began[0]
            spent["runs"] += 1
            spent["full"] += info["generation"] == 2

    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)


def round_trips(app, capture) -> tuple[list[str], list[str]]:
    """The PostgreSQL round trips of ``capture()`` (each named by its SQL), and the
    Redis commands it sent."""
    import redis
    from psycopg.pq import Trace
    from sqlalchemy import event

    from backend.extensions import db

    with app.app_context():
        engine = db.engine
    traced, statements, commands = [], [], []
    send = redis.Redis.execute_command

    def on_execute(conn, cursor, statement, *_):
        statements.append(" ".join(statement.split()))

    def counted(self, *args, **options):
        commands.append(str(args[0]))
        return send(self, *args, **options)

    with tempfile.TemporaryFile("w+") as trace:

        def start_trace(dbapi_connection, *_):
            dbapi_connection.pgconn.trace(trace.fileno())
            flags = Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE
            dbapi_connection.pgconn.set_trace_flags(flags)
            if dbapi_connection not in traced:
                traced.append(dbapi_connection)

        # A pooled connection is checked (pool_pre_ping, where set) before any checkout
        # event: the connections are traced from their creation, and a first capture
        # (not counted) makes and warms the one the counted capture is given again.
        engine.dispose()
        event.listen(engine, "connect", start_trace)
        try:
            capture()
            for dbapi_connection in traced:
                dbapi_connection.pgconn.untrace()  # flushes libpq's buffer
                trace.seek(0, os.SEEK_END)
                start_trace(dbapi_connection)
            start = trace.tell()
            event.listen(engine, "before_cursor_execute", on_execute)
            redis.Redis.execute_command = counted
            try:
                capture()
            finally:
                redis.Redis.execute_command = send
                event.remove(engine, "before_cursor_execute", on_execute)
        finally:
            event.remove(engine, "connect", start_trace)
            for dbapi_connection in traced:
                dbapi_connection.pgconn.untrace()
        trace.seek(start)
        lines = trace.readlines()
    trips, pending = [], iter(statements)
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if parts[0] != "F" or len(parts) < 3:
            continue
        message = parts[2].strip()
        if message == "Query":  # F <length> Query "<text>"
            trips.append(parts[3].strip().strip('"') if len(parts) > 3 else "?")
        elif message == "Sync":
            trips.append(next(pending, "?")[:110])
    return trips, commands


if __name__ == "__main__":
    main()
