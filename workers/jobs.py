"""RQ jobs: plain functions that take ids, reload rows and are safe to run twice.

Messages are claimed with a conditional UPDATE (pending -> sending) before they are
sent, so a duplicated or replayed job finds nothing to do. ``deliver_batch`` claims
all of its ids in one UPDATE … RETURNING, renders them from their leads in a few
queries, sends them over one SMTP session and records each one as it goes. A failure
puts that row back to pending with its retry time and schedules a ``deliver-<id>``
job for then (RQ's ``Retry`` runs it again after that); after the last attempt the row
is ``failed`` with the error kept for the Outbox.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm.attributes import set_committed_value

from backend.db_types import utcnow
from backend.extensions import db
from backend.messaging.models import Message
from backend.messaging.services import (
    BATCH_SIZE,
    DELIVER_JOB,
    JOB_TIMEOUT,
    KICK_TTL,
    MAX_ATTEMPTS,
    RETRY_INTERVALS,
    kick_key,
    render_messages,
    unsubscribed,
)

# A batch stops claiming time well inside the job timeout (and the sweep's "stuck"
# limit): what it has not sent by then goes back to pending and into a new job.
BATCH_BUDGET = JOB_TIMEOUT / 2
# A channel job keeps taking newly written rows this long, then leaves the rest to the
# next job, so the webhook and escalation queues get the worker too.
DRAIN_FOR = 2.0

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """Raised to make RQ retry the job; the row is back to pending."""


def claim_messages(message_ids, channel: str | None = None, limit: int = 0) -> list[Message]:
    """Take the pending ones of these messages for this worker (commits), in id order.

    With ``channel``, also take other due pending rows of that channel, up to ``limit``
    rows in all (these ids first, then the oldest; ``SKIP LOCKED`` so parallel
    workers take disjoint rows).
    """
    ids = sorted(set(message_ids))
    now = utcnow()
    if channel is None:
        if not ids:
            return []
        wanted = Message.id.in_(ids)
    else:
        due = (
            select(Message.id)
            .where(
                Message.status == "pending",
                Message.channel == channel,
                or_(Message.retry_at.is_(None), Message.retry_at <= now),
            )
            .order_by(Message.id.in_(ids or [0]).desc(), Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        wanted = Message.id.in_(due.scalar_subquery())
    claimed = list(
        db.session.scalars(
            db.update(Message)
            .where(wanted, Message.status == "pending")
            .values(status="sending", attempts=Message.attempts + 1, claimed_at=now)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
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
    """Take a pending message for this worker (commits); None if someone else has it."""
    claimed = claim_messages([message_id])
    return claimed[0] if claimed else None


class _Sender:
    """Hands rows to their channel; one SMTP session for the whole job."""

    def __init__(self):
        self.smtp_url = current_app.config.get("SMTP_URL")
        self.mailer = None

    def send(self, message: Message) -> str:
        if message.channel == "webhook":
            from workers.webhooks import post

            post(message)
            return "sent"
        if message.channel == "telegram":
            from backend.telegram.services import send

            return send(message)
        if not self.smtp_url:
            return "recorded"  # no SMTP configured (the demo): shown in the Outbox
        if self.mailer is None:
            from workers.mail import Mailer

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
    db.session.commit()


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


def _record_failure(message: Message, exc: Exception) -> bool:
    """Keep the error; True when the row waits for a retry, False when it has failed."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        _record(message, "failed", error=error)
        return False
    wait = RETRY_INTERVALS[min(message.attempts, len(RETRY_INTERVALS)) - 1]
    _record(message, "pending", error=error, retry_at=utcnow() + timedelta(seconds=wait))
    return True


def _deliver(message: Message, sender: _Sender, prepared: tuple) -> str:
    """Send one claimed (and rendered) row and record the outcome; raises DeliveryFailed."""
    blocked, broken = prepared
    if message.id in broken:
        if _record_failure(message, broken[message.id]):
            raise DeliveryFailed(message.last_error)
        return "failed"
    if message.kind == "autoresponder" and message.recipient.lower() in blocked:
        _record(message, "skipped", error="unsubscribed")
        return "skipped"
    try:
        status = sender.send(message)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then retried
        if _record_failure(message, exc):
            raise DeliveryFailed(message.last_error) from exc
        return "failed"
    # Committed one by one: a worker killed mid-batch re-sends at most the row in flight.
    _record(message, status, sent_at=utcnow() if status == "sent" else None)
    return status


def _prepare(messages: list[Message]) -> tuple[set[str], dict]:
    """Render the deferred rows; returns the unsubscribed addresses among autoresponders
    and the rows that could not be rendered."""
    broken = render_messages(messages)
    return unsubscribed(m.recipient for m in messages if m.kind == "autoresponder"), broken


def deliver_message(message_id: int) -> str:
    """Deliver one outbox row once; returns what happened.

    Raises DeliveryFailed after a failed attempt that may still be retried.
    """
    message = claim_message(message_id)
    if message is None:
        return "not pending"
    sender = _Sender()
    try:
        return _deliver(message, sender, _prepare([message]))
    finally:
        sender.close()


