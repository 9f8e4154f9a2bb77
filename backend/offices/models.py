from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db


class Office(db.Model):
    """A regional sales office: where leads are routed and worked."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # ISO weekdays the office works, Monday=1 … Sunday=7, e.g. "12345".
    working_days: Mapped[str] = mapped_column(String(7), default="12345")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    # Street address for visitors and mails ("ul. Tverskaya 7, Moscow 125009").
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)
    monthly_lead_order: Mapped[int | None] = mapped_column(Integer)
    sla_hours: Mapped[int] = mapped_column(Integer, default=24)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    webhook_format: Mapped[str] = mapped_column(String(16), default="json")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Office {self.code}>"

    def as_ref(self) -> dict:
        return {"code": self.code, "name": self.name}
