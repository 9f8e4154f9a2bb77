"""Sending the outbox: waking the workers for new rows, and the delivery jobs.

The web side (and the sweep) write pending rows and call ``enqueue_messages`` to have
them delivered now; Redis only carries that hint, the row is the truth, and the sweep
re-enqueues pending rows whose hint was lost. The jobs live here too, beside the
enqueueing, as redash keeps ``enqueue_query`` beside ``execute_query``; the workers
run them by their path (``BATCH_JOB``, ``DELIVER_JOB``).

Rows are claimed with a conditional UPDATE (pending -> sending) before they are sent,
so a duplicated or replayed job finds nothing to do. ``deliver_batch`` claims all of
its ids in one UPDATE … RETURNING, renders them from their leads in a few queries,
sends them over one SMTP session and records each one as it goes.

One retry clock: a failed attempt puts the row back to pending with ``retry_at``
(``RETRY_INTERVALS`` after the failure) and schedules one ``deliver-<id>-<attempt>``
job for that time; the claim takes no row before its ``retry_at``, so a job that
arrives early (the sweep's, a batch's) claims nothing. Jobs carry no RQ ``Retry``.
After ``MAX_ATTEMPTS`` the row is ``failed`` with the error kept for the Outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from backend import transaction
from backend.db_bulk import in_values
from backend.db_types import utcnow
from backend.extensions import db
from backend.messaging.models import Message
from backend.messaging.rendering import render_messages
from backend.messaging.unsubscribe import unsubscribed
from backend.queues import get_queue, queue_for
from backend.redis_conn import connect

log = logging.getLogger(__name__)

DELIVER_JOB = "backend.messaging.sending.deliver_message"
BATCH_JOB = "backend.messaging.sending.deliver_batch"
JOB_TIMEOUT = 60
# Messages per delivery job: one fork, one database connection and one SMTP session
# serve them all.
BATCH_SIZE = 100
# The channels delivered by one batch job per queue; the others (Telegram) one job a row.
BATCH_CHANNELS = ("email", "webhook")
# Set while a batch job waits in its queue (the job clears it when it starts); it
# expires on its own should that job be lost.
KICK_TTL = 60
# Seconds from a failed attempt to the next one; after the last, the row has failed.
RETRY_INTERVALS = [10, 30, 60, 300, 900]
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
# A batch stops claiming time well inside the job timeout (and the sweep's "stuck"
# limit): what it has not sent by then goes back to pending and into a new job.
BATCH_BUDGET = JOB_TIMEOUT / 2
# A channel job keeps taking newly written rows this long, then leaves the rest to the
# next job, so the webhook and escalation queues get the worker too.
DRAIN_FOR = 2.0
# A process that found a batch job waiting (or enqueued one) this recently does not ask
# Redis again: that job has not started yet, and once started it looks for new rows until
# at least ``LINGER`` after its start (and asks for another job if it stops on DRAIN_FOR),
# so rows committed within ``WAKE_REUSE`` of the ask are its or its successor's. Under a
# burst of captures a web process asks ~10 times a second, not once per capture (the
# Redis command was a tenth of a capture's CPU). A job that dies after its start (killed,
# out of memory) leaves those rows to the sweep, as it leaves the rows it had claimed.
WAKE_REUSE = 0.1
# How long a batch job goes on looking for new rows (every ``LINGER_POLL``) after its
# start when it finds none: longer than ``WAKE_REUSE`` by a margin for the commit and the
# last look.
LINGER = WAKE_REUSE + 0.15
LINGER_POLL = 0.05
_WOKEN = "leadrelay.batch_woken"  # in app.extensions: queue name -> when this process asked


def kick_key(queue_name: str) -> str:
    return f"leadrelay:batch-waiting:{queue_name}"


def deliver_job_id(message_id: int, attempt: int) -> str:
    """The id of the job that makes attempt number ``attempt`` (1 = the first) of a row.

    One id per attempt: RQ keeps one hash per job id, and a ``deliver-<id>`` job that
    failed would write its finished state (and the expiry of its result) over the
    job it had just scheduled for the next attempt under the same id.
    """
    return f"deliver-{message_id}-{attempt}"


def next_retry_at(attempts: int, failed_at: datetime) -> datetime | None:
    """When a row that has made ``attempts`` attempts, the last failing at ``failed_at``,
    is tried again; None when it has had its last attempt.

    Rounded up to the whole second: RQ schedules in whole seconds, and a job moved to
    its queue before the row's time would claim nothing.
    """
    if attempts >= MAX_ATTEMPTS:
        return None
    wait = RETRY_INTERVALS[min(attempts, len(RETRY_INTERVALS)) - 1]
    at = failed_at + timedelta(seconds=wait)
    if at.microsecond:
        at = at.replace(microsecond=0) + timedelta(seconds=1)
    return at


# --- enqueueing --------------------------------------------------------------------


def _without_live_jobs(queue, job_ids: dict[int, str]) -> dict[int, str]:
    """Drop rows whose job still waits in Redis (queued, or scheduled for a retry)."""
    with queue.connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids.values():
            pipe.hget(f"rq:job:{job_id}", "status")
        statuses = pipe.execute()
    # "started" is not live here: a pending row whose job says started lost its worker.
    live = {b"queued", b"scheduled", b"deferred"}
    return {
        m: job_id
        for (m, job_id), status in zip(job_ids.items(), statuses, strict=True)
        if status not in live
    }


def _rows(message_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """(channel, attempts made) of each row, by id."""
    rows = db.session.execute(
        select(Message.id, Message.channel, Message.attempts).where(
            in_values(Message.id, list(message_ids))
        )
    )
    return {message_id: (channel, attempts) for message_id, channel, attempts in rows}


def _enqueue_each(queue, message_ids: list[int], attempts: dict[int, int], only_missing) -> int:
    """One ``deliver-<id>-<attempt>`` job per row (for its next attempt)."""
    job_ids = {m: deliver_job_id(m, attempts.get(m, 0) + 1) for m in sorted(message_ids)}
    if only_missing:
        job_ids = _without_live_jobs(queue, job_ids)
    jobs = [
        queue.prepare_data(DELIVER_JOB, (m,), job_id=job_id, timeout=JOB_TIMEOUT)
        for m, job_id in job_ids.items()
    ]
    for start in range(0, len(jobs), 1000):
        queue.enqueue_many(jobs[start : start + 1000])
    return len(jobs)


def enqueue_messages(
    message_ids: Sequence[int],
    *,
    only_missing: bool = False,
    batch_size: int = BATCH_SIZE,
    channels: dict[int, str] | None = None,
) -> int:
    """Ask the workers to deliver these messages now; returns how many were enqueued.

    Call it once the rows are committed (``transaction.after_commit``). New e-mail and
    webhook rows go to the ``deliver_batch`` job of their queue: a new one, or the one
    already waiting, which will take them too. Telegram rows, and with
    ``only_missing`` (the sweep re-sending old pending rows) every row, get one
    ``deliver-<id>-<attempt>`` job each; ``only_missing`` skips rows whose job is
    still alive in Redis (queued, or scheduled for its retry), so a backed-up queue is
    not filled twice. Never raises for Redis trouble: the rows stay pending and the
    sweep retries.
    """
    if not message_ids:
        return 0
    app = current_app._get_current_object()
    attempts: dict[int, int] = {}
    if channels is None or only_missing:  # the caller who just wrote the rows knows them
        rows = _rows(message_ids)
        channels = {m: channel for m, (channel, _) in rows.items()}
        attempts = {m: made for m, (_, made) in rows.items()}
    each: dict[str, list[int]] = {}
    batches: dict[str, list[int]] = {}
    for message_id, channel in channels.items():
        if only_missing or channel not in BATCH_CHANNELS:
            each.setdefault(queue_for(channel), []).append(message_id)
        else:
            batches.setdefault(channel, []).append(message_id)
    enqueued = 0
    try:
        for name, ids in sorted(each.items()):
            enqueued += _enqueue_each(get_queue(app, name), ids, attempts, only_missing)
        woken = app.extensions.setdefault(_WOKEN, {})
        for channel, ids in sorted(batches.items()):
            name = queue_for(channel)
            enqueued += len(ids)
            asked, last = time.monotonic(), woken.get(name)
            if last is not None and asked - last < WAKE_REUSE:
                continue  # a batch job was waiting a moment ago: these are its (WAKE_REUSE)
            queue = get_queue(app, name)
            # One batch job at a time per queue: while one waits, the rows written
            # meanwhile are its to take (it claims every due pending row of its
            # channel), so a burst of captures costs a few forks, not one each.
            if queue.connection.set(kick_key(name), 1, nx=True, ex=KICK_TTL):
                queue.enqueue(BATCH_JOB, sorted(ids)[:batch_size], channel, job_timeout=JOB_TIMEOUT)
            woken[name] = asked  # when asked, not answered: the job started after it
    except RedisError as exc:
        log.warning(
            "Redis unavailable, %d messages stay pending for the sweep: %s", len(channels), exc
        )
        return 0
    return enqueued


def schedule_retry(message: Message) -> None:
    """One job for the row's next attempt, at its ``retry_at`` (the sweep covers a lost one)."""
    queue = get_queue(current_app._get_current_object(), queue_for(message.channel))
    try:
        queue.enqueue_at(
            message.retry_at,
            DELIVER_JOB,
            message.id,
            job_id=deliver_job_id(message.id, message.attempts + 1),
            job_timeout=JOB_TIMEOUT,
        )
    except RedisError as exc:
        log.warning("retry of message %s left to the sweep: %s", message.id, exc)


