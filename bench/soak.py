"""Soak: 50 simulated phones capture and sync leads over a bad network for 60 s.

`python bench/soak.py [--seconds 60] [--phones 50]` (needs PostgreSQL on 127.0.0.1 and
Redis). It starts gunicorn, a `leadrelay worker` and an in-process SMTP server, in a
scratch database `leadrelay_soak` (created and dropped here) and Redis db 13 (flushed).

Each phone (a thread) keeps an outbox like the booth app: it captures a few leads, then
syncs the whole outbox as one batch. Some syncs go wrong on purpose: the connection is
closed half way through the request, or the request is sent and the response never read.
A lead leaves the outbox only when a 200 answer names it; anything else is retried with
backoff. After the run every phone drains its outbox, the worker drains the mail queue,
and the script prints leads sent, stored, duplicates, lost, autoresponders sent (and
received, and received twice) and the p99 sync latency. Goal: 0 lost, 0 duplicates,
every autoresponder sent once. Rate limits are off: every phone shares 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/ holds a queue.py that would shadow the stdlib module

from aiosmtpd.controller import Controller  # noqa: E402

from tests.live import free_port  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgresql://127.0.0.1:5432")
DB_NAME = "leadrelay_soak"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CUT_REQUEST, DROP_RESPONSE = 0.08, 0.08  # share of syncs that go wrong on purpose


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True, capture_output=True)


class Inbox:
    """The SMTP server's handler: how many mails each recipient got."""

    def __init__(self):
        self.count: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.count[rcpt.lower()] += 1
        return "250 OK"


def setup(app, phones: int) -> tuple[int, list[str]]:
    """Schema, three offices, an event and one booth staff member (with a token) per phone."""
    import redis
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from backend.auth.models import User
    from backend.auth.services import issue_token
    from backend.events.models import Event
    from backend.extensions import db
    from backend.offices.models import Office

    with app.app_context():
        upgrade()
        redis.Redis.from_url(REDIS_URL).flushdb()
        for i, (city, lat, lon) in enumerate(
            [("Moscow", 55.75, 37.61), ("Saint Petersburg", 59.94, 30.31), ("Kazan", 55.79, 49.12)]
        ):
            db.session.add(Office(code=f"O{i}", name=f"{city} office", city=city, country="RU",
                                  latitude=lat, longitude=lon, timezone="Europe/Moscow",
                                  email=f"o{i}@offices.example.com", territories=[]))  # fmt: skip
        event = Event(name="Soak Expo", venue_city="Moscow", venue_country="RU",
                      venue_latitude=55.75, venue_longitude=37.61, starts_on=date.today(),
                      ends_on=date.today(), autoresponder_subject="Thanks, {first_name}",
                      autoresponder_body="Hello {first_name}", feedback_sample_size=0)  # fmt: skip
        db.session.add(event)
        cheap = generate_password_hash("soak", method="pbkdf2:sha256:1000")
        tokens = []
        for n in range(phones):
            user = User(email=f"phone{n}@soak.example", name=f"Phone {n}", role="staff",
                        password_hash=cheap)  # fmt: skip
            user.events.append(event)
            db.session.add(user)
            db.session.flush()
            tokens.append(issue_token(user, "soak"))
        db.session.commit()
        return event.id, tokens


