"""The outbox's safety net: rows a killed worker left ``sending`` go back to ``pending``,
and pending rows whose wake-up was lost (Redis down, a worker died) are enqueued again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from backend.extensions import db
from backend.messaging.models import Message
from backend.messaging.sending import JOB_TIMEOUT, enqueue_messages

PENDING_GRACE = timedelta(minutes=1)
STUCK_AFTER = timedelta(seconds=JOB_TIMEOUT + 30)
BULK = 500


def recover_outbox(now: datetime, dry_run: bool = False) -> tuple[list[int], int]:
    """Reset rows stuck in ``sending`` (a killed worker) and list pending rows to enqueue.

    Returns (ids to enqueue, how many were stuck). A pending row waits a minute
    after it was written, or until its retry time, before the sweep re-sends it.
    """
    stuck_conditions = (Message.status == "sending", Message.claimed_at <= now - STUCK_AFTER)
    if dry_run:
        stuck = db.session.scalar(select(func.count()).where(*stuck_conditions)) or 0
    else:
        stuck = db.session.execute(
            db.update(Message)
            .where(*stuck_conditions)
            .values(status="pending", last_error="worker stopped while sending; retried")
            .execution_options(synchronize_session=False)
        ).rowcount
    pending = list(
        db.session.scalars(
            select(Message.id).where(
                Message.status == "pending",
                func.coalesce(Message.retry_at, Message.created_at) <= now - PENDING_GRACE,
            )
        )
    )
    return pending, stuck


def enqueue_outbox(fresh: Iterable[int], pending: Iterable[int]) -> int:
    """Wake the workers for committed rows: ``fresh`` ones this sweep wrote, and ``pending``
    ones found waiting. Returns how many were enqueued.

    New rows go out as batch jobs; old pending rows (Redis was down, a worker died) one
    job each unless that job is still waiting, or in batches when there are thousands.
    """
    fresh = set(fresh)
    old = sorted(set(pending) - fresh)
    enqueued = enqueue_messages(sorted(fresh))
    return enqueued + enqueue_messages(old, only_missing=len(old) <= BULK)