# --- delivery ----------------------------------------------------------------------


def claim_messages(message_ids, channel: str | None = None, limit: int = 0) -> list[Message]:
    """Take the due pending ones of these messages for this worker (commits), in id order.

    Due: never tried, or past its ``retry_at``. With ``channel``, also take other due
    pending rows of that channel, up to ``limit`` rows in all (these ids first, then
    the oldest; ``SKIP LOCKED`` so parallel workers take disjoint rows).
    """
    ids = sorted(set(message_ids))
    now = utcnow()
    due = or_(Message.retry_at.is_(None), Message.retry_at <= now)
    if channel is None:
        if not ids:
            return []
        wanted = and_(Message.id.in_(ids), due)
    else:
        taken = (
            select(Message.id)
            .where(Message.status == "pending", Message.channel == channel, due)
            .order_by(Message.id.in_(ids or [0]).desc(), Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        wanted = Message.id.in_(taken.scalar_subquery())
    claimed = list(
        db.session.scalars(
            db.update(Message)
            .where(wanted, Message.status == "pending")
            .values(status="sending", attempts=Message.attempts + 1, claimed_at=now)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
    )
    # Mid-job on purpose: the claim must be visible to other workers before sending.
    transaction.commit()
    if not claimed:
        return []
    messages = _load_messages(claimed)
    # Detached: each row's outcome is its own commit, which must not expire the rest.
    for message in messages:
        db.session.expunge(message)
    return messages


def _load_messages(message_ids) -> list[Message]:
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.id.in_(list(message_ids)))
            .order_by(Message.id)
            .execution_options(populate_existing=True)
        )
    )


