"""The dashboard's rollup: lead aggregates per event × office × deal currency.

Scanning a million leads three times costs seconds; summing a few thousand rollup rows
costs milliseconds. The rows are a cache of ``queries.lead_counts`` and the touch
buckets, rebuilt per event by ``queries.refresh_event_stats`` whenever a lead of the
event has changed (``lead.updated_at``) or an office's SLA moved since the last build.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Float, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime
from backend.extensions import db


class EventOfficeStats(db.Model):
    """Counts and sums of one event's leads routed to one office (or none), per deal
    currency; the won deal values are also kept per day won (``EventOfficeWonDay``), so
    a sum in another currency than the reporting one converts at its own day's rate."""

    __tablename__ = "event_office_stats"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), index=True
    )
    deal_currency: Mapped[str | None] = mapped_column(String(3))
    # The office's SLA when the row was built: within_sla depends on it.
    sla_hours: Mapped[int | None] = mapped_column(Integer)
    leads: Mapped[int] = mapped_column(Integer, default=0)
    contacted: Mapped[int] = mapped_column(Integer, default=0)
    qualified: Mapped[int] = mapped_column(Integer, default=0)
    won: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    stale: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    routed: Mapped[int] = mapped_column(Integer, default=0)
    within_sla: Mapped[int] = mapped_column(Integer, default=0)
    touched: Mapped[int] = mapped_column(Integer, default=0)
    # Time-to-first-touch buckets, as queries.TOUCH_BUCKETS.
    bucket_0: Mapped[int] = mapped_column(Integer, default=0)
    bucket_1: Mapped[int] = mapped_column(Integer, default=0)
    bucket_2: Mapped[int] = mapped_column(Integer, default=0)
    bucket_3: Mapped[int] = mapped_column(Integer, default=0)
    bucket_4: Mapped[int] = mapped_column(Integer, default=0)
    # Sum and sum of squares of the touched leads' minutes from arrival to first touch:
    # with ``touched`` they tell whether an office's median may have moved.
    touch_minutes: Mapped[Decimal] = mapped_column(Numeric(28, 6), default=0)
    touch_minutes_sq: Mapped[Decimal] = mapped_column(Numeric(28, 6), default=0)
    # Sum of deal_value of won leads in this deal currency, and how many had a value.
    revenue_won: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    won_valued: Mapped[int] = mapped_column(Integer, default=0)
    # The same for open qualified leads with a deal value (the pipeline).
    pipeline_value: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    pipeline_deals: Mapped[int] = mapped_column(Integer, default=0)
    # Lead changes stamped (updated_at) after this moment may be missing from the row.
    covers_until: Mapped[datetime] = mapped_column(UTCDateTime)


class EventOfficeWonDay(db.Model):
    """Won deal values of one event's leads at one office (or none) in one deal currency,
    per UTC day won: what conversion at the rate of each deal's day needs, built with
    ``EventOfficeStats`` (``queries.refresh_event_stats``). Only won leads with a value
    make rows, so this stays far smaller than the leads."""

    __tablename__ = "event_office_won_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), index=True
    )
    deal_currency: Mapped[str | None] = mapped_column(String(3))
    won_on: Mapped[date] = mapped_column(Date)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    deals: Mapped[int] = mapped_column(Integer, default=0)


class OfficeTouchMedian(db.Model):
    """An office's median minutes from arrival to first touch, with the rollup sums it
    was computed for: while the office's summed ``touched``, ``touch_minutes`` and
    ``touch_minutes_sq`` stay the same, so do its touch times, and the median is reused.
    """

    __tablename__ = "office_touch_median"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), primary_key=True
    )
    touched: Mapped[int] = mapped_column(Integer)
    touch_minutes: Mapped[Decimal] = mapped_column(Numeric(28, 6))
    touch_minutes_sq: Mapped[Decimal] = mapped_column(Numeric(28, 6))
    median_minutes: Mapped[float | None] = mapped_column(Float)
