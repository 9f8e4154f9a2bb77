"""Fixtures for the follow-up workers: a real SMTP server, a real webhook receiver,
a burst SimpleWorker in the app context, and leads captured through the real service.

Shared by ``tests/messaging`` and ``tests/workers``: each directory's ``conftest.py``
imports the fixtures from here so pytest sees them there."""

from __future__ import annotations

import asyncio
import email
import http.server
import threading
import time
import uuid
from email import policy

import pytest
from aiosmtpd.controller import Controller
from rq import SimpleWorker

from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.leads.models import Lead
from backend.messaging.models import Message
from backend.transaction import commit
from tests.factories import make_event, make_office, make_user
from tests.live import free_port
from workers.queues import AppWorker, make_worker


class MailBox:
    """An aiosmtpd handler that keeps every mail; ``hold`` makes MAIL FROM hang."""

    def __init__(self):
        self.mails: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.hold = threading.Event()  # set: the server stalls after MAIL FROM
        self.held = threading.Event()  # set by the server once a sender is stalled
        self.received = threading.Condition()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.hold.is_set():
            self.held.set()
            while self.hold.is_set():
                await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mail = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.received:
            self.mails.append(mail)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        with self.received:
            while len(self.mails) < count and time.monotonic() < deadline:
                self.received.wait(0.1)
        return list(self.mails)

    def to(self, address: str) -> list:
        address = address.lower()
        return [
            m
            for m, (_, rcpts) in zip(self.mails, self.envelopes, strict=True)
            if address in {r.lower() for r in rcpts}
        ]


@pytest.fixture
def smtp():
    box = MailBox()
    port = free_port()  # aiosmtpd's Controller does not take port 0
    controller = Controller(box, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    box.hold.clear()
    controller.stop()


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.hits: list[tuple[str, dict, bytes]] = []
        self.status = 200
        super().__init__(("127.0.0.1", 0), _Hook)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.hits.append((self.path, headers, body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def config(config, smtp):
    return {**config, "SMTP_URL": smtp.url}


class AppSimpleWorker(AppWorker, SimpleWorker):
    """The app's worker, running jobs in this process (RQ's SimpleWorker).

    In RQ 3 Worker and SimpleWorker are siblings, so the non-forking methods are
    taken explicitly.
    """

    execute_job = SimpleWorker.execute_job
    get_heartbeat_ttl = SimpleWorker.get_heartbeat_ttl


@pytest.fixture
def run_worker(app):
    def run(queues=("mail", "webhooks", "escalation")):
        db.session.commit()
        worker = make_worker(app, queues, worker_class=AppSimpleWorker)
        worker.work(burst=True)
        db.session.expire_all()
        return worker

    return run


@pytest.fixture
def world(app):
    """Two offices in Moscow and Saint Petersburg with staff, an event, a marketing user."""
    mow = make_office("MOW", sla_hours=24)
    spb = make_office("SPB", sla_hours=24)
    users = {
        "marketing": make_user("marketing", email="mkt@example.com"),
        "mow_manager": make_user("office_manager", mow, email="boss@mow.example.com"),
        "mow_rep": make_user("office_rep", mow, email="rep@mow.example.com"),
        "spb_manager": make_user("office_manager", spb, email="boss@spb.example.com"),
    }
    event = make_event(
        name="Innoprom",
        feedback_sample_size=2,
        autoresponder_subject="Thanks for visiting us at {event}, {first_name}",
        autoresponder_body=(
            "Hello {first_name} from {company},\n\nour offer: {offer}.\n"
            "Call {office_name} at {office_phone} or write to {office_email}."
        ),
    )
    db.session.commit()
    return dict(mow=mow, spb=spb, event=event, **users)


def lead_payload(event, **fields) -> dict:
    values = dict(
        client_id=str(uuid.uuid4()),
        event_id=event.id,
        first_name="Anna",
        last_name="Petrova",
        email=f"anna.{uuid.uuid4().hex[:8]}@example.org",
        company="Acme",
        city="Moscow",
        country="RU",
        rating="hot",
        consent={"contact": True, "text": "ok to contact"},
    )
    values.update(fields)
    return values


@pytest.fixture
def capture(world):
    """Capture leads through the real service as marketing; returns the Lead rows."""

    def run(count: int = 1, event=None, **fields) -> list[Lead]:
        event = event or world["event"]
        payloads = [lead_payload(event, **fields) for _ in range(count)]
        results = capture_batch(payloads, user=world["marketing"])
        commit()  # as the capture request does
        assert all(r.status == "created" for r in results), [r.errors for r in results]
        return [r.lead for r in results]

    return run


def messages(**where) -> list[Message]:
    db.session.expire_all()
    query = db.select(Message).order_by(Message.id)
    for name, value in where.items():
        query = query.where(getattr(Message, name) == value)
    return list(db.session.scalars(query))


def at_once(app, call, times: int) -> list:
    """``call()`` in ``times`` threads at once, each in its own app context and session;
    returns what each returned."""
    results = []

    def run():
        with app.app_context():
            results.append(call())
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
