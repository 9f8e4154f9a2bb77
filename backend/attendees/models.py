from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db


class Attendee(db.Model):
    """One row of an event's attendee list: what a badge id stands for."""

    __tablename__ = "attendee"
    __table_args__ = (UniqueConstraint("event_id", "badge_key", name="uq_attendee_event_badge"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    # As printed on the badge; matched case-insensitively (stored upper-cased in badge_key).
    badge_id: Mapped[str] = mapped_column(String(100))
    badge_key: Mapped[str] = mapped_column(String(100), index=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(300), default="")
    job_title: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def as_json(self) -> dict:
        return {name: getattr(self, name) for name in ("badge_id", *CONTACT_COLUMNS)}


CONTACT_COLUMNS = ("first_name", "last_name", "company", "job_title", "email", "phone", "country")
