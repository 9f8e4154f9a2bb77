"""Follow-up benchmark: `python bench/followup.py` (needs PostgreSQL on 127.0.0.1 and Redis).

1. With one worker (a real forking ``leadrelay worker`` process), the p50/p99 time from
   a lead accepted by ``capture_batch`` to its autoresponder received by an in-process
   aiosmtpd server, for 1,000 leads arriving at a steady pace.
2. The sweep's time over 1,000,000 leads of which 10,000 are due for escalation.

Works in a scratch database (``BENCH_DB``, default ``leadrelay_bench``; created and
dropped here) and Redis ``BENCH_REDIS_URL`` (default db 12; flushed). No assertions:
read the numbers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds a queue.py that would shadow the stdlib module: run from the repo root.
sys.path[0] = str(ROOT)

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import text  # noqa: E402

from backend import create_app  # noqa: E402
from backend.db_types import utcnow  # noqa: E402
from backend.extensions import db  # noqa: E402
from tests.live import free_port  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgresql://127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "leadrelay_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
LEADS = int(os.environ.get("BENCH_LEADS", 1000))
PACE = float(os.environ.get("BENCH_PACE", 20))  # leads per second
SWEEP_LEADS = int(os.environ.get("BENCH_SWEEP_LEADS", 1_000_000))
SWEEP_DUE = int(os.environ.get("BENCH_SWEEP_DUE", 10_000))
PART = os.environ.get("BENCH_PART", "all")  # all | latency | sweep
SWEEP_RUNS = int(os.environ.get("BENCH_SWEEP_RUNS", 5))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"  # cProfile the last sweep
OFFICES = 20


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True, capture_output=True)


class Inbox:
    def __init__(self):
        self.received: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        now = time.perf_counter()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.setdefault(rcpt.lower(), now)
        return "250 OK"


def build_app(smtp_url: str | None, instance: str):
    app = create_app(
        {
            "DATABASE_URL": f"{PG}/{DB_NAME}",
            "REDIS_URL": REDIS_URL,
            "SMTP_URL": smtp_url,
            "SECRET_KEY": "bench",
            "PUBLIC_BASE_URL": "http://bench.test",
            "RATELIMIT_ENABLED": False,
            "INSTANCE_PATH": instance,
            "MARKETING_EMAILS": "marketing@example.com",
        }
    )
    return app


def fresh_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def seed_offices(count: int):
    from backend.offices.models import Office

    offices = []
    for i in range(count):
        office = Office(
            code=f"O{i}",
            name=f"Office {i}",
            city="Moscow",
            country="RU",
            latitude=55.0 + i * 0.3,
            longitude=37.0 + i * 0.5,
            timezone="Europe/Moscow",
            working_days="1234567",
            email=f"o{i}@offices.example.com",
            phone="+7 495 000-00-00",
            territories=[],
        )
        db.session.add(office)
        offices.append(office)
    db.session.flush()
    return offices


def bench_latency(app, inbox: Inbox, smtp_url: str, instance: str) -> None:
    from backend.auth.models import User
    from backend.events.models import Event
    from backend.leads.capture import capture_batch
    from backend.transaction import commit

    with app.app_context():
        seed_offices(3)
        user = User(email="mkt@example.com", name="M", role="marketing")
        user.set_password("x")
        event = Event(
            name="Bench Expo",
            venue_city="Moscow",
            venue_country="RU",
            venue_latitude=55.75,
            venue_longitude=37.61,
            starts_on=date.today(),
            ends_on=date.today(),
            brief={"offer": "10% off"},
            autoresponder_subject="Thanks, {first_name}",
            autoresponder_body="Hello {first_name}, {offer}",
        )
        db.session.add_all([user, event])
        db.session.commit()
        env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{DB_NAME}",
            "REDIS_URL": REDIS_URL,
            "SMTP_URL": smtp_url,
            "SECRET_KEY": "bench",
            "LEADRELAY_INSTANCE": instance,
        }
        worker = subprocess.Popen(
            [str(ROOT / ".venv/bin/leadrelay"), "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(2)  # let the worker start
        accepted: dict[str, float] = {}
        load = os.getloadavg()[0]
        started = time.perf_counter()
        for i in range(LEADS):
            email = f"visitor{i}@example.org"
            payload = {
                "client_id": str(uuid.uuid4()),
                "event_id": event.id,
                "first_name": f"V{i}",
                "email": email,
                "city": "Moscow",
                "country": "RU",
                "consent": {"contact": True},
            }
            capture_batch([payload], user=user)
            commit()  # as the capture request does: the workers are woken after the commit
            accepted[email] = time.perf_counter()
            delay = started + (i + 1) / PACE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        deadline = time.perf_counter() + 120
        while (
            len(inbox.received.keys() & accepted.keys()) < LEADS and time.perf_counter() < deadline
        ):
            time.sleep(0.1)
        worker.terminate()
        worker.wait(20)
        latencies = sorted(
            inbox.received[e] - t for e, t in accepted.items() if e in inbox.received
        )
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        print(
            f"autoresponder latency, {LEADS} leads at {PACE:g}/s, one forking worker "
            f"(load {load:.2f} before, {os.getloadavg()[0]:.2f} after):"
        )
        print(f"  received {len(latencies)}/{LEADS}")
        print(
            f"  p50 {q[49] * 1000:.0f} ms   p99 {q[98] * 1000:.0f} ms   max {latencies[-1] * 1000:.0f} ms"
        )


def bulk_leads(app, offices, event_id: int, now) -> None:
    """COPY SWEEP_LEADS leads: SWEEP_DUE untouched and 30 h old, 5 % untouched and fresh,
    the rest touched."""
    from backend.leads.models import Lead

    columns = [c.name for c in Lead.__table__.columns if c.name != "id"]
    fresh = SWEEP_LEADS // 20
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY lead ({', '.join(columns)}) FROM STDIN") as copy:
                for i in range(SWEEP_LEADS):
                    due = i < SWEEP_DUE
                    untouched = due or i < SWEEP_DUE + fresh
                    routed = now - (timedelta(hours=30) if due else timedelta(minutes=i % 600))
                    if not untouched:
                        routed = now - timedelta(days=1 + i % 20)
                    office = offices[i % len(offices)]
                    row = dict(
                        client_id=uuid.uuid4(), event_id=event_id, captured_by_id=None,
                        source="staff", captured_at=routed, received_at=routed,
                        first_name=f"L{i}", last_name="", email=f"l{i}@example.org",
                        email_normalized=f"l{i}@example.org", phone="", phone_normalized=None,
                        company="Acme", job_title="", city="Moscow", country="RU", postal_code="",
                        latitude=None, longitude=None, rating="warm", notes="", answers="{}",
                        badge_raw="", badge_id="", language=None, consent_contact=True,
                        consent_marketing=False, consent_text="", consent_at=None, flags="[]", original="{}",
                        status="new" if untouched else "contacted", deal_value=None,
                        deal_currency=None, lost_reason=None, won_at=None, status_changed_at=None,
                        office_id=office.id, routed_at=routed, claimed_by_id=None, claimed_at=None,
                        first_touch_at=None if untouched else routed + timedelta(hours=1),
                        escalation_level=0, escalated_at=None, ladder_step=0, ladder_routed_at=None,
                        feedback_requested=False, next_step=None, next_step_at=None,
                        status_before_close=None,
                        anonymized_at=None, updated_at=routed,
                    )  # fmt: skip
                    copy.write_row([row[c] for c in columns])
            raw.commit()
            cursor.execute("ANALYZE lead")
            raw.commit()
        finally:
            raw.close()


def bench_sweep(instance: str) -> None:
    from backend.events.models import Event
    from workers.sweep import run_sweep

    app = build_app(None, instance)
    with app.app_context():
        db.session.execute(text("TRUNCATE lead, message, routing_decision, office, event CASCADE"))
        db.session.commit()
        offices = seed_offices(OFFICES)
        event = Event(name="Sweep Expo", brief={"offer": "x"})
        db.session.add(event)
        db.session.commit()
        now = utcnow()
        started = time.perf_counter()
        bulk_leads(app, offices, event.id, now)
        print(
            f"\nsweep: {SWEEP_LEADS:,} leads inserted with COPY in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        report = run_sweep(now=now, dry_run=True)
        dry = time.perf_counter() - started
        print(f"  dry run: {dry:.2f} s, would escalate {len(report['escalated']):,}")
        timings = []
        for run in range(SWEEP_RUNS):
            if run:
                undo_sweep()
            load = os.getloadavg()[0]
            started = time.perf_counter()
            if PROFILE and run == SWEEP_RUNS - 1:
                profile(lambda: run_sweep(now=now))
            else:
                report = run_sweep(now=now)
            took = time.perf_counter() - started
            timings.append(took)
            print(
                f"  sweep {run + 1}: {took:.2f} s (load {load:.2f}) — escalated "
                f"{len(report['escalated']):,}, reminded {len(report['reminded']):,}, "
                f"messages enqueued {report['enqueued']:,}"
            )
        print(f"  sweep median of {len(timings)}: {statistics.median(timings):.2f} s")
        started = time.perf_counter()
        report = run_sweep(now=now + timedelta(minutes=2))
        print(f"  next sweep (nothing new due): {time.perf_counter() - started:.2f} s")
        db.session.remove()


def undo_sweep() -> None:
    """Make the due leads due again: no ladder step, no messages, empty queues."""
    import redis

    db.session.execute(
        text(
            "UPDATE lead SET escalation_level = 0, escalated_at = NULL, ladder_step = 0, "
            "ladder_routed_at = NULL WHERE ladder_step > 0"
        )
    )
    db.session.execute(text("DELETE FROM message"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE lead, message"))
    redis.Redis.from_url(REDIS_URL).flushdb()


def profile(call) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(call)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> None:
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    instance = tempfile.mkdtemp(prefix="leadrelay-bench-")
    inbox = Inbox()
    port = free_port()
    # server_hostname: aiosmtpd otherwise asks DNS for its FQDN on every connection.
    controller = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        smtp_url = f"smtp://127.0.0.1:{port}"
        app = build_app(smtp_url, instance)
        fresh_schema(app)
        if PART in ("all", "latency"):
            bench_latency(app, inbox, smtp_url, instance)
        if PART in ("all", "sweep"):
            bench_sweep(instance)
    finally:
        controller.stop()
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        from backend.extensions import db as _db

        with build_app(None, instance).app_context():
            _db.engine.dispose()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
