"""Property tests of the input normalisers: whatever is typed, nothing raises and nothing
typed is lost — a value is stored normalised or exactly as typed (stripped) and flagged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.leads.normalize import (
    normalize_email,
    normalize_lead,
    normalize_phone,
    parse_captured_at,
)
from backend.leads.schemas import LeadIn

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))  # fmt: skip

emails = st.one_of(
    st.text(max_size=80),
    st.emails().map(str),
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20)),
)
phones = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="+0123456789 ()-./", max_size=30),
    st.from_regex(r"\+?[0-9 ()\-]{3,25}", fullmatch=True),
)
regions = st.one_of(st.none(), st.sampled_from(["RU", "DE", "US", "ru", "XX", "", "1"]))


@FAST
@given(emails)
def test_an_email_is_stored_normalised_or_exactly_as_typed(raw):
    stored, key, ok = normalize_email(raw)
    if ok and raw.strip():
        assert key == stored.lower() and "@" in stored
    else:
        assert stored == raw.strip() and key is None


@FAST
@given(phones, regions)
def test_a_phone_is_stored_as_e164_or_exactly_as_typed(raw, region):
    stored, key, ok = normalize_phone(raw, region)
    if ok and raw.strip():
        assert stored == key and stored.startswith("+") and stored[1:].isdigit()
    else:
        assert stored == raw.strip() and key is None


@FAST
@given(st.one_of(st.none(), st.text(max_size=40), st.datetimes().map(datetime.isoformat)))
def test_a_capture_time_is_never_in_the_future_and_never_raises(raw):
    value, _ = parse_captured_at(raw, NOW)
    assert value.tzinfo is not None and value <= NOW


text = st.one_of(st.none(), st.text(max_size=60))
coordinate = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12)
)
payloads = st.fixed_dictionaries(
    {"client_id": st.uuids().map(str)},
    optional={
        "first_name": text, "last_name": text, "email": emails, "phone": phones,
        "company": text, "job_title": text, "city": text, "country": text,
        "postal_code": st.one_of(st.none(), st.text(max_size=32)), "notes": text,
        "rating": st.one_of(st.none(), st.sampled_from(["hot", "HOT", "warm", "tepid", ""])),
        "latitude": coordinate, "longitude": coordinate,
        "captured_at": st.one_of(st.none(), st.text(max_size=30)),
        "badge_raw": st.one_of(st.none(), st.text(max_size=200)),
        "answers": st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=20),
                                   st.booleans(), st.integers()), max_size=5),
        "consent": st.fixed_dictionaries({}, optional={"contact": st.booleans(),
                                          "text": st.text(max_size=40)}),
    },
)  # fmt: skip


@FAST
@given(payloads, regions)
def test_normalising_a_lead_never_raises_and_loses_nothing_typed(payload, default_country):
    data = LeadIn.model_validate(payload).model_dump(mode="json")
    out = normalize_lead(data, default_country=default_country, now=NOW)
    fields, flags = out.fields, out.flags
    for name in ("first_name", "last_name", "company", "job_title", "city", "postal_code",
                 "notes"):  # fmt: skip
        assert fields[name] == (payload.get(name) or "").strip()
    assert fields["badge_raw"] == (payload.get("badge_raw") or "")
    raw_email = (payload.get("email") or "").strip()
    assert fields["email"] == raw_email or fields["email_normalized"] is not None
    assert ("bad_email" in flags) == (bool(raw_email) and fields["email_normalized"] is None)
    raw_phone = (payload.get("phone") or "").strip()
    assert fields["phone"] == raw_phone or fields["phone_normalized"] is not None
    assert ("bad_phone" in flags) == (bool(raw_phone) and fields["phone_normalized"] is None)
    raw_country = (payload.get("country") or "").strip()
    if raw_country and "bad_country" in flags:
        assert fields["country"] == raw_country  # kept as typed
    assert fields["answers"] == data["answers"]
    assert fields["captured_at"] <= NOW
    if fields["latitude"] is None and payload.get("latitude") not in (None, ""):
        assert "bad_coordinates" in flags


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(payload=payloads)
def test_a_stored_lead_keeps_the_capture_exactly_as_it_arrived(app, world, payload):
    """Through the real capture service and database: the raw payload is kept whole."""
    from backend.extensions import db
    from backend.leads.capture import capture_batch

    payload = {**payload, "client_id": str(uuid.uuid4()), "first_name": "Keep"}
    [result] = capture_batch([payload], user=world.users["marketing"], event_id=world.event.id)
    db.session.expire_all()
    if result.status == "created":
        assert result.lead.original == payload
    else:
        assert result.status in ("merged", "rejected"), result.status
