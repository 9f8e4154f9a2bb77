from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Date, Float, ForeignKey, Integer, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db

DEFAULT_CONSENT_TEXT = "I agree that the exhibitor may contact me about this enquiry and store my details for that purpose."

event_staff = Table(
    "event_staff",
    db.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Event(db.Model):
    """A trade show or campaign that produces leads; it carries the brief sales must see."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    venue_city: Mapped[str] = mapped_column(String(200), default="")
    venue_country: Mapped[str] = mapped_column(String(2), default="")
    venue_latitude: Mapped[float | None] = mapped_column(Float)
    venue_longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # The brief sales must see: {"offer", "promo_conditions", "talking_points"}.
    brief: Mapped[dict] = mapped_column(JSON, default=dict)
    # The autoresponder in the event's default ``language``; the other languages' and the
    # office notice's texts live in ``mail_templates`` (see events.templates).
    autoresponder_subject: Mapped[str] = mapped_column(String(300), default="")
    autoresponder_body: Mapped[str] = mapped_column(Text, default="")
    # {"ru": {"autoresponder_subject", "autoresponder_body", "office_notice_subject",
    #         "office_notice_body"}, ...}: blank texts are left out.
    mail_templates: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # The brief in the other languages: {"ru": {"offer", ...}} (see events.content).
    briefs: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # [{"id": "budget", "label": "...", "type": "text|choice|yesno", "options": [...],
    #   "translations": {"ru": {"label": "...", "options": [...]}}}]: label and options in
    # the default language, the other languages in translations.
    questions: Mapped[list] = mapped_column(JSON, default=list)
    consent_text: Mapped[str] = mapped_column(Text, default=DEFAULT_CONSENT_TEXT)
    # The consent text in the other languages: {"ru": "..."}.
    consent_texts: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    feedback_sample_size: Mapped[int] = mapped_column(Integer, default=20)
    # The default language of the event's mails and visitor form (a key of i18n.LANGUAGES).
    language: Mapped[str] = mapped_column(String(8), default="en")
    join_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    visitor_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff = relationship("User", secondary=event_staff, back_populates="events")

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.name!r}>"


class RetiredToken(db.Model):
    """A join or visitor token an event used before it was rotated: an old QR code then
    shows "this code was replaced" instead of a bare "not found"."""

    __tablename__ = "retired_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "join" | "visitor"
    token: Mapped[str] = mapped_column(String(64), unique=True)
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
