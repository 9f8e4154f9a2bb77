"""The booth corrects its own captures after sync: applied until the office first touches
the lead, then passed to the office as a note; audited either way."""

from __future__ import annotations

import uuid

from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.leads.models import Lead, Touch
from tests.factories import make_event, make_office, make_user


def _captured(auth, api, email="booth@example.com"):
    make_office("NSK")
    staff = make_user("staff", email=email)
    event = make_event(
        name="Sibir Expo",
        questions=[{"id": "budget", "label": "Budget", "type": "choice", "options": ["S", "L"]}],
    )
    staff.events.append(event)
    db.session.commit()
    auth.login(staff.email)
    lead = {
        "client_id": str(uuid.uuid4()),
        "event_id": event.id,
        "first_name": "Bob",
        "email": "bob@acme",
        "rating": "cold",
        "city": "Novosibirsk",
        "country": "RU",
    }
    [result] = api.post("/api/v1/sync", json={"leads": [lead]}).get_json()["results"]
    return staff, db.session.get(Lead, result["lead_id"])


def test_the_capturer_corrects_contact_rating_answers_and_notes_before_the_office_touches_it(
    auth, api
):
    staff, lead = _captured(auth, api)
    assert "bad_email" in lead.flags
    reply = api.patch(
        f"/api/v1/leads/{lead.id}/contact",
        json={
            "email": "bob@acme.com",
            "rating": "hot",
            "notes": "Wants a quote",
            "answers": {"budget": "L"},
        },
    )
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["email"] == "bob@acme.com"
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert (lead.email, lead.rating, lead.notes) == ("bob@acme.com", "hot", "Wants a quote")
    assert lead.answers == {"budget": "L"}
    assert "bad_email" not in lead.flags
    assert lead.original["email"] == "bob@acme"
    entry = db.session.scalar(
        db.select(AuditEntry).where(AuditEntry.action == "lead.capture_corrected")
    )
    assert entry.user_id == staff.id
    assert entry.detail["email"] == ["bob@acme", "bob@acme.com"]


def test_once_the_office_touched_the_lead_the_correction_becomes_a_note_for_it(auth, api):
    staff, lead = _captured(auth, api)
    rep = make_user("office_rep", lead.office, email="rep@example.com")
    db.session.commit()
    auth.logout()
    auth.login(rep.email)
    touched = api.post(f"/api/v1/leads/{lead.id}/touches", json={"kind": "call"})
    assert touched.status_code == 201, touched.get_json()
    auth.logout()
    auth.login(staff.email)

    reply = api.patch(f"/api/v1/leads/{lead.id}/contact", json={"email": "bob@acme.com"})
    assert reply.status_code == 200, reply.get_json()
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert lead.email == "bob@acme"  # what the office works from stays
    note = db.session.scalar(db.select(Touch).where(Touch.kind == "note"))
    assert note.user_id == staff.id
    assert "bob@acme → bob@acme.com" in note.note
    assert db.session.scalar(
        db.select(AuditEntry).where(AuditEntry.action == "lead.capture_correction_noted")
    )


def test_only_the_capturer_may_correct_a_capture(auth, api):
    _, lead = _captured(auth, api)
    other = make_user("staff", email="other@example.com")
    other.events.append(lead.event)
    db.session.commit()
    auth.logout()
    auth.login(other.email)
    reply = api.patch(f"/api/v1/leads/{lead.id}/contact", json={"email": "x@example.com"})
    assert reply.status_code == 404


def test_a_correction_that_changes_nothing_is_refused(auth, api):
    _, lead = _captured(auth, api)
    reply = api.patch(f"/api/v1/leads/{lead.id}/contact", json={"rating": "cold"})
    assert reply.status_code == 422
