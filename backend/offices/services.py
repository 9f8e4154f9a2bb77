"""Offices: create, update, and import from CSV with row-numbered errors."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from backend.errors import ApiError
from backend.extensions import db
from backend.offices.models import Office
from backend.offices.schemas import OfficeIn, problem

# The office's name per language: optional CSV columns name_en, name_ru.
LANGUAGES = ("en", "ru")
NAME_COLUMNS = tuple(f"name_{code}" for code in LANGUAGES)
CSV_COLUMNS = (
    "code", "name", "city", "country", "latitude", "longitude",
    "timezone", "email", "phone", "territories", "capacity",
)  # fmt: skip
OPTIONAL_COLUMNS = (
    "working_days", "sla_hours", "monthly_lead_order", "paused", "address", *NAME_COLUMNS,
)  # fmt: skip


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def clean_office_fields(row: dict) -> dict:
    """Check and convert one office's fields with ``OfficeIn``; raises ValueError naming
    each bad field. ``paused`` is left as it is when the row does not say."""
    try:
        office = OfficeIn.model_validate(
            {k: v for k, v in row.items() if k not in NAME_COLUMNS and k != "names"}
        )
    except ValidationError as exc:
        raise ValueError(problem(exc)) from None
    fields = office.model_dump(exclude={"paused", "address"})
    if office.address is not None:  # only when the file has the column
        fields["address"] = office.address
    fields["sla_hours"] = office.sla_hours or None  # blank: DEFAULT_SLA_HOURS (Office.sla)
    if office.paused is not None:
        fields["paused"] = office.paused
    names = {
        code: str(row.get(f"name_{code}") or (row.get("names") or {}).get(code) or "").strip()
        for code in LANGUAGES
    }
    if any(f"name_{code}" in row for code in LANGUAGES) or "names" in row:
        fields["names"] = {code: text for code, text in names.items() if text}
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