def _schedule_retry(message: Message) -> None:
    """A ``deliver-<id>`` job at the row's retry time (the sweep covers a lost one)."""
    from redis.exceptions import RedisError
    from rq import Retry

    from workers.queues import MAIL, WEBHOOKS, get_queue

    queue = get_queue(
        current_app._get_current_object(), MAIL if message.channel == "email" else WEBHOOKS
    )
    try:
        queue.enqueue_at(
            message.retry_at,
            DELIVER_JOB,
            message.id,
            job_id=f"deliver-{message.id}",
            job_timeout=JOB_TIMEOUT,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    except RedisError as exc:
        log.warning("retry of message %s left to the sweep: %s", message.id, exc)


def deliver_batch(message_ids: list[int], channel: str | None = None) -> dict:
    """Deliver many rows with one claim, one render pass and one SMTP session.

    With ``channel`` (the queue's batch job), it also takes every other due pending
    row of that channel, up to BATCH_SIZE, and asks for another job when it found
    that many; then, for up to DRAIN_FOR seconds, it goes on taking the rows written
    while it was sending. A row that fails waits for its retry (a scheduled
    ``deliver-<id>`` job); rows left when the time budget is spent go back to pending,
    to a new job.
    """
    started = time.monotonic()
    if channel is not None:
        _clear_kick(channel)
    messages = claim_messages(message_ids, channel, BATCH_SIZE)
    if not messages:
        return {"not pending": len(set(message_ids))}
    outcomes: dict[str, int] = {}
    sender = _Sender()
    try:
        while messages:
            if channel is not None and len(messages) >= BATCH_SIZE:
                _kick(channel)  # more are waiting: another worker may start on them now
            if not _deliver_all(messages, sender, started, outcomes):
                break
            if channel is None or time.monotonic() - started > DRAIN_FOR:
                break
            # Rows captured while this batch was sending: take them now, over the same
            # SMTP session and database connection, instead of leaving them to wait for
            # the next job's fork and connections (most of a short job's time).
            messages = claim_messages([], channel, BATCH_SIZE)
    finally:
        sender.close()
    return outcomes


def _deliver_all(messages: list[Message], sender: _Sender, started: float, outcomes) -> bool:
    """Send claimed rows in order, counting outcomes; False when the time budget ran out
    (the unsent rest is released to a new job)."""
    prepared = _prepare(messages)
    for index, message in enumerate(messages):
        if time.monotonic() - started > BATCH_BUDGET:
            _release([m.id for m in messages[index:]])
            outcomes["released"] = outcomes.get("released", 0) + len(messages) - index
            return False
        try:
            outcome = _deliver(message, sender, prepared)
        except DeliveryFailed:
            outcome = "retry later"
            _schedule_retry(message)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return True


def _queue_name(channel: str) -> str:
    from workers.queues import MAIL, WEBHOOKS

    return WEBHOOKS if channel == "webhook" else MAIL


def _clear_kick(channel: str) -> None:
    """This job has started: rows written from now on need a new job."""
    from redis.exceptions import RedisError

    from backend.redis_conn import connect

    try:
        connect(current_app).delete(kick_key(_queue_name(channel)))
    except RedisError as exc:
        log.warning("cannot clear the batch flag: %s", exc)


def _kick(channel: str) -> None:
    """Ask for one more batch job of this channel (unless one is already waiting)."""
    from redis.exceptions import RedisError
    from rq import Queue

    from backend.redis_conn import connect

    name = _queue_name(channel)
    try:
        connection = connect(current_app)
        if connection.set(kick_key(name), 1, nx=True, ex=KICK_TTL):
            Queue(name, connection=connection).enqueue(
                deliver_batch, [], channel, job_timeout=JOB_TIMEOUT
            )
    except RedisError as exc:
        log.warning("more messages left to the sweep: %s", exc)


def _release(message_ids: list[int]) -> None:
    """Put claimed, unsent rows back to pending and ask for a new batch for them."""
    from backend.messaging.services import enqueue_messages

    db.session.execute(
        db.update(Message)
        .where(Message.id.in_(message_ids), Message.status == "sending")
        .values(status="pending", attempts=Message.attempts - 1, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    enqueue_messages(message_ids)


def warm_up() -> None:
    """Do once, in the worker before it forks, what every work horse would redo.

    Each job runs in a fresh fork: without this, every one of them imports the
    sending modules, configures the ORM mappers, compiles the delivery SQL and the
    mail templates, then throws it all away (most of a job's time). Run in an app
    context; the SQL runs for no ids, so it changes nothing.
    """
    import gc

    from sqlalchemy.orm import configure_mappers

    from backend.messaging.services import MAIL_TEMPLATES, load_for_render
    from workers import mail, webhooks  # noqa: F401 - imported for the horses

    configure_mappers()
    sample = Message(id=0, key="warm-up", recipient="warm-up@invalid", subject="warm-up")
    sample.body_text, sample.body_html, sample.payload = "text", "<p>html</p>", {}
    mail.build_email(sample, "warm-up@invalid").as_bytes()  # the email package's lazy imports
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
    db.session.rollback()
    db.session.remove()
    db.engine.dispose()  # the horses open their own connections
    # Objects made so far live as long as the worker: keep the horses' garbage
    # collector off their pages (copy-on-write).
    gc.collect()
    gc.freeze()


def sweep() -> dict:
    """The periodic sweep as a job (the cron enqueues it on the escalation queue)."""
    from workers.sweep import run_sweep

    report = run_sweep()
    return {
        name: len(value) if isinstance(value, list) else value for name, value in report.items()
    }


def telegram_updates() -> int:
    """Read the bot's updates (links being made): long polling for up to 20 s, or, with
    TELEGRAM_WEBHOOK on, make sure Telegram posts them to the site. Nothing without a bot."""
    from backend.telegram import api, services

    if not api.configured():
        return 0
    if current_app.config.get("TELEGRAM_WEBHOOK"):
        services.set_webhook()
        return 0
    return services.read_updates(timeout=20)


def next_step_mails() -> int:
    """The reps' morning mails of overdue next steps (the cron runs it every few minutes)."""
    from backend.workspace.reminders import send_next_step_mails

    return len(send_next_step_mails(utcnow()))
