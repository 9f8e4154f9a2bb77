"""Reading an organiser's attendee CSV, storing it, and filling leads saved with a badge id."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping

from sqlalchemy import delete, func, or_, select

from backend.attendees.models import CONTACT_COLUMNS, Attendee
from backend.audit.services import record
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.models import Lead
from backend.leads.normalize import normalize_country, normalize_email, normalize_phone
from backend.privacy.erasure import Person, eraser

COLUMNS = ("badge_id", *CONTACT_COLUMNS)
# Headers organisers' exports use for our columns (compared lower-case, without spaces,
# dashes and underscores); anything else is mapped on upload or ignored.
ALIASES = {
    "badge_id": {"badgeid", "badge", "badgenumber", "badgeno", "id", "attendeeid", "registrationid",
                 "regid", "ticketid", "barcode", "code", "бейдж", "номербейджа"},
    "first_name": {"firstname", "givenname", "forename", "vorname", "prenom", "имя"},
    "last_name": {"lastname", "surname", "familyname", "nachname", "nom", "фамилия"},
    "company": {"company", "organisation", "organization", "org", "firma", "unternehmen", "компания",
                "организация"},
    "job_title": {"jobtitle", "title", "position", "role", "funktion", "должность"},
    "email": {"email", "emailaddress", "mail", "почта", "электроннаяпочта"},
    "phone": {"phone", "telephone", "tel", "mobile", "phonenumber", "telefon", "телефон"},
    "country": {"country", "countrycode", "land", "pays", "страна"},
}  # fmt: skip
MAX_BYTES = 10 * 1024 * 1024
LIMITS = {"badge_id": 100, "first_name": 200, "last_name": 200, "company": 300,
          "job_title": 300, "email": 320, "phone": 64, "country": 100}  # fmt: skip


def _key(header: str) -> str:
    return re.sub(r"[\s_\-.]+", "", header.strip().lower())


def map_headers(headers: list[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{csv header: our column}``: the explicit ``mapping`` first, then the known aliases.

    Raises ApiError 422 when no header gives the badge id or a mapping names an unknown column.
    """
    mapping = dict(mapping or {})
    bad = sorted(v for v in mapping.values() if v and v not in COLUMNS)
    if bad:
        raise ApiError(422, "bad_mapping", "Unknown columns in the mapping: " + ", ".join(bad))
    result: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = mapping.get(header)
        if target is None:
            target = next(
                (
                    col
                    for col in COLUMNS
                    if _key(header) == _key(col) or _key(header) in ALIASES[col]
                ),
                None,
            )
        if target and target not in taken:
            result[header] = target
            taken.add(target)
    if "badge_id" not in taken:
        raise ApiError(
            422, "missing_columns", "The list needs a badge_id column (or map one of its headers to it).",
            [{"field": "file", "message": "no badge_id column; headers: " + ", ".join(headers)}],
        )  # fmt: skip
    return result


def read_attendees(
    data: bytes, mapping: Mapping[str, str] | None = None
) -> tuple[list[dict], dict]:
    """Parse a CSV (UTF-8, with or without BOM, or Windows-1251; comma or semicolon).

    Returns (rows with our column names, {header: column} used). Raises ApiError 422.
    """
    if len(data) > MAX_BYTES:
        raise ApiError(413, "too_large", "The attendee list is larger than 10 MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    headers = [h for h in (reader.fieldnames or []) if h]
    used = map_headers(headers, mapping)
    rows = []
    for raw in reader:
        row = {col: (raw.get(header) or "").strip()[: LIMITS[col]] for header, col in used.items()}
        if row.get("badge_id"):
            rows.append(row)
    return rows, used


def store_attendees(event_id: int, rows: list[dict]) -> dict:
    """Insert or update the event's attendees by badge id (a later upload wins), then fill
    the event's leads saved with a matching badge id. Returns counts."""
    existing = {
        a.badge_key: a
        for a in db.session.scalars(select(Attendee).where(Attendee.event_id == event_id))
    }
    created = updated = 0
    for row in rows:
        key = row["badge_id"].upper()
        attendee = existing.get(key)
        if attendee is None:
            attendee = Attendee(event_id=event_id, badge_id=row["badge_id"], badge_key=key)
            db.session.add(attendee)
            existing[key] = attendee
            created += 1
        else:
            updated += 1
        for col in CONTACT_COLUMNS:
            if col in row:
                setattr(attendee, col, row[col])
    db.session.flush()
    matched = rematch_leads(event_id, existing)
    return {"created": created, "updated": updated, "matched_leads": matched}


def rematch_leads(event_id: int, attendees: dict[str, Attendee]) -> int:
    """Fill empty contact fields of leads saved with a badge id that is now on the list."""
    leads = db.session.scalars(
        select(Lead).where(Lead.event_id == event_id, Lead.badge_id != "")
    ).all()
    matched = 0
    for lead in leads:
        attendee = attendees.get((lead.badge_id or "").upper())
        if attendee is None:
            continue
        filled = {}
        for col in CONTACT_COLUMNS:
            value = getattr(attendee, col)
            if not value or getattr(lead, col):
                continue
            if col == "email":
                value, lead.email_normalized, _ok = normalize_email(value)
            elif col == "phone":
                value, lead.phone_normalized, _ok = normalize_phone(value, None)
            elif col == "country":
                value = normalize_country(value) or value[:2].upper()
            setattr(lead, col, value)
            filled[col] = value
        if filled:
            matched += 1
            record(
                "lead.attendee_matched", target=lead, detail={"badge_id": lead.badge_id, **filled}
            )
    db.session.flush()
    return matched


def attendee_count(event_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Attendee).where(Attendee.event_id == event_id)
    )


def person_attendees(person: Person) -> list[Attendee]:
    """The attendee rows that are the person: by e-mail on any event's list; by phone or
    full name on the lists of the events where they left a lead (a namesake on another
    event's list is someone else). What a privacy export lists and an erasure deletes."""
    events = select(Lead.event_id).where(Lead.id.in_(person.lead_ids)).distinct()
    candidates = db.session.scalars(
        select(Attendee)
        .where(
            or_(
                Attendee.event_id.in_(events),
                func.lower(Attendee.email).in_(sorted(person.emails)),
            )
        )
        .order_by(Attendee.id)
    )
    phones = {_digits(phone)[-10:] for phone in person.phones}
    names = {name.lower() for name in person.names}
    return [
        row
        for row in candidates
        if row.email.strip().lower() in person.emails
        or (len(_digits(row.phone)) >= 5 and _digits(row.phone)[-10:] in phones)
        or f"{row.first_name.strip()} {row.last_name.strip()}".strip().lower() in names
    ]


@eraser
def erase_attendees(person: Person) -> None:
    doomed = [row.id for row in person_attendees(person)]
    for start in range(0, len(doomed), 500):
        db.session.execute(
            delete(Attendee)
            .where(Attendee.id.in_(doomed[start : start + 500]))
            .execution_options(synchronize_session=False)
        )


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")
