"""Office queue benchmark: `python bench/queue.py [--db sqlite|postgresql] [--leads N] [--runs N]`.

Builds its own database (a temporary SQLite file, or a PostgreSQL database
``leadrelay_bench_queue`` it creates and drops on 127.0.0.1:5432 — never the shared
``test`` database), fills one office with 10,000 open leads over three events, every
rating and escalation level, touched ones with next steps (some due), and renders ``/office`` through the test client as a
signed-in rep. Prints the median and p95 server time of the page and of
``GET /api/v1/queue``, and the EXPLAIN plan of the queue's SQL. Goal: under 300 ms.

SQLite answers the page's ids from ``ix_lead_queue`` as a covering index. PostgreSQL,
when one office holds a third of a small table, rightly prefers a sequential scan for
the inner id query (its index lacks ``id``; ``INCLUDE (id)`` would make it index-only).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the stdlib ``queue`` module (which redis imports): run from the
# repository root instead of this folder.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import timedelta  # noqa: E402

from sqlalchemy import insert, text  # noqa: E402

from backend import create_app  # noqa: E402
from backend.db_types import utcnow  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.leads.models import Lead  # noqa: E402
from backend.workspace.queries import page_statement, queue_order, queue_select  # noqa: E402
from backend.workspace.schemas import QueueQuery  # noqa: E402
from tests.factories import PASSWORD, make_event, make_office, make_user  # noqa: E402

PG_ADMIN_URL = "postgresql://127.0.0.1:5432/postgres"
PG_DB = "leadrelay_bench_queue"


def pg_database(action: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if action == "create":
            conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"postgresql://127.0.0.1:5432/{PG_DB}"


def build_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def seed(n_leads: int, n_other: int, rng: random.Random) -> tuple[str, int]:
    """``n_leads`` open leads in MOW; ``n_other`` more spread over four other offices and
    MOW's closed ones, so the queue's filter is selective as in a real database."""
    office = make_office("MOW", timezone="Europe/Moscow")
    others = [make_office(code) for code in ("SPB", "NSK", "EKB", "BER")]
    rep = make_user("office_rep", office, email="bench-rep@example.com")
    make_user("office_manager", office, email="bench-manager@example.com")
    events = [make_event(name=f"Bench Expo {i}") for i in range(3)]
    now = utcnow()
    rows = []
    for i in range(n_leads + n_other):
        at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 20))
        mine = i < n_leads
        target = office if mine or i % 5 == 0 else rng.choice(others)
        if mine:
            status = rng.choice(("new", "new", "contacted", "qualified"))
        elif target is office:
            status = rng.choice(("won", "lost", "stale"))
        else:
            status = rng.choice(("new", "contacted", "qualified", "won", "lost"))
        touched = status != "new" or rng.random() < 0.1
        # Half the touched leads have a next step, some of them due already.
        step_at = at + timedelta(hours=rng.randint(1, 24 * 25)) if touched and i % 2 else None
        rows.append(
            {
                "client_id": uuid.uuid4(),
                "event_id": rng.choice(events).id,
                "first_name": f"Visitor{i}",
                "last_name": "Bench",
                "email": f"v{i}@example.com",
                "company": f"Company {i % 500}",
                "rating": rng.choice(("hot", "warm", "cold", None)),
                "status": status,
                "escalation_level": rng.choice((0, 0, 0, 1, 2, 3)),
                "office_id": target.id,
                "received_at": at,
                "captured_at": at,
                "routed_at": at,
                "flags": [],
                "answers": {},
                "original": {},
                "feedback_requested": i % 50 == 0,
                "claimed_by_id": rep.id if mine and i % 7 == 0 else None,
                "first_touch_at": at + timedelta(minutes=30) if touched else None,
                "next_step": rng.choice(("call_back", "send_offer", "meeting"))
                if step_at
                else None,
                "next_step_at": step_at,
            }
        )
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Lead), rows[start : start + 2000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum would have done by now: statistics and the visibility map.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE lead"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return rep.email, office.id


def explain(office_id: int, rep) -> list[str]:
    from backend.offices.models import Office

    office = db.session.get(Office, office_id)
    query = page_statement(
        queue_select(office, rep, QueueQuery()), 1, 100, queue_order(office, utcnow())
    )
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "postgresql":
        sql = f"EXPLAIN ANALYZE {compiled}"
        return [row[0] for row in db.session.execute(text(sql))]
    return [
        " | ".join(map(str, row))
        for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
    ]


def timed(client, url: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def report(label: str, times: list[float]) -> None:
    p95 = sorted(times)[max(int(len(times) * 0.95) - 1, 0)]
    print(f"{label:<34} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
          f"min {min(times):7.1f} ms   (n={len(times)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--leads", type=int, default=10_000, help="open leads in the office")
    parser.add_argument("--other-leads", type=int, default=20_000, help="in other offices")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="leadrelay-bench-")
    url = pg_database("create") if args.db == "postgresql" else f"sqlite:///{tmp.name}/bench.db"
    # The requests share this app context (and so ``g``): the sign-in's write would count
    # against the next GET under the tests' read-only check, which is not what is measured.
    config = {"DATABASE_URL": url, "INSTANCE_PATH": tmp.name, "SECRET_KEY": "bench",
              "TESTING": True, "RATELIMIT_ENABLED": False, "SMTP_URL": None,
              "CHECK_READS_DONT_WRITE": False}  # fmt: skip
    app = create_app(config)
    build_schema(app)
    try:
        with app.app_context():
            started = time.perf_counter()
            email, office_id = seed(args.leads, args.other_leads, random.Random(7))
            print(f"database: {args.db}; seeded {args.leads} open leads in the office "
                  f"(+{args.other_leads} elsewhere or closed) in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            client = app.test_client()
            response = client.post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Requested-With": "bench"},
            )  # fmt: skip
            assert response.status_code == 200, response.get_data(as_text=True)
            client.get("/office")  # warm up templates and caches
            report("GET /office (100 rows, counts)", timed(client, "/office", args.runs))
            report("GET /office?rating=hot", timed(client, "/office?rating=hot", args.runs))
            report("GET /office?page=50", timed(client, "/office?page=50", args.runs))
            report("GET /api/v1/queue", timed(client, "/api/v1/queue", args.runs))
            manager = app.test_client()
            manager.post(
                "/api/v1/auth/login",
                json={"email": "bench-manager@example.com", "password": PASSWORD},
                headers={"X-Requested-With": "bench"},
            )
            report("GET /office as manager (team load)", timed(manager, "/office", args.runs))
            report(
                "GET /api/v1/queue?since=now-1h",
                timed(client, "/api/v1/queue?since="
                      + (utcnow() - timedelta(hours=1)).isoformat().replace("+", "%2B"),
                      args.runs),
            )  # fmt: skip
            from backend.auth.models import User

            rep = db.session.scalar(db.select(User).where(User.email == email))
            print("\nEXPLAIN of the queue query:")
            for line in explain(office_id, rep):
                print("  " + line)
            db.session.remove()
            db.engine.dispose()
    finally:
        if args.db == "postgresql":
            pg_database("drop")
        tmp.cleanup()


if __name__ == "__main__":
    main()