class Phone(threading.Thread):
    """One booth phone: captures leads into its outbox and syncs it, over a bad network."""

    def __init__(self, n: int, port: int, token: str, event_id: int, until: float, seed: int):
        super().__init__(daemon=True)
        self.n, self.port, self.token, self.event_id, self.until = n, port, token, event_id, until
        self.rng = random.Random(seed)
        self.outbox: dict[str, dict] = {}
        self.sent: set[str] = set()
        self.latencies: list[float] = []
        self.faults = Counter()

    def capture(self) -> None:
        for _ in range(self.rng.randint(1, 4)):
            cid = str(uuid.uuid4())
            self.outbox[cid] = {
                "client_id": cid, "event_id": self.event_id, "first_name": f"V{self.n}",
                "email": f"v-{cid}@visitors.example", "city": "Moscow", "country": "RU",
                "rating": self.rng.choice(["hot", "warm", "cold"]),
                "consent": {"contact": True, "text": "I agree"},
            }  # fmt: skip
            self.sent.add(cid)

    def _request(self, body: bytes) -> bytes:
        head = (f"POST /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                f"\r\nAuthorization: Bearer {self.token}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()  # fmt: skip
        return head + body

    def sync(self) -> None:
        if not self.outbox:
            return
        batch = list(self.outbox.values())
        body = json.dumps({"leads": batch}).encode()
        roll = self.rng.random()
        try:
            if roll < CUT_REQUEST:  # the network dies half way through the upload
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    raw = self._request(body)
                    sock.sendall(raw[: self.rng.randint(1, len(raw) - 1)])
                self.faults["cut request"] += 1
                return
            if roll < CUT_REQUEST + DROP_RESPONSE:  # sent whole, the answer never arrives
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(self._request(body))
                    time.sleep(self.rng.uniform(0, 0.2))
                self.faults["dropped response"] += 1
                return
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request(
                "POST",
                "/api/v1/sync",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
            )
            response = conn.getresponse()
            payload = response.read()
            conn.close()
            if response.status != 200:
                self.faults[f"http {response.status}"] += 1
                return
            self.latencies.append(time.perf_counter() - started)
            for result in json.loads(payload)["results"]:
                if result["status"] in ("created", "duplicate", "merged"):
                    self.outbox.pop(result["client_id"], None)
                else:
                    self.faults["rejected"] += 1
        except OSError as exc:
            self.faults[type(exc).__name__] += 1

    def run(self) -> None:
        while time.monotonic() < self.until:
            self.capture()
            self.sync()
            time.sleep(self.rng.uniform(0.2, 1.5))
        drain_until = time.monotonic() + 60
        while self.outbox and time.monotonic() < drain_until:
            self.sync()
            time.sleep(self.rng.uniform(0.1, 0.5))


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn died") from None
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def count_results(app, sent: set[str]) -> dict:
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.leads.models import Lead
    from backend.messaging.models import Message

    with app.app_context():
        ids = {str(c) for c in db.session.scalars(select(Lead.client_id))}
        per_email = db.session.execute(
            select(Lead.email, func.count()).group_by(Lead.email).having(func.count() > 1)
        ).all()
        mails = dict(
            db.session.execute(
                select(Message.status, func.count())
                .where(Message.kind == "autoresponder")
                .group_by(Message.status)
            ).all()
        )
        db.session.remove()
    return {"stored": len(ids & sent), "unknown": len(ids - sent), "duplicates": len(per_email),
            "lost": len(sent - ids), "autoresponders": mails}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--mail-wait", type=float, default=120, help="max wait for the mails")
    args = parser.parse_args()

    from backend import create_app

    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    instance = tempfile.mkdtemp(prefix="leadrelay-soak-")
    inbox = Inbox()
    smtp_port = free_port()  # aiosmtpd's Controller does not take port 0
    controller = Controller(
        inbox, hostname="127.0.0.1", port=smtp_port, server_hostname="localhost"
    )
    controller.start()
    env = {
        **os.environ, "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS_URL,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "SECRET_KEY": "soak",
        "LEADRELAY_INSTANCE": instance, "RATELIMIT_ENABLED": "0",
        "PUBLIC_BASE_URL": "http://soak.test",
    }  # fmt: skip
    app = create_app({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY",
                                          "PUBLIC_BASE_URL")} | {"INSTANCE_PATH": instance,
                                                                 "RATELIMIT_ENABLED": False})  # fmt: skip
    procs: list[subprocess.Popen] = []
    try:
        event_id, tokens = setup(app, args.phones)
        port = free_port()
        log = open(Path(instance) / "gunicorn.log", "ab")  # noqa: SIM115 - the child owns it
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "backend.wsgi:app", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", "8", "--preload", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        procs.append(web)
        worker = subprocess.Popen(
            [str(ROOT / ".venv/bin/leadrelay"), "worker"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        procs.append(worker)
        wait_for(f"http://127.0.0.1:{port}/livez", web)

        print(f"soak: {args.phones} phones for {args.seconds:g} s against gunicorn "
              f"({args.workers} workers) + PostgreSQL + a worker")  # fmt: skip
        until = time.monotonic() + args.seconds
        phones = [Phone(n, port, tokens[n], event_id, until, seed=n) for n in range(args.phones)]
        for phone in phones:
            phone.start()
        for phone in phones:
            phone.join(args.seconds + 120)

        sent = set().union(*(p.sent for p in phones))
        left = sum(len(p.outbox) for p in phones)
        result = count_results(app, sent)
        deadline = time.monotonic() + args.mail_wait
        while time.monotonic() < deadline:
            with inbox.lock:
                received = sum(1 for r in inbox.count if r.startswith("v-"))
            if received >= result["stored"]:
                break
            time.sleep(1)
        result = count_results(app, sent)
        with inbox.lock:
            visitor_mails = {r: c for r, c in inbox.count.items() if r.startswith("v-")}
        latencies = sorted(x for p in phones for x in p.latencies)
        faults = sum((p.faults for p in phones), Counter())
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else float("nan")

        print(f"leads sent            {len(sent)}")
        print(f"leads stored          {result['stored']}")
        print(f"duplicates            {result['duplicates']}")
        print(f"lost                  {result['lost']}  (still in outboxes: {left})")
        print(f"autoresponders sent   {result['autoresponders'].get('sent', 0)}  "
              f"(statuses {result['autoresponders']})")  # fmt: skip
        print(f"  received by SMTP    {len(visitor_mails)}, "
              f"received twice {sum(1 for c in visitor_mails.values() if c > 1)}")  # fmt: skip
        print(f"syncs answered 200    {len(latencies)}   p50 "
              f"{statistics.median(latencies) * 1000:.0f} ms   p99 {p99 * 1000:.0f} ms")  # fmt: skip
        print(f"faults injected/seen  {dict(faults)}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
        controller.stop()
        with app.app_context():
            from backend.extensions import db

            db.engine.dispose()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
