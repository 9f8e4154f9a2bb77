"""One retry clock: a failed row waits for its ``retry_at`` (10, 30, 60, 300, 900 s after
each failure), its next job is scheduled for exactly then, nothing claims it earlier,
and the Outbox shows that time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue

from backend.db_types import utcnow
from backend.extensions import db
from backend.messaging.models import Message
from backend.messaging.sending import DELIVER_JOB, MAX_ATTEMPTS, RETRY_INTERVALS
from backend.queues import MAIL
from backend.redis_conn import connect
from tests.factories import make_user
from tests.followup import messages

REFUSED = "smtp://127.0.0.1:1"  # nothing listens there: every attempt is refused


@pytest.fixture
def mail_queue(app):
    return Queue(MAIL, connection=connect(app))


def _row(message_id: int) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def _timed(run_worker):
    """Run the worker; returns the interval in which its attempt failed."""
    before = utcnow()
    run_worker([MAIL])
    return before, utcnow()


def test_each_retry_waits_its_own_time_then_the_row_fails_with_its_error(
    app, capture, run_worker, mail_queue
):
    app.config["SMTP_URL"] = REFUSED
    capture()
    [auto] = messages(kind="autoresponder")
    registry = mail_queue.scheduled_job_registry
    assert MAX_ATTEMPTS == len(RETRY_INTERVALS) + 1 == 6

    failed_between = _timed(run_worker)  # attempt 1: the capture's batch job
    for attempt, wait in enumerate(RETRY_INTERVALS, start=1):
        row = _row(auto.id)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "ConnectionRefusedError" in row.last_error
        # The row's clock: the failure time plus this attempt's wait (to the second up).
        earliest, latest = (t + timedelta(seconds=wait) for t in failed_between)
        assert earliest <= row.retry_at < latest + timedelta(seconds=1)
        assert row.retry_at.microsecond == 0
        # RQ's clock: one job for the next attempt, due at that very second, not before.
        job_id = f"deliver-{auto.id}-{attempt + 1}"
        job = mail_queue.fetch_job(job_id)
        assert job is not None and job.retries_left is None  # no RQ Retry
        assert registry.get_scheduled_time(job) == row.retry_at
        due = int(row.retry_at.timestamp())
        assert job_id not in registry.get_jobs_to_schedule(due - 1)
        assert job_id in registry.get_jobs_to_schedule(due)

        # A job that arrives early (a sweep's, a duplicate) claims nothing.
        early = mail_queue.enqueue(DELIVER_JOB, auto.id)
        run_worker([MAIL])
        assert early.latest_result().return_value == "not pending"
        assert (_row(auto.id).attempts, _row(auto.id).retry_at) == (attempt, row.retry_at)

        # The time comes: the row is due and RQ's scheduler moves the job to its queue.
        row.retry_at = utcnow()
        db.session.commit()
        registry.remove(job)
        mail_queue.enqueue_job(job)
        failed_between = _timed(run_worker)  # attempt ``attempt + 1``

    row = _row(auto.id)
    assert (row.status, row.attempts, row.retry_at) == ("failed", MAX_ATTEMPTS, None)
    assert "ConnectionRefusedError" in row.last_error
    assert mail_queue.fetch_job(f"deliver-{auto.id}-{MAX_ATTEMPTS + 1}") is None


def test_the_outbox_shows_the_time_the_worker_keeps(
    app, capture, run_worker, mail_queue, client, auth
):
    app.config["SMTP_URL"] = REFUSED
    capture()
    run_worker([MAIL])
    [auto] = messages(kind="autoresponder")
    job = mail_queue.fetch_job(f"deliver-{auto.id}-2")
    scheduled = mail_queue.scheduled_job_registry.get_scheduled_time(job)
    make_user("admin", email="root@example.com")
    db.session.commit()
    auth.login("root@example.com")

    html = client.get("/admin/outbox?status=pending").get_data(as_text=True)

    assert f"next attempt {scheduled:%Y-%m-%d %H:%M:%S} UTC" in html


def test_a_retry_whose_job_was_lost_is_sent_again_by_the_sweep_once_due(
    app, capture, run_worker, mail_queue, smtp
):
    from workers.sweep import run_sweep

    app.config["SMTP_URL"] = REFUSED
    [lead] = capture()
    run_worker([MAIL])
    [auto] = messages(kind="autoresponder")
    retry_at = auto.retry_at
    mail_queue.fetch_job(f"deliver-{auto.id}-2").delete()  # Redis lost it
    app.config["SMTP_URL"] = smtp.url

    def swept(now) -> set[int]:
        before = set(mail_queue.job_ids)
        run_sweep(now=now)
        jobs = [mail_queue.fetch_job(j) for j in set(mail_queue.job_ids) - before]
        return {job.args[0] for job in jobs if job.func_name == DELIVER_JOB}

    assert auto.id not in swept(retry_at - timedelta(seconds=1))
    assert auto.id in swept(retry_at + timedelta(minutes=5))
    row = _row(auto.id)
    row.retry_at = utcnow()  # the sweep's time has come for the row too
    db.session.commit()
    run_worker([MAIL])
    row = _row(auto.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp.to(lead.email)) == 1