def claim_message(message_id: int) -> Message | None:
    """Take a due pending message for this worker (commits); None if it is not due, or
    someone else has it."""
    claimed = claim_messages([message_id])
    return claimed[0] if claimed else None


class _Sender:
    """Hands rows to their channel's transport; one SMTP session for the whole job."""

    def __init__(self):
        self.smtp_url = current_app.config.get("SMTP_URL")
        self.mailer = None

    def send(self, message: Message) -> str:
        if message.channel == "webhook":
            from backend.messaging.webhooks import post_webhook

            post_webhook(message)
            return "sent"
        if message.channel == "telegram":
            from backend.telegram.services import send

            return send(message)
        if not self.smtp_url:
            return "recorded"  # no SMTP configured (the demo): shown in the Outbox
        if self.mailer is None:
            from backend.messaging.smtp import Mailer

            self.mailer = Mailer(self.smtp_url, current_app.config["MAIL_FROM"])
        self.mailer.send(message)
        return "sent"

    def close(self) -> None:
        if self.mailer is not None:
            self.mailer.close()


def _record(message: Message, status: str, *, error=None, retry_at=None, sent_at=None) -> None:
    """Write the outcome and the rendered content of a row, and commit.

    Always the same UPDATE (compiled once in the worker, before it forks): the ORM's
    flush would compile one per set of changed columns in every work horse.
    """
    values = dict(status=status, retry_at=retry_at, sent_at=sent_at)
    if error is not None:
        values["last_error"] = error
    for name, value in values.items():
        set_committed_value(message, name, value)
    db.session.execute(
        _RECORD,
        {
            "message_id": message.id,
            "status": status,
            "last_error": message.last_error,
            "retry_at": retry_at,
            "sent_at": sent_at,
            "subject": message.subject,
            "body_text": message.body_text,
            "body_html": message.body_html,
            "payload": message.payload,
        },
    )
    # Mid-job on purpose: each row's outcome is durable as soon as it is known, so a
    # worker killed mid-batch re-sends at most the row in flight.
    transaction.commit()


