from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db

RATINGS = ("hot", "warm", "cold")
STATUSES = ("new", "contacted", "qualified", "won", "lost", "stale")
OPEN_STATUSES = ("new", "contacted", "qualified")
SOURCES = ("staff", "kiosk", "badge")
TOUCH_KINDS = ("call", "email", "meeting", "message", "note")
# What a rep plans to do next with a lead (set with a touch, shown in the queue).
NEXT_STEPS = ("call_back", "send_offer", "meeting")
# Escalation ladder steps, in order; a lead's level only ever goes up.
ESCALATION_NONE, ESCALATION_REMINDED, ESCALATION_ESCALATED, ESCALATION_REASSIGNED = 0, 1, 2, 3


class Lead(db.Model):
    """A visitor captured at an event, routed to one office at a time."""

    __tablename__ = "lead"
    __table_args__ = (
        # The office queue: open leads of one office by urgency.
        Index("ix_lead_queue", "office_id", "status", "escalation_level", "rating", "routed_at"),
        Index("ix_lead_event_status", "event_id", "status"),
        # Duplicate-person merge within one event.
        Index("ix_lead_event_email", "event_id", "email_normalized"),
        Index("ix_lead_event_phone", "event_id", "phone_normalized"),
        # The SLA sweep: untouched open leads by arrival.
        Index("ix_lead_sweep", "first_touch_at", "status", "routed_at"),
        # The retention rule: leads captured before a cutoff that are not anonymised yet.
        Index(
            "ix_lead_retention",
            "captured_at",
            postgresql_where=text("anonymized_at IS NULL"),
            sqlite_where=text("anonymized_at IS NULL"),
        ),
        # Reports: the event report reads one event's leads from this index alone (an
        # index-only scan on PostgreSQL), and the dashboard's rollup finds the events
        # with leads changed since it was built by (event_id, updated_at).
        Index(
            "ix_lead_event_report",
            "event_id",
            "updated_at",
            postgresql_include=[
                "id",
                "office_id",
                "status",
                "rating",
                "escalation_level",
                "routed_at",
                "first_touch_at",
                "received_at",
                "captured_at",
                "deal_value",
                "deal_currency",
                "won_at",
                "feedback_requested",
            ],
        ),
        # Next steps that have come due (the queue's second group, the morning mail).
        Index(
            "ix_lead_next_step",
            "next_step_at",
            postgresql_where=text("next_step_at IS NOT NULL"),
            sqlite_where=text("next_step_at IS NOT NULL"),
        ),
        # The office league's medians: touched leads per office, small enough to scan.
        Index(
            "ix_lead_office_touched",
            "office_id",
            "first_touch_at",
            "received_at",
            postgresql_where=text("first_touch_at IS NOT NULL"),
            sqlite_where=text("first_touch_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    captured_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="staff")
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(64), default="")
    phone_normalized: Mapped[str | None] = mapped_column(String(32))
    company: Mapped[str] = mapped_column(String(300), default="")
    job_title: Mapped[str] = mapped_column(String(300), default="")

    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(32), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    rating: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    badge_raw: Mapped[str] = mapped_column(Text, default="")
    # The attendee id a scanned badge carried; filled from the organiser's list when it comes.
    badge_id: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str | None] = mapped_column(String(8))

    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The capture exactly as it arrived, kept when contact data is later fixed.
    original: Mapped[dict] = mapped_column(JSON, default=dict)

    status: Mapped[str] = mapped_column(String(16), default="new")
    deal_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    deal_currency: Mapped[str | None] = mapped_column(String(3))
    lost_reason: Mapped[str | None] = mapped_column(String(300))
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest ladder step the lead ever reached (what reports count as escalated).
    escalation_level: Mapped[int] = mapped_column(Integer, default=ESCALATION_NONE)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ladder of the current office stint: the step reached there and the routed_at
    # it belongs to. A lead routed again (escalation, hand-over) has a new routed_at, so
    # its new office starts a fresh ladder without anyone resetting the step.
    ladder_step: Mapped[int] = mapped_column(Integer, default=ESCALATION_NONE)
    ladder_routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The rep's planned next step (NEXT_STEPS) and when, set by a touch; cleared by the
    # next real contact.
    next_step: Mapped[str | None] = mapped_column(String(16))
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The status a lead had before it was closed, so a reopened lost lead goes back to it.
    status_before_close: Mapped[str | None] = mapped_column(String(16))
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event = relationship("Event", lazy="joined")
    office = relationship("Office", lazy="joined")
    captured_by = relationship("User", foreign_keys=[captured_by_id])
    claimed_by = relationship("User", foreign_keys=[claimed_by_id])
    touches = relationship("Touch", back_populates="lead", order_by="Touch.at")
    routing_decisions = relationship(
        "RoutingDecision", back_populates="lead", order_by="RoutingDecision.id"
    )

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def __repr__(self) -> str:
        return f"<Lead {self.id} {self.client_id}>"


class Touch(db.Model):
    """Any logged contact with the lead: a call, an e-mail, a meeting, a note."""

    __tablename__ = "touch"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead = relationship("Lead", back_populates="touches")
    user = relationship("User")


class RoutingDecision(db.Model):
    """Why a lead went to an office; a lead gets a new one each time it moves."""

    __tablename__ = "routing_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    method: Mapped[str] = mapped_column(String(32))
    distance_km: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_label: Mapped[str] = mapped_column(String(300), default="")
    location_source: Mapped[str] = mapped_column(String(16), default="")
    # Why: a code of backend/routing/reasons.py and its parameters, translated when shown;
    # ``reason`` is their English text as written (what the API and the audit trail read).
    reason_code: Mapped[str] = mapped_column(String(32), default="")
    reason_params: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead = relationship("Lead", back_populates="routing_decisions")
    office = relationship("Office", lazy="joined")


class QualityFeedback(db.Model):
    """Sales' verdict on a sampled lead, so marketing sees quality before spending more."""

    __tablename__ = "quality_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    verdict: Mapped[str] = mapped_column(String(8))  # good | bad
    reason: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead = relationship("Lead")


CAPTURE_MERGED, CAPTURE_FORM = "merged", "form"


class MergedCapture(db.Model):
    """A second capture of a person already stored for the event, attached to that lead.

    ``kind`` says what it did: ``merged`` (the event's staff scanned the person again:
    notes added and empty fields filled on the lead) or ``form`` (the visitor filled in
    the public form: kept as written, nothing on the lead changed). Its ``client_id`` is
    remembered so a replay of it is recognised as a duplicate.

    A consent given through the form waits here until the person confirms it from the
    link mailed to the lead's address (double opt-in): only the link's hash is kept.
    """

    __tablename__ = "merged_capture"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    captured_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    kind: Mapped[str] = mapped_column(String(16), default=CAPTURE_MERGED)
    # The rating this capture gave; the lead's own rating never changes on a merge.
    rating: Mapped[str | None] = mapped_column(String(8))
    consent_text: Mapped[str] = mapped_column(Text, default="")
    consent_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    consent_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
