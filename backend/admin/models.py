from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db


class SiteSetting(db.Model):
    """One setting of the install that an admin may change at run time, winning over the
    environment's: the site's public URL (``site_url``), the reporting currency
    (``reporting_currency``) and the global webhook (``webhook``, JSON). A key, its value
    and where the value came from."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    # "admin" (typed on the settings page), "first_visit" (the address an admin or
    # marketing user first signed in on) or "make_run" (the LAN address).
    source: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
