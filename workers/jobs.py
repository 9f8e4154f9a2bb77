"""RQ jobs: plain functions that take ids, reload rows and are safe to run twice.

A message is claimed with a conditional UPDATE (pending -> sending) before it is
sent, so a duplicated or replayed job finds nothing to do. A failure puts the row
back to pending and raises, for RQ's ``Retry`` to run the job again later; after
the last attempt the row is ``failed`` with the error kept for the Outbox.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from backend.db_types import utcnow
from backend.extensions import db
from backend.messaging.models import Message
from backend.messaging.services import MAX_ATTEMPTS, RETRY_INTERVALS, unsubscribed


class DeliveryFailed(Exception):
    """Raised to make RQ retry the job; the row is back to pending."""


def claim_message(message_id: int) -> Message | None:
    """Take a pending message for this worker (commits); None if someone else has it."""
    claimed = db.session.execute(
        db.update(Message)
        .where(Message.id == message_id, Message.status == "pending")
        .values(status="sending", attempts=Message.attempts + 1, claimed_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    return db.session.get(Message, message_id)


def _send(message: Message) -> str:
    """Hand the row to its channel; returns the status it ends in."""
    if message.channel == "webhook":
        from workers.webhooks import post

        post(message)
        return "sent"
    smtp_url = current_app.config.get("SMTP_URL")
    if not smtp_url:
        return "recorded"  # no SMTP configured (the demo): shown in the Outbox
    from workers.mail import send

    send(message, smtp_url, current_app.config["MAIL_FROM"])
    return "sent"


def deliver_message(message_id: int) -> str:
    """Deliver one outbox row once; returns what happened.

    Raises DeliveryFailed after a failed attempt that may still be retried.
    """
    message = claim_message(message_id)
    if message is None:
        return "not pending"
    if message.kind == "autoresponder" and unsubscribed([message.recipient]):
        message.status, message.last_error = "skipped", "unsubscribed"
        db.session.commit()
        return "skipped"
    try:
        status = _send(message)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status, message.last_error = "failed", error
            db.session.commit()
            return "failed"
        wait = RETRY_INTERVALS[min(message.attempts, len(RETRY_INTERVALS)) - 1]
        message.status, message.last_error = "pending", error
        message.retry_at = utcnow() + timedelta(seconds=wait)
        db.session.commit()
        raise DeliveryFailed(error) from exc
    message.status = status
    message.sent_at = utcnow() if status == "sent" else None
    message.retry_at = None
    db.session.commit()
    return status


def deliver_batch(message_ids: list[int]) -> dict:
    """Deliver many rows (the sweep's bulk path); a failure leaves that row pending
    with its retry time for the next sweep, and the batch goes on."""
    outcomes: dict[str, int] = {}
    for message_id in message_ids:
        try:
            outcome = deliver_message(message_id)
        except DeliveryFailed:
            outcome = "retry later"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def sweep() -> dict:
    """The periodic sweep as a job (the cron enqueues it on the escalation queue)."""
    from workers.sweep import run_sweep

    report = run_sweep()
    return {
        name: len(value) if isinstance(value, list) else value for name, value in report.items()
    }
