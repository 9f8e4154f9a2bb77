"""Offices: create, update, and import from CSV with row-numbered errors."""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from backend.errors import ApiError
from backend.extensions import db
from backend.offices.models import Office

# The office's name per language: optional CSV columns name_en, name_ru.
LANGUAGES = ("en", "ru")
NAME_COLUMNS = tuple(f"name_{code}" for code in LANGUAGES)
CSV_COLUMNS = (
    "code", "name", "city", "country", "latitude", "longitude",
    "timezone", "email", "phone", "territories", "capacity",
)  # fmt: skip
OPTIONAL_COLUMNS = ("working_days", "sla_hours", "monthly_lead_order", "paused", *NAME_COLUMNS)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is not a number: {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _optional_int(value: str | None, name: str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} is not a whole number: {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def clean_office_fields(row: dict) -> dict:
    """Check and convert one office's fields; raises ValueError naming the bad field."""
    code = (row.get("code") or "").strip().upper()
    name = (row.get("name") or "").strip()
    if not code:
        raise ValueError("code is empty")
    if not name:
        raise ValueError("name is empty")
    timezone = (row.get("timezone") or "UTC").strip()
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {timezone!r}") from None
    country = (row.get("country") or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ValueError(f"country must be an ISO code like RU or DE, got {country!r}")
    territories = row.get("territories") or []
    if isinstance(territories, str):
        territories = [t.strip().upper() for t in territories.replace(",", ";").split(";")]
    working_days = (row.get("working_days") or "12345").strip()
    if not working_days or any(ch not in "1234567" for ch in working_days):
        raise ValueError(
            f"working_days must be ISO weekday digits like 12345, got {working_days!r}"
        )
    fields = {
        "code": code,
        "name": name,
        "city": (row.get("city") or "").strip(),
        "country": country,
        "latitude": _float(row.get("latitude"), "latitude", -90, 90),
        "longitude": _float(row.get("longitude"), "longitude", -180, 180),
        "timezone": timezone,
        "email": (row.get("email") or "").strip(),
        "phone": (row.get("phone") or "").strip(),
        "territories": [t for t in territories if t],
        "capacity": _optional_int(row.get("capacity"), "capacity"),
        "working_days": "".join(sorted(set(working_days))),
        "sla_hours": _optional_int(row.get("sla_hours"), "sla_hours") or 24,
        "monthly_lead_order": _optional_int(row.get("monthly_lead_order"), "monthly_lead_order"),
    }
    names = {
        code: str(row.get(f"name_{code}") or (row.get("names") or {}).get(code) or "").strip()
        for code in LANGUAGES
    }
    if any(f"name_{code}" in row for code in LANGUAGES) or "names" in row:
        fields["names"] = {code: text for code, text in names.items() if text}
    if "paused" in row and row["paused"] not in (None, ""):
        fields["paused"] = str(row["paused"]).strip().lower() in ("1", "true", "yes")
    return fields


def upsert_office(row: dict) -> tuple[Office, bool]:
    """Create or update the office with ``row['code']``; returns (office, created).

    Raises ValueError when a field is invalid.
    """
    fields = clean_office_fields(row)
    office = db.session.scalar(db.select(Office).where(Office.code == fields["code"]))
    created = office is None
    if created:
        office = Office(**fields)
        db.session.add(office)
    else:
        for name, value in fields.items():
            setattr(office, name, value)
    return office, created


def read_csv_rows(text: str) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row) for a CSV text; raises ApiError if columns are missing."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ApiError(422, "missing_columns", "missing columns: " + ", ".join(missing))
    for row in reader:
        yield reader.line_num, row


def import_offices(rows: Iterable[tuple[int, dict]]) -> ImportResult:
    """Import office rows; a bad row is reported with its line number, good rows still land."""
    result = ImportResult()
    for line, row in rows:
        try:
            with db.session.begin_nested():
                _, created = upsert_office(row)
                db.session.flush()
        except ValueError as exc:
            result.errors.append((line, str(exc)))
            continue
        if created:
            result.created += 1
        else:
            result.updated += 1
    return result