_RECORD = (
    db.update(Message.__table__)
    .where(Message.__table__.c.id == db.bindparam("message_id"))
    .values(
        {
            name: db.bindparam(name, type_=Message.__table__.c[name].type)
            for name in (
                "status", "last_error", "retry_at", "sent_at",
                "subject", "body_text", "body_html", "payload",
            )
        }
    )
)  # fmt: skip


def _record_failure(message: Message, exc: Exception) -> str:
    """Keep the error; the row waits for its next attempt (scheduled) or has failed."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    retry_at = next_retry_at(message.attempts, utcnow())
    if retry_at is None:
        _record(message, "failed", error=error)
        return "failed"
    _record(message, "pending", error=error, retry_at=retry_at)
    schedule_retry(message)
    return "retry later"


def _deliver(message: Message, sender: _Sender, prepared: tuple) -> str:
    """Send one claimed (and rendered) row and record the outcome; returns it."""
    blocked, broken = prepared
    if message.id in broken:
        return _record_failure(message, broken[message.id])
    if message.kind == "autoresponder" and message.recipient.lower() in blocked:
        _record(message, "skipped", error="unsubscribed")
        return "skipped"
    try:
        status = sender.send(message)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then retried
        return _record_failure(message, exc)
    _record(message, status, sent_at=utcnow() if status == "sent" else None)
    return status


def _prepare(messages: list[Message]) -> tuple[set[str], dict]:
    """Render the deferred rows; returns the unsubscribed addresses among autoresponders
    and the rows that could not be rendered."""
    broken = render_messages(messages)
    return unsubscribed(m.recipient for m in messages if m.kind == "autoresponder"), broken


def deliver_message(message_id: int) -> str:
    """Deliver one outbox row once (a job); returns what happened: ``sent``,
    ``recorded``, ``skipped``, ``retry later`` (its next attempt is scheduled),
    ``failed`` (that was its last), or ``not pending`` (sent already, taken by another
    worker, or not due yet)."""
    message = claim_message(message_id)
    if message is None:
        return "not pending"
    sender = _Sender()
    try:
        return _deliver(message, sender, _prepare([message]))
    finally:
        sender.close()


def deliver_batch(message_ids: list[int], channel: str | None = None) -> dict:
    """Deliver many rows with one claim, one render pass and one SMTP session (a job).

    With ``channel`` (the queue's batch job), it also takes every other due pending
    row of that channel, up to BATCH_SIZE, and asks for another job when it found
    that many; then, for up to DRAIN_FOR seconds, it goes on taking the rows written
    while it was sending, and finding none it looks again until LINGER after its start
    (the rows of captures that did not wake it again, see WAKE_REUSE). A row that fails
    waits for its retry (a scheduled job); rows left when the time budget is spent go
    back to pending, to a new job. Returns how many rows had each outcome.
    """
    if channel is not None:
        _clear_kick(channel)
    # After the flag is cleared: a process that found it set asked before this moment.
    started = time.monotonic()
    linger = LINGER if channel is not None else 0.0
    messages = claim_messages(message_ids, channel, BATCH_SIZE)
    outcomes: dict[str, int] = {}
    sender = _Sender()
    looked = started
    try:
        while True:
            if messages:
                if channel is not None and len(messages) >= BATCH_SIZE:
                    _kick(channel)  # more are waiting: another worker may start on them now
                if not _deliver_all(messages, sender, started, outcomes):
                    break
                if channel is None:
                    break
                if time.monotonic() - started > DRAIN_FOR:
                    # Rows committed since the last look may belong to captures that did
                    # not ask (WAKE_REUSE): a job of their own (a no-op if one waits).
                    _kick(channel)
                    break
            elif looked - started >= linger:  # a look begun after LINGER found nothing
                break
            else:
                time.sleep(LINGER_POLL)
            # Rows captured while this batch was sending: take them now, over the same
            # SMTP session and database connection, instead of leaving them to wait for
            # the next job's fork and connections (most of a short job's time).
            looked = time.monotonic()
            messages = claim_messages([], channel, BATCH_SIZE)
    finally:
        sender.close()
    return outcomes or {"not pending": len(set(message_ids))}


def _deliver_all(messages: list[Message], sender: _Sender, started: float, outcomes) -> bool:
    """Send claimed rows in order, counting outcomes; False when the time budget ran out
    (the unsent rest is released to a new job)."""
    prepared = _prepare(messages)
    for index, message in enumerate(messages):
        if time.monotonic() - started > BATCH_BUDGET:
            _release([m.id for m in messages[index:]])
            outcomes["released"] = outcomes.get("released", 0) + len(messages) - index
            return False
        outcome = _deliver(message, sender, prepared)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return True


def _clear_kick(channel: str) -> None:
    """This job has started: rows written from now on need a new job."""
    try:
        connect(current_app).delete(kick_key(queue_for(channel)))
    except RedisError as exc:
        log.warning("cannot clear the batch flag: %s", exc)


def _kick(channel: str) -> None:
    """Ask for one more batch job of this channel (unless one is already waiting)."""
    name = queue_for(channel)
    try:
        queue = get_queue(current_app._get_current_object(), name)
        if queue.connection.set(kick_key(name), 1, nx=True, ex=KICK_TTL):
            queue.enqueue(BATCH_JOB, [], channel, job_timeout=JOB_TIMEOUT)
    except RedisError as exc:
        log.warning("more messages left to the sweep: %s", exc)


def _release(message_ids: list[int]) -> None:
    """Put claimed, unsent rows back to pending and ask for a new batch for them."""
    db.session.execute(
        db.update(Message)
        .where(Message.id.in_(message_ids), Message.status == "sending")
        .values(status="pending", attempts=Message.attempts - 1, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    # Mid-job on purpose: the rows must be pending again before their new job runs.
    transaction.commit()
    enqueue_messages(message_ids)


def warm_up() -> None:
    """Compile, once in the worker before it forks, what every delivery job would redo:
    the transports' lazy imports, the mail templates and the delivery SQL (run for no
    ids, so it changes nothing). In an app context; leaves the session rolled back."""
    from backend.messaging import smtp
    from backend.messaging.rendering import MAIL_TEMPLATES, load_for_render

    sample = Message(id=0, key="warm-up", recipient="warm-up@invalid", subject="warm-up")
    sample.body_text, sample.body_html, sample.payload = "text", "<p>html</p>", {}
    smtp.build_email(sample, "warm-up@invalid").as_bytes()  # the email package's lazy imports
    for name in MAIL_TEMPLATES:
        current_app.jinja_env.get_template(name)
    claim_messages([0])
    claim_messages([0], "warm-up", 1)  # no such channel: compiles, claims nothing
    _load_messages([0])
    load_for_render([0], [0])
    unsubscribed(["warm-up@invalid"])
    db.session.execute(
        _RECORD,
        dict(message_id=0, status="", last_error="", retry_at=None, sent_at=None,
             subject="", body_text="", body_html="", payload={}),
    )  # fmt: skip
    transaction.rollback()
