from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context, has_request_context
from flask_babel import get_locale
from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db
from backend.process_cache import ProcessCache
from backend.sla import DEFAULT_SLA_HOURS


def reader_language() -> str | None:
    """The request's language ("en", "ru"), or None outside a request."""
    if not has_request_context():
        return None
    locale = get_locale()
    return locale.language if locale else None


def office_ref(code: str, name: str, names: dict | None) -> dict:
    """An office as the API names it: ``name`` in the reader's language where the office has
    one (``names``), else its own name."""
    return {"code": code, "name": (names or {}).get(reader_language() or "") or name}


def default_sla_hours() -> int:
    """``DEFAULT_SLA_HOURS`` of the running app (24 outside one)."""
    if has_app_context():
        return int(current_app.config.get("DEFAULT_SLA_HOURS") or DEFAULT_SLA_HOURS)
    return DEFAULT_SLA_HOURS


class Office(db.Model):
    """A regional sales office: where leads are routed and worked."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name per language ({"ru": "Новосибирск", "en": "Novosibirsk"}); ``name`` is the fallback.
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
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
    # Working hours to the first touch; NULL: the install's DEFAULT_SLA_HOURS (see ``sla``).
    sla_hours: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    webhook_format: Mapped[str] = mapped_column(String(16), default="json")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Office {self.code}>"

    def name_in(self, language: str | None) -> str:
        """The office's name in ``language``, else its own name."""
        return (self.names or {}).get(language or "") or self.name

    def as_ref(self) -> dict:
        return office_ref(self.code, self.name, self.names)

    @property
    def sla(self) -> int:
        """The office's SLA in working hours: its own ``sla_hours``, else the install's
        ``DEFAULT_SLA_HOURS``. The one place the default applies (``sla_sql`` in SQL)."""
        return self.sla_hours or default_sla_hours()

    @classmethod
    def sla_sql(cls):
        """``sla`` as a SQL expression, for reports that compare or group by it."""
        return func.coalesce(func.nullif(cls.sla_hours, 0), default_sla_hours())


def _read_office_names() -> tuple[dict[str, dict], dict[str, dict]]:
    rows = db.session.execute(db.select(Office.code, Office.name, Office.names)).all()
    by_code = {code: dict(names or {}) for code, _name, names in rows}
    # Routing reasons name offices by their own names (kept with each decision).
    by_name = {name: dict(names) for _code, name, names in rows if names}
    return by_code, by_name


# Each office's name per language, by code and by its own name: read by every reply and
# report row that names an office, changed a few times a year (kept per process, see
# backend/process_cache.py).
_office_names = ProcessCache("office_names", (Office,), _read_office_names)


def office_names() -> dict[str, dict]:
    """Every office's ``names`` by code (kept per process; display only)."""
    return _office_names.get()[0]


def office_names_by_name() -> dict[str, dict]:
    """The ``names`` of every office that has some, by its own name (kept per process;
    display only)."""
    return _office_names.get()[1]
