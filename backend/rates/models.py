"""Exchange rates and the install's reporting currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db


class ExchangeRate(db.Model):
    """On ``day``, one unit of ``currency`` was worth ``rate`` units of ``quote``.

    Rates are kept as imported: the Central Bank of Russia's quote everything in RUB, a
    CSV in the reporting currency of the moment; conversion crosses them as needed.
    """

    __tablename__ = "exchange_rate"
    __table_args__ = (UniqueConstraint("currency", "quote", "day", name="uq_exchange_rate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    source: Mapped[str] = mapped_column(String(20), default="csv")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
