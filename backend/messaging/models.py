from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db

MESSAGE_STATUSES = ("pending", "sending", "sent", "recorded", "failed", "skipped")
# A payload key: the row's content is rendered by the delivery job
# (``backend.messaging.rendering.render_messages``), from the lead as it is then.
RENDER = "render"


class Message(db.Model):
    """One outgoing mail or webhook, written before it is sent.

    ``key`` is unique ("autoresponder:lead:42"), so a retried or duplicated job can
    never send the same message twice; pending rows are the outbox the sweep
    re-enqueues when Redis was down.
    """

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16), default="email")  # email | webhook
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(500), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a worker last claimed it (pending -> sending): a row left in ``sending``
    # longer than the job timeout belonged to a killed worker and is reset.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A failed attempt waits until then: the claim takes the row no earlier, and its
    # ``deliver-<id>-<attempt>`` job is scheduled for then (backend.messaging.sending).
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Unsubscribe(db.Model):
    """An e-mail address that asked for no more mail."""

    __tablename__ = "unsubscribe"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
