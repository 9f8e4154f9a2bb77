"""Capture throughput: gunicorn on PostgreSQL, a load generator on loopback.

    python bench/ingest.py [--seconds 8] [--connections 8]

Creates its own database ``leadrelay_bench_ingest`` on 127.0.0.1:5432 (dropped at the end),
starts gunicorn, and prints in one run: requests/s and p50/p99 latency for
``POST /events/{id}/leads``, leads/s for ``POST /sync`` with batches of 100 and 500, and the
same server's requests/s for a trivial endpoint (``/livez``) as the ceiling.

Single-lead capture is also compared with the floor of ``bench/capture_floor.py``: its
Flask-SQLAlchemy endpoint (a JSON body, one INSERT, COMMIT), served in the same run by the
same gunicorn settings on the same PostgreSQL. Capture and floor are measured by turns
(``--rounds``), so a neighbour's load falls on both alike; the ratio is of their sums.

The database is not measured brand new: 20,000 leads are stored first and the tables
analysed, as autovacuum would have done within a minute of a real server's first leads.
On empty, never-analysed tables PostgreSQL cannot tell a selective index from another.

Throughput depends on what else the machine runs, so it also prints the server's CPU
time per request (gunicorn and the PostgreSQL backends, read from /proc): the cost of a
request, whatever the load.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's ``queue`` module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import http.client
import importlib.util
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import tempfile
import time
import uuid

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import contextlib

from tests.live import LiveServer  # noqa: E402

# BENCH_DB_PREFIX lets two runs share one PostgreSQL (bench/compare.py beside another run).
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "leadrelay_bench") + "_ingest"
PG = "postgresql://127.0.0.1:5432/"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-d", "postgres", "-qc", sql], check=True)


def setup_database(env: dict, root: Path = ROOT) -> tuple[str, int]:
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    code = (
        "from flask_migrate import upgrade\n"
        "from backend import create_app\n"
        "from backend.extensions import db\n"
        "from backend.auth.services import create_user, issue_token\n"
        "from tests.factories import make_office, make_event, CITIES\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        "    for code in CITIES: make_office(code)\n"
        "    event = make_event(name='Bench expo')\n"
        "    user = create_user('bench@example.com', 'marketing', password='bench-password')\n"
        "    print(issue_token(user), event.id)\n"
        "    db.session.commit()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()
    return out[-2], int(out[-1])


def lead(n: int) -> dict:
    # A new person each time: a phone number shared by chance would make the lead a merge
    # into an earlier one, which is not what this bench measures. One of a billion Russian
    # mobile numbers: about two pairs share one in a whole run of 60,000 leads.
    phone = uuid.uuid4().int % 10**9
    return {
        "client_id": str(uuid.uuid4()),
        "first_name": "Иван",
        "last_name": f"Visitor {n}",
        "email": f"visitor{n}.{uuid.uuid4().hex[:6]}@example.com",
        "phone": f"+7 9{phone // 10**7:02d} {phone // 10**4 % 1000:03d}-{phone // 100 % 100:02d}-{phone % 100:02d}",
        "company": "ООО Бенчмарк",
        "city": ("Novosibirsk", "München", "Санкт-Петербург", "Kazan")[n % 4],
        "country": ("RU", "DE", "Россия", "Russia")[n % 4],
        "rating": ("hot", "warm", "cold")[n % 3],
        "consent": {"contact": True, "text": "ok"},
    }


def store_earlier_leads(port: int, token: str, event_id: int, count: int) -> None:
    """A database in use: ``count`` leads stored, then ANALYZE (autovacuum's job)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for start in range(0, count, 500):
        leads = [{**lead(start + i), "event_id": event_id} for i in range(500)]
        conn.request("POST", "/api/v1/sync", body=json.dumps({"leads": leads}), headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/api/v1/sync answered {response.status}")
    conn.close()
    subprocess.run(["psql", "-h", "127.0.0.1", "-d", DB_NAME, "-qc", "ANALYZE"], check=True)


def client_loop(args) -> list[float]:
    port, token, method, path, body_kind, batch, event_id, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies = []
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        if body_kind == "lead":
            body = json.dumps(lead(n))
        elif body_kind == "sync":
            body = json.dumps(
                {"leads": [{**lead(n * 1000 + i), "event_id": event_id} for i in range(batch)]}
            )
        else:
            body = None
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        if response.status >= 300:
            raise RuntimeError(f"{path} answered {response.status}")
    conn.close()
    return latencies


def server_cpu(server, db_name: str = DB_NAME) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master and workers) and by the PostgreSQL
    backends of ``db_name``. Unlike requests/s, CPU per request does not depend on what
    else the machine is running."""
    gunicorn = psutil.Process(server.proc.pid)
    web = sum(sum(p.cpu_times()[:2]) for p in [gunicorn, *gunicorn.children(recursive=True)])
    return web, database_cpu(db_name)


def database_cpu(db_name: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to ``db_name``."""
    pids = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-d", "postgres", "-tAc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{db_name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    database = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            database += sum(psutil.Process(int(pid)).cpu_times()[:2])
    return database


def run(
    server, token, event_id, connections, seconds, method, path, body_kind=None, batch=0,
    db_name=DB_NAME, warm_up=0.0,
):  # fmt: skip
    """Requests/s, latencies and server CPU per request of ``connections`` clients sending
    for ``seconds`` (after ``warm_up`` unmeasured seconds)."""
    jobs = [(server.port, token, method, path, body_kind, batch, event_id, seconds)] * connections
    with mp.Pool(connections) as pool:
        if warm_up:
            pool.map(client_loop, [(*job[:-1], warm_up) for job in jobs])
        web_before, db_before = server_cpu(server, db_name)
        started = time.perf_counter()
        results = pool.map(client_loop, jobs)
        elapsed = time.perf_counter() - started
        web_after, db_after = server_cpu(server, db_name)
    latencies = sorted(x for r in results for x in r)
    count = len(latencies)
    return {
        "requests": count,
        "rps": count / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))],
        "web_cpu_ms": 1000 * (web_after - web_before) / count,
        "db_cpu_ms": 1000 * (db_after - db_before) / count,
    }


