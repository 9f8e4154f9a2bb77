"""Helpers for the booth PWA's end-to-end tests: seeded data and small page steps."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead
from tests.conftest import requires_browser  # noqa: F401 - re-exported for the tests
from tests.factories import PASSWORD, make_event, make_office, make_user

# Chromium logs every 4xx answer as a console error; the app probes /api/v1/me once
# on start to learn whether a session exists, and a signed-out probe answers 401.
EXPECTED_CONSOLE = re.compile(r"status of 401 \(UNAUTHORIZED\)", re.I)


@dataclass
class Booth:
    email: str
    password: str
    event_id: int
    event_name: str
    join_token: str
    visitor_token: str


def seed_booth() -> Booth:
    """Two offices, a Hannover event with questions, and a staff member on it (committed)."""
    make_office("BER")
    make_office("MUC")
    event = make_event(
        name="Hannover Messe",
        venue_city="Hannover",
        venue_country="DE",
        venue_latitude=52.3759,
        venue_longitude=9.7320,
        consent_text="We may contact you about our products.",
        questions=[
            {"id": "budget", "label": "Budget", "type": "choice", "options": ["<10k", ">10k"]},
            {"id": "demo", "label": "Wants a demo", "type": "yesno", "options": []},
        ],
    )
    user = make_user("staff", email="booth@example.com", name="Bea Booth")
    user.events.append(event)
    db.session.commit()
    return Booth(
        email=user.email,
        password=PASSWORD,
        event_id=event.id,
        event_name=event.name,
        join_token=event.join_token,
        visitor_token=event.visitor_token,
    )


def server_leads(event_id: int | None = None) -> list[Lead]:
    """Leads as the server stored them (a fresh transaction, so the server's writes show)."""
    db.session.rollback()
    query = select(Lead)
    if event_id is not None:
        query = query.where(Lead.event_id == event_id)
    leads = list(db.session.scalars(query))
    db.session.rollback()
    return leads


def wait_for_server_leads(event_id: int, count: int, timeout: float = 20) -> list[Lead]:
    """Poll until the server has ``count`` leads for the event (the badge can read 0 for a
    moment before a fresh save bumps it, so the badge alone does not prove delivery)."""
    deadline = time.monotonic() + timeout
    while True:
        leads = server_leads(event_id)
        if len(leads) >= count or time.monotonic() > deadline:
            return leads
        time.sleep(0.2)


# Playwright's wait_for_function evaluates strings, which the app's CSP (no 'unsafe-eval')
# forbids; these helpers wait with selectors and expect() instead.


def wait_ready(page) -> None:
    page.wait_for_selector("html[data-ready='true']", timeout=15_000)


def sign_in(page, booth: Booth, path: str = "/app/") -> None:
    page.goto(path)
    wait_ready(page)
    signin = page.locator("#screen-signin")
    signin.get_by_label("Email").fill(booth.email)
    signin.get_by_label("Password").fill(booth.password)
    signin.get_by_role("button", name="Sign in").click()
    page.locator("#screen-capture").wait_for(state="visible")


def wait_for_service_worker(page) -> None:
    """Until the shell is precached and the worker controls the page."""
    page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 100));
        }"""
    )


def capture(page, n: int, *, prefix: str = "Visitor") -> None:
    """Type and save one lead (distinct email and name, so none merges with another)."""
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill(f"{prefix}{n}")
    form.get_by_label("Last name").fill("Tester")
    form.get_by_label("Email").fill(f"{prefix.lower()}{n}@example.org")
    form.get_by_role("radio", name="Warm").check()
    form.get_by_role("button", name="Save lead").click()
    # Saved means: the form is cleared for the next visitor.
    expect(form.get_by_label("First name")).to_have_value("")


def unsynced(page) -> str:
    return page.get_by_test_id("unsynced-count").inner_text()


def expect_unsynced(page, count: int, timeout: float = 20_000) -> None:
    expect(page.get_by_test_id("unsynced-count")).to_have_text(str(count), timeout=timeout)


def unexpected_console(messages: list[str]) -> list[str]:
    return [m for m in messages if not EXPECTED_CONSOLE.search(m)]


class Network:
    """The phone's network: a TCP proxy in front of the live server.

    Playwright's ``set_offline`` only fools the page; the service worker's Background Sync
    still reaches the server. ``unplug()`` cuts every connection for real (page and service
    worker alike) and ``offline()`` also flips ``navigator.onLine``. ``crash_next_sync``
    passes the next ``POST /api/v1/sync`` to the server in full and, as soon as the server
    starts answering (so it has stored the batch), calls ``on_crash`` (which kills the
    server) and drops the phone's connection without an answer.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.unplugged = threading.Event()
        self.armed = threading.Event()
        self.crashed = threading.Event()
        self.on_crash = lambda: None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def offline(self, context) -> None:
        self.unplug()
        context.set_offline(True)

    def online(self, context) -> None:
        self.plug()
        context.set_offline(False)

    def unplug(self) -> None:
        self.unplugged.set()
        with self.lock:
            open_sockets, self.sockets = list(self.sockets), set()
        for sock in open_sockets:
            _close(sock)

    def plug(self) -> None:
        self.unplugged.clear()

    def crash_next_sync(self, on_crash) -> None:
        self.on_crash = on_crash
        self.crashed.clear()
        self.armed.set()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.unplug()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.unplugged.is_set():
                _close(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
        except OSError:
            _close(client)
            return
        with self.lock:
            self.sockets.update((client, upstream))
        state = {"sync": False}

        def to_server():
            try:
                while data := client.recv(65536):
                    if b"POST /api/v1/sync " in data and self.armed.is_set():
                        state["sync"] = True
                    upstream.sendall(data)
            except OSError:
                pass
            finally:
                _close(upstream)

        def to_client():
            try:
                while data := upstream.recv(65536):
                    if state["sync"] and self.armed.is_set():
                        self.armed.clear()
                        self.on_crash()
                        self.crashed.set()
                        return
                    client.sendall(data)
            except OSError:
                pass
            finally:
                _close(client)
                _close(upstream)

        threading.Thread(target=to_server, daemon=True).start()
        to_client()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def seed_office_queue():
    """An office with a rep, booth staff of a Moscow event, and one warm lead already queued."""
    office = make_office("MOW")
    rep = make_user("office_rep", office, email="rita@example.com", name="Rita Rep")
    staff = make_user("staff", email="booth@example.com", name="Bea Booth")
    event = make_event(name="Moscow Expo")
    staff.events.append(event)
    now = utcnow() - timedelta(hours=2)
    db.session.add(
        Lead(client_id=uuid.uuid4(), event_id=event.id, first_name="Early", last_name="Bird",
             rating="warm", office_id=office.id, routed_at=now, received_at=now, captured_at=now)
    )  # fmt: skip
    db.session.commit()
    return rep, staff, event
