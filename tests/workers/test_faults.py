"""Faults: Redis stopped and restarted, a worker SIGKILLed mid-send — nothing lost, nothing twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest

from backend.cli import main
from backend.db_types import utcnow
from backend.extensions import db
from tests.followup import free_port, lead_payload, messages
from tests.live import child_pids
from tests.run import answers, redis_binary
from workers.schedule import SCHEDULE, make_cron
from workers.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[2]


class PrivateRedis:
    """A redis-server of our own on a spare port, to stop and start at will."""

    def __init__(self, binary: str):
        self.binary, self.port, self.proc = binary, free_port(), None
        self.dir = tempfile.mkdtemp(prefix="leadrelay-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            if answers("127.0.0.1", self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis():
    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server binary")
    server = PrivateRedis(binary)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def config(config, private_redis):
    return {**config, "REDIS_URL": private_redis.url}


def test_leads_captured_while_redis_is_down_are_followed_up_once_it_is_back(
    private_redis, world, api, auth, run_worker, smtp
):
    auth.login("mkt@example.com")
    private_redis.stop()
    event_id = world["event"].id
    for _ in range(3):
        response = api.post(f"/api/v1/events/{event_id}/leads", json=lead_payload(world["event"]))
        assert response.status_code == 201, response.get_json()
    assert {m.status for m in messages()} == {"pending"}
    assert len(messages()) == 6

    private_redis.start()
    report = run_sweep(now=utcnow() + timedelta(minutes=2))
    assert report["enqueued"] == 6
    run_worker()
    assert {(m.status, m.attempts) for m in messages()} == {("sent", 1)}
    assert len(smtp.wait_for(6)) == 6
    time.sleep(0.3)
    assert len(smtp.mails) == 6

    run_sweep(now=utcnow() + timedelta(minutes=3))
    run_worker()
    assert len(smtp.mails) == 6


def _worker_env(app) -> dict:
    config = app.config
    return {
        **os.environ,
        "DATABASE_URL": config["DATABASE_URL"],
        "REDIS_URL": config["REDIS_URL"],
        "SMTP_URL": config["SMTP_URL"],
        "SECRET_KEY": config["SECRET_KEY"],
        "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
        "LEADRELAY_INSTANCE": config["INSTANCE_PATH"],
        "RATELIMIT_ENABLED": "0",
    }


def test_a_worker_killed_mid_send_still_delivers_the_mail_exactly_once(
    app, world, capture, smtp, run_worker
):
    capture(consent={"contact": False})  # one message: the office notice
    [notice] = messages()
    smtp.hold.set()  # the SMTP server stalls after MAIL FROM, before any DATA
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/leadrelay"), "worker", "--queues", "mail"],
        env=_worker_env(app),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert smtp.held.wait(30), "the worker never reached the SMTP server"
        assert messages()[0].status == "sending"
        assert child_pids(worker.pid), "no work horse to kill"
    finally:
        # RQ's work horse runs in its own session: kill it and its worker, both -9.
        for pid in [*child_pids(worker.pid), worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait(10)
    smtp.hold.clear()
    assert smtp.mails == []

    # Within the job timeout the row is left alone: the worker might still be alive.
    assert run_sweep(now=utcnow() + timedelta(seconds=30))["recovered_sending"] == 0
    report = run_sweep(now=utcnow() + timedelta(minutes=5))
    assert report["recovered_sending"] == 1 and report["enqueued"] == 1
    run_worker()
    run_worker()
    assert len(smtp.wait_for(1)) == 1
    time.sleep(0.3)
    assert len(smtp.to(world["mow"].email)) == 1
    row = messages()[0]
    assert (row.id, row.status, row.attempts) == (notice.id, "sent", 2)


def test_the_cron_enqueues_the_sweep_which_runs_in_the_app_context(app, run_worker, world):
    cron = make_cron(app)
    assert [job.name for job in cron.get_jobs()] == [entry["name"] for entry in SCHEDULE]
    job = cron.get_jobs()[0].enqueue(cron.connection)
    assert job.origin == "escalation"
    run_worker(["escalation"])
    job.refresh()
    assert job.get_status() == "finished", job.latest_result().exc_string
    assert job.return_value()["dry_run"] is False
    db.session.rollback()


def test_the_sweep_runs_from_the_command_line(runner, world):
    result = runner.invoke(main, args=["sweep", "--now", "2026-06-03T12:00:00+03:00"])
    assert result.exit_code == 0, result.output
    assert '"dry_run": false' in result.output