def combined(results: list[dict]) -> dict:
    """Several runs of one endpoint as one: mean rate, latencies and CPU weighted by count."""
    count = sum(r["requests"] for r in results)
    weighted = lambda key: sum(r[key] * r["requests"] for r in results) / count  # noqa: E731
    return {
        "requests": count,
        "rps": statistics.fmean(r["rps"] for r in results),
        **{key: weighted(key) for key in ("p50_ms", "p99_ms", "web_cpu_ms", "db_cpu_ms")},
    }


def parse_arguments() -> argparse.Namespace:
    """The load: seconds per endpoint, client connections, gunicorn workers (× 4 threads)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=2, help="turns of floor, then single-lead capture"
    )
    return parser.parse_args()


def floor_bench():
    """``bench/capture_floor.py`` as a module (its file name is no package's)."""
    spec = importlib.util.spec_from_file_location(
        "bench_capture_floor", Path(__file__).with_name("capture_floor.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    args = parse_arguments()

    instance = tempfile.mkdtemp(prefix="leadrelay-bench-")
    env = {
        **os.environ,
        "DATABASE_URL": PG + DB_NAME,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "SECRET_KEY": "bench",
        "LEADRELAY_INSTANCE": instance,
        "RATELIMIT_ENABLED": "0",
    }
    token, event_id = setup_database(env)
    server = LiveServer(env, workers=args.workers).start()
    floor = floor_bench().FloorServer(args.workers)
    try:
        floor.start()
        store_earlier_leads(server.port, token, event_id, 20_000)
        c, s = args.connections, args.seconds
        ceiling = run(server, token, event_id, c, s, "GET", "/livez")
        floors, singles = [], []
        for _ in range(args.rounds):
            floors.append(floor.measure("/sqlalchemy", c, s))
            singles.append(
                run(
                    server,
                    token,
                    event_id,
                    c,
                    s,
                    "POST",
                    f"/api/v1/events/{event_id}/leads",
                    "lead",
                )  # fmt: skip
            )
        single = combined(singles)
        sync100 = run(
            server, token, event_id, max(2, c // 2), s, "POST", "/api/v1/sync", "sync", 100
        )
        sync500 = run(
            server, token, event_id, max(2, c // 2), s, "POST", "/api/v1/sync", "sync", 500
        )
    finally:
        server.stop()
        floor.stop()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(
        f"gunicorn workers={args.workers} threads=4, {args.connections} connections, {args.seconds}s each, PostgreSQL"
    )
    print(
        f"ceiling GET /livez             {ceiling['rps']:8.0f} req/s  p50 {ceiling['p50_ms']:6.1f} ms  p99 {ceiling['p99_ms']:6.1f} ms"
    )
    print(
        f"POST /events/{{id}}/leads        {single['rps']:8.0f} req/s  p50 {single['p50_ms']:6.1f} ms  p99 {single['p99_ms']:6.1f} ms"
    )
    floor_rps = [f["rps"] for f in floors]
    floor_mean = statistics.fmean(floor_rps)
    print(
        f"floor POST /sqlalchemy         {floor_mean:8.0f} req/s  (bench/capture_floor.py: INSERT + COMMIT, no auth)"
    )
    print(
        f"  single-lead / floor ratio    {single['rps'] / floor_mean:8.2f}  (goal >= 0.60; by round: "
        + ", ".join(f"{r['rps'] / f:.2f}" for r, f in zip(singles, floor_rps, strict=True))
        + ")"
    )
    print(f"  single-lead / ceiling ratio  {single['rps'] / ceiling['rps']:8.2f}")
    for label, result, size in (("100", sync100, 100), ("500", sync500, 500)):
        print(
            f"POST /sync batch {label:<4}          {result['rps'] * size:8.0f} leads/s  p50 {result['p50_ms']:6.0f} ms  p99 {result['p99_ms']:6.0f} ms  (goal >= 5000 leads/s)"
        )
    print(
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; server CPU per request (gunicorn + PostgreSQL):"
    )
    for label, result, per in (
        ("GET /livez", ceiling, 1), ("floor POST /sqlalchemy", combined(floors), 1),
        ("POST one lead", single, 1),
        ("POST /sync 100, per lead", sync100, 100), ("POST /sync 500, per lead", sync500, 500),
    ):  # fmt: skip
        print(
            f"  {label:<26} {result['web_cpu_ms'] / per:6.2f} + {result['db_cpu_ms'] / per:5.2f} ms"
        )
    cost = lambda r: r["web_cpu_ms"] + r["db_cpu_ms"]  # noqa: E731
    cores = os.cpu_count() or 1
    print(
        f"  CPU cost of /livez / one lead  {cost(ceiling) / cost(single):8.2f}"
        "  (the single-lead / ceiling ratio the cores allow when nothing else runs)"
    )
    print(
        f"  CPU cost of floor / one lead   {cost(combined(floors)) / cost(single):8.2f}"
        "  (the single-lead / floor ratio the cores allow when nothing else runs)"
    )
    print(
        f"  /sync 500 leads/s the {cores} cores allow  {1000 * cores / (cost(sync500) / 500):8.0f}"
        "  (server CPU only; the load generator needs some too)"
    )


if __name__ == "__main__":
    main()
