"""Privacy: export everything about a person, erase them keeping the numbers, retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.leads.models import Lead, MergedCapture, QualityFeedback, Touch
from backend.messaging.models import Message
from backend.privacy.services import anonymize_leads_older_than, months_before
from backend.reports.services import event_report


def capture(world, **fields) -> Lead:
    payload = {"client_id": str(uuid.uuid4()), "first_name": "Olga", "last_name": "Petrova",
               "email": "Olga.Petrova@Example.com", "phone": "+7 916 123-45-67",
               "company": "Uralmash", "job_title": "CTO", "notes": "wants a demo",
               "badge_raw": "BEGIN:VCARD\nFN:Olga Petrova\nEND:VCARD", "postal_code": "620000",
               "answers": {"budget": ">10k"}, "consent": {"contact": True, "text": "I agree"},
               **fields}  # fmt: skip
    [result] = capture_batch([payload], user=world.users["marketing"], event_id=world.event.id)
    assert result.lead is not None, result.errors
    return result.lead


@pytest.fixture
def person(world):
    """Olga: a lead worked to a win, captured twice (merged), with touches and feedback,
    and an unrelated visitor beside her."""
    lead = capture(world)
    capture(world, email="olga.petrova@example.com", phone="", notes="second visit")
    other = capture(world, first_name="Boris", last_name="", email="boris@example.com",
                    phone="+7 916 000-00-01")  # fmt: skip
    db.session.add(Touch(lead_id=lead.id, user_id=world.users["rep"].id, kind="call",
                         outcome="reached", note="Olga's husband answered"))  # fmt: skip
    db.session.add(QualityFeedback(lead_id=lead.id, verdict="good", note="Olga is keen"))
    lead.status, lead.deal_value, lead.deal_currency = "won", Decimal("12500.00"), "EUR"
    lead.won_at = datetime.now(UTC)
    db.session.commit()
    return {"lead": lead, "other": other}


def admin(world):
    return {"Authorization": f"Bearer {world.tokens['admin']}"}


def test_export_by_email_or_phone_gives_everything_stored_about_the_person(client, world, person):
    response = client.get("/api/v1/privacy/person?email=OLGA.petrova@example.com",
                          headers=admin(world))  # fmt: skip
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    [lead] = data["leads"]
    assert lead["id"] == person["lead"].id
    assert (lead["first_name"], lead["company"], lead["badge_raw"][:11]) == (
        "Olga", "Uralmash", "BEGIN:VCARD",
    )  # fmt: skip
    assert lead["original"]["email"] == "Olga.Petrova@Example.com"  # the raw capture
    assert lead["consent_contact"] is True and lead["consent_text"] == "I agree"
    assert [m["payload"]["notes"] for m in data["merged_captures"]] == ["second visit"]
    assert data["touches"][0]["note"] == "Olga's husband answered"
    assert data["feedback"][0]["note"] == "Olga is keen"
    kinds = {m["kind"] for m in data["messages"]}
    assert "autoresponder" in kinds
    assert all("boris" not in str(m).lower() for m in data["messages"])

    by_phone = client.get("/api/v1/privacy/person?phone=%2B79161234567", headers=admin(world))
    assert [lead["id"] for lead in by_phone.get_json()["leads"]] == [person["lead"].id]


def test_export_and_erase_need_exactly_one_key_and_an_admin(client, world):
    both = "/api/v1/privacy/person?email=a@b.c&phone=%2B491234567"
    assert client.get(both, headers=admin(world)).status_code == 422
    assert client.get("/api/v1/privacy/person", headers=admin(world)).status_code == 422
    assert client.post("/api/v1/privacy/erase", json={}, headers=admin(world)).status_code == 422
    marketing = {"Authorization": f"Bearer {world.tokens['marketing']}"}
    assert client.get("/api/v1/privacy/person?email=a@b.c", headers=marketing).status_code == 403


def _report_numbers(event):
    db.session.expire_all()
    report = event_report(event)
    return {k: v for k, v in report.items() if k not in ("generated_at",)}


def test_erasing_a_person_drops_contact_data_and_keeps_the_numbers(client, world, person):
    before = _report_numbers(world.event)
    response = client.post("/api/v1/privacy/erase", json={"email": "olga.petrova@example.com"},
                           headers=admin(world))  # fmt: skip
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["leads"] == 1

    db.session.expire_all()
    lead = db.session.get(Lead, person["lead"].id)
    for name in ("first_name", "last_name", "email", "phone", "company", "job_title",
                 "notes", "badge_raw", "postal_code"):  # fmt: skip
        assert getattr(lead, name) == "", name
    assert lead.email_normalized is None and lead.phone_normalized is None
    assert lead.answers == {} and lead.original == {} and lead.anonymized_at is not None
    assert "anonymized" in lead.flags
    # What reports count stays: status, value, event, office, consent flags and time.
    assert (lead.status, lead.deal_value, lead.office_id) == (
        "won", Decimal("12500.00"), world.office_a.id,
    )  # fmt: skip
    assert lead.consent_contact is True and lead.consent_at is not None
    assert _report_numbers(world.event) == before

    merged = db.session.scalar(db.select(MergedCapture))
    assert merged.payload == {} and merged.lead_id == lead.id
    assert db.session.scalar(db.select(Touch.note)) == ""
    assert db.session.scalar(db.select(QualityFeedback.note)) == ""
    olga_messages = db.session.scalars(db.select(Message).where(Message.lead_id == lead.id))
    for message in olga_messages:
        assert message.recipient == "[erased]" and message.body_text == ""
        assert message.status != "pending"  # never sent to nobody
    # Boris is untouched.
    other = db.session.get(Lead, person["other"].id)
    assert other.first_name == "Boris" and other.email == "boris@example.com"


def test_erasure_is_audited_without_naming_the_person(client, world, person):
    client.post("/api/v1/privacy/erase", json={"email": "olga.petrova@example.com"},
                headers=admin(world))  # fmt: skip
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "privacy.erase"))
    assert entry.user_id == world.users["admin"].id
    assert entry.detail["lead_ids"] == [person["lead"].id]
    assert "olga" not in str(entry.detail).lower()


def test_after_erasure_nothing_is_found_and_a_replayed_upload_does_not_bring_it_back(
    client, world, person
):
    client.post("/api/v1/privacy/erase", json={"phone": "+7 (916) 123 45 67"},
                headers=admin(world))  # fmt: skip
    found = client.get("/api/v1/privacy/person?email=olga.petrova@example.com",
                       headers=admin(world)).get_json()  # fmt: skip
    assert found["leads"] == [] and found["messages"] == []
    replay = {"client_id": str(person["lead"].client_id), "first_name": "Olga",
              "email": "olga.petrova@example.com"}  # fmt: skip
    [result] = capture_batch([replay], user=world.users["marketing"], event_id=world.event.id)
    assert result.status == "duplicate"
    db.session.expire_all()
    assert db.session.get(Lead, person["lead"].id).first_name == ""


def test_retention_anonymises_leads_older_than_n_months_once(world):
    now = datetime(2027, 3, 31, 12, 0, tzinfo=UTC)
    old = capture(world, captured_at="2026-09-29T10:00:00Z")
    recent = capture(world, email="new@example.com", phone="", captured_at="2026-10-02T10:00:00Z")
    for lead in (old, recent):  # a capture time in the future is not believed: set it here
        lead.captured_at = {old.id: datetime(2026, 9, 29, tzinfo=UTC),
                            recent.id: datetime(2026, 10, 2, tzinfo=UTC)}[lead.id]  # fmt: skip
    db.session.commit()

    assert anonymize_leads_older_than(0, now) == 0
    assert anonymize_leads_older_than(6, now) == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Lead, old.id).email == ""
    assert db.session.get(Lead, recent.id).email == "new@example.com"
    assert anonymize_leads_older_than(6, now) == 0  # already done


def test_months_before_clamps_to_the_end_of_a_shorter_month():
    at = datetime(2027, 3, 31, 8, 30, tzinfo=UTC)
    assert months_before(at, 1) == datetime(2027, 2, 28, 8, 30, tzinfo=UTC)
    assert months_before(at, 12) == datetime(2026, 3, 31, 8, 30, tzinfo=UTC)
    assert months_before(at, 15) - at < timedelta(days=-400)


def test_the_export_matches_an_address_exactly_percent_and_underscore_are_characters(
    client, world, person
):
    for pattern in ("%@example.com", "%", "olga.petrov_@example.com", "_lga.petrova@example.com"):
        found = client.get("/api/v1/privacy/person", query_string={"email": pattern},
                           headers=admin(world)).get_json()  # fmt: skip
        assert (found["leads"], found["messages"]) == ([], []), pattern
    exact = client.get("/api/v1/privacy/person", query_string={"email": "boris@example.com"},
                       headers=admin(world)).get_json()  # fmt: skip
    assert exact["messages"] and all("olga" not in str(m).lower() for m in exact["messages"])


def test_a_room_registers_its_own_eraser_and_erasure_and_retention_run_it(world, person):
    """How a future table (lead attachments) plugs in: one function, registered once."""
    from backend.privacy import erasure
    from backend.privacy.services import erase_person

    seen = []

    @erasure.eraser
    def erase_attachments(who):
        seen.append((list(who.lead_ids), "olga.petrova@example.com" in who.emails))

    try:
        erase_person(email="olga.petrova@example.com")
        late = datetime.now(UTC) + timedelta(days=800)
        anonymize_leads_older_than(12, now=late)
    finally:
        erasure._ERASERS.remove(erase_attachments)
    assert seen[0] == ([person["lead"].id], True)
    assert sorted(seen[1][0]) == [person["other"].id]  # the one not yet anonymised
