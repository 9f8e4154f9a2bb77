"""Faults: the database gone and back, Redis gone, a gunicorn worker killed mid-sync.

Each runs the real thing: a private PostgreSQL cluster started with ``initdb``/``pg_ctl``
on a spare port, gunicorn in a subprocess, SIGKILL to a worker process.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

from backend import create_app
from backend.auth.services import issue_token
from backend.extensions import db
from backend.leads.models import Lead
from backend.messaging.models import Message
from tests.conftest import base_config, reset_schema
from tests.factories import make_event, make_office, make_user
from tests.live import LiveServer, child_pids, free_port, server_env

# --- helpers -------------------------------------------------------------------------


def call(url: str, body=None, token: str | None = None, timeout: float = 30):
    """POST (or GET without a body) JSON; returns (status, headers, json)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read() or b"null")


def lead(event_id: int | None = None, **fields) -> dict:
    n = uuid.uuid4()
    payload = {"client_id": str(n), "first_name": "Fay", "email": f"fay.{n.hex[:10]}@example.com"}
    if event_id is not None:
        payload["event_id"] = event_id
    return {**payload, **fields}


def seed_booth() -> dict:
    """An office, an event and its booth staff with an API token."""
    make_office("MOW")
    event = make_event(name="Fault Expo")
    staff = make_user("staff", email=f"booth.{uuid.uuid4().hex[:6]}@example.com")
    staff.events.append(event)
    db.session.flush()
    token = issue_token(staff, "faults")
    db.session.commit()
    return {"event_id": event.id, "token": token}


# --- a private PostgreSQL cluster ------------------------------------------------------


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temp dir, owned by ``postgres`` when we are root."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="leadrelay-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/leadrelay"

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)
        subprocess.run(command, check=True, capture_output=True, timeout=60, cwd=self.dir)

    def init(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        self.start()
        self._run(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "leadrelay")  # fmt: skip

    def start(self) -> None:
        # fsync off is safe here (the OS keeps the files), but synchronous_commit must stay on:
        # an immediate stop would otherwise drop a transaction the server already confirmed.
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off")  # fmt: skip
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.dir / "log"), "start")  # fmt: skip

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_cluster():
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser is needed to run PostgreSQL as postgres")
    cluster = PrivateCluster()
    cluster.init()
    yield cluster
    cluster.destroy()


def test_with_the_database_down_the_api_answers_503_and_recovers_without_a_restart(
    private_cluster, instance_dir
):
    config = {**base_config(instance_dir, private_cluster.url), "DATABASE_URL": private_cluster.url}
    app = create_app(config)
    reset_schema(app)
    with app.app_context():
        booth = seed_booth()
        db.session.remove()
        db.engine.dispose()
    server = LiveServer(server_env(config)).start()
    url = f"{server.url}/api/v1/events/{booth['event_id']}/leads"
    try:
        assert call(url, lead(), booth["token"])[0] == 201

        private_cluster.stop()
        queued = lead()
        status, headers, body = call(url, queued, booth["token"])
        assert status == 503, body
        assert body["error"]["code"] == "database_unavailable"
        assert int(headers["Retry-After"]) > 0
        health = call(f"{server.url}/healthz")
        assert health[0] == 503
        assert (health[2]["database"], health[2]["redis"]) == ("down", "ok")

        private_cluster.start()
        # The same server process, its pool re-checked: the queued lead now lands.
        assert call(url, queued, booth["token"])[0] == 201
        assert call(url, queued, booth["token"])[0] == 200  # and a replay is a replay
        assert call(f"{server.url}/healthz")[0] == 200
    finally:
        server.stop()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 2
        db.session.remove()
        db.engine.dispose()


# --- Redis unreachable ---------------------------------------------------------------


def test_with_redis_unreachable_capture_still_answers_201_and_follow_ups_wait_in_the_database(
    app, api
):
    booth = seed_booth()
    # Point the app at a port nobody listens on (the fixture flushed the real Redis first).
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    app.extensions.pop("leadrelay_redis", None)
    headers = {"Authorization": f"Bearer {booth['token']}"}
    payload = lead(consent={"contact": True, "text": "yes"})
    started = time.monotonic()
    response = api.post(f"/api/v1/events/{booth['event_id']}/leads", json=payload,
                        headers=headers)  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert time.monotonic() - started < 10
    db.session.expire_all()
    stored = db.session.scalar(
        db.select(Lead).where(Lead.client_id == uuid.UUID(payload["client_id"]))
    )
    pending = db.session.scalars(db.select(Message).where(Message.lead_id == stored.id)).all()
    assert {m.kind for m in pending} >= {"autoresponder"}
    assert {m.status for m in pending} == {"pending"}  # the sweep enqueues them later
    # Which dependency is down, never the exception it raised.
    assert api.get("/healthz").get_json() == {"status": "ok", "database": "ok", "redis": "down"}


# --- a gunicorn worker killed during a batch sync --------------------------------------


@contextlib.contextmanager
def lead_table_locked(database_url: str):
    """Hold a write lock on the leads so the server's batch waits mid-transaction: the
    kill lands inside it however fast the server is (SQLite waits up to its busy timeout)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection = psycopg.connect(database_url)
        connection.execute("LOCK TABLE lead IN SHARE ROW EXCLUSIVE MODE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def _sync_until_accepted(url: str, batch: list[dict], token: str, attempts: list) -> dict:
    """What the phone's outbox does: resend the same batch until the server answers 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _, body = call(url, {"leads": batch}, token, timeout=20)
            attempts.append(status)
            if status == 200:
                return body
        except (OSError, ConnectionError) as exc:  # reset or closed mid-request
            attempts.append(type(exc).__name__)
        time.sleep(0.2)
    raise AssertionError(f"the batch never got through: {attempts}")


def test_a_worker_killed_during_a_batch_sync_loses_and_doubles_nothing(
    app, instance_dir, database_url
):
    booth = seed_booth()
    server = LiveServer(server_env(base_config(instance_dir, database_url)), workers=1).start()
    url = f"{server.url}/api/v1/sync"
    batch = [lead(booth["event_id"], notes="n" * 2000) for _ in range(500)]
    attempts: list = []
    try:
        [worker] = child_pids(server.proc.pid)
        result: dict = {}
        sender = threading.Thread(
            target=lambda: result.update(_sync_until_accepted(url, batch, booth["token"], attempts))
        )
        with lead_table_locked(database_url):
            sender.start()
            time.sleep(0.5)  # the batch has been read and waits to write its leads
            os.kill(worker, signal.SIGKILL)
        sender.join(90)
        assert result, attempts
    finally:
        server.stop()
    assert len(attempts) >= 2, f"the kill did not interrupt the first attempt: {attempts}"
    statuses = {r["status"] for r in result["results"]}
    assert statuses <= {"created", "duplicate"}, statuses
    db.session.expire_all()
    ids = db.session.scalars(db.select(Lead.client_id)).all()
    assert len(ids) == len(set(ids)) == 500
    assert {str(i) for i in ids} == {item["client_id"] for item in batch}
