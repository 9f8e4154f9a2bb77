"""The message outbox: rows written in the lead's transaction, delivered by workers.

A pending row is the truth; Redis only carries a hint to deliver it now. If Redis is
down the hint is lost, and the sweep re-enqueues pending rows when it is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from backend.extensions import db
from backend.leads.models import Lead
from backend.messaging.models import Message, Unsubscribe

log = logging.getLogger(__name__)

DELIVER_JOB = "workers.jobs.deliver_message"


def unsubscribed(emails: Iterable[str]) -> set[str]:
    emails = {e for e in emails if e}
    if not emails:
        return set()
    return set(db.session.scalars(select(Unsubscribe.email).where(Unsubscribe.email.in_(emails))))


def plan_new_lead_messages(leads: Sequence[Lead]) -> list[Message]:
    """Write the pending follow-ups of freshly routed leads (the caller commits).

    The visitor's autoresponder needs a valid e-mail, consent to be contacted and no
    unsubscribe; the office notice needs an office with an e-mail.
    """
    blocked = unsubscribed(lead.email_normalized for lead in leads)
    messages = []
    for lead in leads:
        if lead.email_normalized and lead.consent_contact and lead.email_normalized not in blocked:
            messages.append(
                Message(
                    key=f"autoresponder:lead:{lead.id}",
                    kind="autoresponder",
                    channel="email",
                    lead_id=lead.id,
                    office_id=lead.office_id,
                    event_id=lead.event_id,
                    recipient=lead.email,
                )
            )
        if lead.office is not None and lead.office.email:
            messages.append(
                Message(
                    key=f"office_notice:lead:{lead.id}",
                    kind="office_notice",
                    channel="email",
                    lead_id=lead.id,
                    office_id=lead.office_id,
                    event_id=lead.event_id,
                    recipient=lead.office.email,
                )
            )
    db.session.add_all(messages)
    return messages


def enqueue_messages(message_ids: Sequence[int]) -> int:
    """Ask the workers to deliver these messages now; returns how many were enqueued.

    Never raises for Redis trouble: the rows stay pending and the sweep retries.
    """
    if not message_ids:
        return 0
    from workers.queues import MAIL, WEBHOOKS, get_queue

    app = current_app._get_current_object()
    rows = db.session.execute(
        select(Message.id, Message.channel).where(Message.id.in_(message_ids))
    )
    channels = {message_id: channel for message_id, channel in rows}
    try:
        queues = {MAIL: get_queue(app, MAIL), WEBHOOKS: get_queue(app, WEBHOOKS)}
        for message_id, channel in channels.items():
            queue = queues[WEBHOOKS if channel == "webhook" else MAIL]
            queue.enqueue(DELIVER_JOB, message_id, job_id=f"deliver-{message_id}", job_timeout=60)
    except RedisError as exc:
        log.warning(
            "Redis unavailable, %d messages stay pending for the sweep: %s", len(channels), exc
        )
        return 0
    return len(channels)


def enqueue_pending(lead_ids: Sequence[int]) -> int:
    """Enqueue the pending messages of these leads (after their transaction committed)."""
    if not lead_ids:
        return 0
    ids = db.session.scalars(
        select(Message.id).where(Message.lead_id.in_(lead_ids), Message.status == "pending")
    ).all()
    return enqueue_messages(ids)
