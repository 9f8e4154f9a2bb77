"""Normalise captured contact data; what does not validate is kept raw and flagged."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from backend.i18n import LANGUAGES, mail_language_for_country
from backend.leads.models import RATINGS
from backend.routing.gazetteer import normalize_country

# A phone clock may run a little fast; beyond this a capture time is not believed.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass
class Normalized:
    fields: dict
    flags: list[str] = field(default_factory=list)


def clean_text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


# The plain shape nearly every badge and visitor address has: ASCII, dot-atom local part,
# LDH domain labels with an alphabetic TLD. email-validator is slow (~0.4 ms a call), so
# these skip it; its answer for them is the same (the domain lower-cased).
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def _special_use(domain: str) -> bool:
    domain = domain.lower()
    if "xn--" in domain:  # punycode: email-validator turns it back into Unicode
        return True
    return any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES)


def normalize_email(raw: str) -> tuple[str, str | None, bool]:
    """Return (stored value, merge key or None, ok). Never raises."""
    raw = raw.strip()
    if not raw:
        return "", None, True
    plain = _PLAIN_EMAIL.fullmatch(raw)
    if (
        plain
        and len(plain["local"]) <= 64
        and len(raw) <= 254
        and not _special_use(plain["domain"])
    ):
        value = f"{plain['local']}@{plain['domain'].lower()}"
        return value, value.lower(), True
    try:
        result = validate_email(raw, check_deliverability=False, test_environment=False)
    except EmailNotValidError:
        return raw, None, False
    return result.normalized, result.normalized.lower(), True


def normalize_phone(raw: str, region: str | None) -> tuple[str, str | None, bool]:
    """Return (stored value, E.164 or None, ok); the raw text is kept when it is not a phone."""
    raw = raw.strip()
    if not raw:
        return "", None, True
    try:
        number = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return raw, None, False
    if not phonenumbers.is_possible_number(number):
        return raw, None, False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, e164, True


def parse_coordinate(value, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError
    return number


def parse_captured_at(raw: str | None, now: datetime) -> tuple[datetime, bool]:
    """The capture time, or ``now`` when missing, unreadable or in the future."""
    if not raw:
        return now, True
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return now, False
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value > now + CLOCK_SKEW or value.year < 2000:
        return now, False
    return min(value, now), True


def normalize_lead(data: dict, *, default_country: str | None, now: datetime) -> Normalized:
    """Normalise one validated lead payload into model fields plus flags.

    Never raises for bad content: e-mail, phone, country, rating, coordinates and
    capture time that do not make sense are kept as typed and flagged.
    """
    flags: list[str] = []
    out: dict = {
        name: clean_text(data.get(name))
        for name in ("first_name", "last_name", "company", "job_title", "city", "postal_code")
    }
    out["notes"] = clean_text(data.get("notes"))
    out["badge_raw"] = data.get("badge_raw") or ""
    out["badge_id"] = clean_text(data.get("badge_id"))

    out["email"], out["email_normalized"], ok = normalize_email(clean_text(data.get("email")))
    if not ok:
        flags.append("bad_email")

    raw_country = clean_text(data.get("country"))
    country = normalize_country(raw_country) if raw_country else None
    if raw_country and country is None:
        flags.append("bad_country")
    out["country"] = country or raw_country or (default_country or "")

    region = country or default_country
    out["phone"], out["phone_normalized"], ok = normalize_phone(
        clean_text(data.get("phone")), region
    )
    if not ok:
        flags.append("bad_phone")

    rating = clean_text(data.get("rating")).lower()
    if rating and rating not in RATINGS:
        flags.append("bad_rating")
        rating = ""
    out["rating"] = rating or None

    try:
        out["latitude"] = parse_coordinate(data.get("latitude"), -90, 90)
        out["longitude"] = parse_coordinate(data.get("longitude"), -180, 180)
        if (out["latitude"] is None) != (out["longitude"] is None):
            raise ValueError
    except ValueError:
        flags.append("bad_coordinates")
        out["latitude"] = out["longitude"] = None

    out["captured_at"], ok = parse_captured_at(data.get("captured_at"), now)
    if not ok:
        flags.append("bad_captured_at")

    consent = data.get("consent") or {}
    out["consent_contact"] = bool(consent.get("contact"))
    out["consent_marketing"] = bool(consent.get("marketing"))
    out["consent_text"] = consent.get("text") or ""
    out["consent_at"] = (
        out["captured_at"] if (out["consent_contact"] or out["consent_marketing"]) else None
    )
    out["answers"] = dict(data.get("answers") or {})
    out["source"] = data.get("source") or "staff"
    # None sent (booth staff did not choose): the visitor's country decides
    # (i18n.mail_language_for_country); else, and for a language we have no mails in,
    # the lead keeps None and gets the event's default language.
    out["language"] = (
        normalize_language(data.get("language"))
        if clean_text(data.get("language"))
        else mail_language_for_country(out["country"])
    )
    return Normalized(out, flags)


def normalize_language(raw) -> str | None:
    """A supported language code for a tag ("ru-RU", "RU" → "ru"), or None for anything
    else: the lead then gets the event's default language, and nothing is flagged (a
    browser in a language we have no mails in is no fault of the capture)."""
    primary = clean_text(raw).replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def has_identity(data: dict) -> bool:
    """A lead must let someone identify or reach the person."""
    return any(
        clean_text(data.get(name))
        for name in ("first_name", "last_name", "email", "phone", "badge_raw")
    )
