"""Lead export for CRMs (CSV) and integrations (JSON lines), streamed row by row.

Rows are read with ``yield_per`` (a server-side cursor on PostgreSQL), so a
million-row export never holds more than one batch in memory.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

from sqlalchemy import case, func, select

from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead
from backend.offices.models import Office
from backend.rates.services import Converter

BATCH = 2000

# (CSV header, key in the row). Headers follow the names common CRM importers map
# automatically (Salesforce, HubSpot, Pipedrive).
COLUMNS = (
    ("First Name", "first_name"),
    ("Last Name", "last_name"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Company", "company"),
    ("Title", "job_title"),
    ("City", "city"),
    ("Postal Code", "postal_code"),
    ("Country", "country"),
    ("Lead Source", "event_name"),
    ("Rating", "rating"),
    ("Status", "status"),
    ("Owner Office", "office_name"),
    ("Consent", "consent_contact"),
    ("Marketing Consent", "consent_marketing"),
    ("Consent Date", "consent_at"),
    ("Captured At", "captured_at"),
    ("Deal Value", "deal_value"),
    ("Deal Currency", "deal_currency"),
    # The deal value in the install's reporting currency at the rate of the day it was
    # won (open deals: today's); empty when no rate covers it.
    ("Deal Value (Reporting Currency)", "reporting_value"),
    ("Reporting Currency", "reporting_currency"),
    ("Notes", "notes"),
    ("LeadRelay ID", "id"),
)

_PHONE_LIKE = re.compile(r"^[+\-][\d\s().\-/]*$")


def lead_rows(filters: dict) -> Iterator[dict]:
    """Leads matching ``filters`` (event_id, status, office_id, rating), oldest first."""
    query = (
        select(
            Lead.id,
            Lead.first_name,
            Lead.last_name,
            Lead.email,
            Lead.phone,
            Lead.company,
            Lead.job_title,
            Lead.city,
            Lead.postal_code,
            Lead.country,
            Event.name.label("event_name"),
            Lead.event_id,
            Lead.rating,
            Lead.status,
            Office.name.label("office_name"),
            Lead.consent_contact,
            Lead.consent_marketing,
            Lead.consent_at,
            Lead.captured_at,
            Lead.deal_value,
            case(
                (Lead.deal_value.is_not(None), func.coalesce(Lead.deal_currency, Event.currency)),
                else_=Lead.deal_currency,
            ).label("deal_currency"),
            Lead.won_at,
            Lead.notes,
        )
        .select_from(Lead)
        .join(Event, Event.id == Lead.event_id)
        .outerjoin(Office, Office.id == Lead.office_id)
        .order_by(Lead.id)
        .execution_options(yield_per=BATCH)
    )
    for name in ("event_id", "office_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(Lead, name) == filters[name])
    if filters.get("status"):
        query = query.where(Lead.status.in_(filters["status"]))
    if filters.get("rating"):
        query = query.where(Lead.rating == filters["rating"])
    converter = Converter()
    for row in db.session.execute(query).mappings():
        row = dict(row)
        row["reporting_currency"] = converter.target
        row["reporting_value"] = None
        if row["deal_value"] is not None:
            row["reporting_value"] = converter.convert(
                row["deal_value"], row["deal_currency"], row.pop("won_at")
            )
        else:
            row.pop("won_at")
        yield row


def safe_cell(value) -> str:
    """Text for one CSV cell; formula-like text is prefixed with ' so spreadsheets do
    not execute it (phone numbers such as +49 30 … are left alone)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in "+-" and not _PHONE_LIKE.match(text)):
        return "'" + text
    return text


def csv_chunks(filters: dict) -> Iterator[str]:
    """The CSV export as chunks of text, header first (UTF-8 BOM for spreadsheet apps)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _ in COLUMNS])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(lead_rows(filters), 1):
        writer.writerow([safe_cell(row[key]) for _, key in COLUMNS])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_value(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal: keep exact


def jsonl_chunks(filters: dict) -> Iterator[str]:
    """The JSON lines export: one lead object per line."""
    lines = []
    for row in lead_rows(filters):
        lines.append(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False))
        if len(lines) >= 500:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"
