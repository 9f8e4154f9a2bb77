"""Organiser attendee lists: uploaded per event, read by the booth app, and leads saved with
an unknown badge id are filled when a list with it arrives."""

from __future__ import annotations

import io
import json
import uuid

from backend.attendees.models import Attendee
from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.leads.models import Lead
from tests.factories import make_event, make_office, make_user

CSV = (
    "badge_id,first_name,last_name,company,job_title,email,phone,country\n"
    "HM26-004211,Jana,Schmidt,Nordwind GmbH,Buyer,jana@nordwind.example,+49 170 5550123,DE\n"
    "HM26-004212,Пётр,Иванов,ООО Сибирь,Директор,p.ivanov@sibir.example,+7 383 555-01-23,RU\n"
)
# An organiser's own export: other headers, semicolons, Windows-1251.
OTHER = (
    "Badge No.;Vorname;Nachname;Organisation;E-Mail;Land;Stand\n"
    "X-77;Anna;Müller;Müller KG;anna@mueller.example;DE;B12\n"
)


def _upload(api, event_id, data: bytes, **form):
    return api.post(
        f"/api/v1/events/{event_id}/attendees",
        data={"file": (io.BytesIO(data), "attendees.csv"), **form},
        content_type="multipart/form-data",
    )


def test_marketing_uploads_a_list_and_the_booth_reads_it(auth, api):
    marketing = make_user("marketing", email="m@example.com")
    staff = make_user("staff", email="booth@example.com")
    event = make_event(name="Hannover Messe")
    staff.events.append(event)
    db.session.commit()
    auth.login(marketing.email)
    reply = _upload(api, event.id, CSV.encode())
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["created"] == 2
    again = _upload(api, event.id, CSV.encode())
    assert again.get_json() | {"columns": None} == {
        "created": 0, "updated": 2, "matched_leads": 0, "columns": None
    }  # fmt: skip
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendee)) == 2

    auth.logout()
    auth.login(staff.email)
    listed = api.get(f"/api/v1/events/{event.id}/attendees").get_json()["attendees"]
    petr = next(a for a in listed if a["badge_id"] == "HM26-004212")
    assert (petr["first_name"], petr["company"]) == ("Пётр", "ООО Сибирь")
    assert _upload(api, event.id, CSV.encode()).status_code == 403  # staff may not upload


def test_other_headers_are_recognised_or_mapped(auth, api):
    marketing = make_user("marketing", email="m@example.com")
    event = make_event(name="Hannover Messe")
    db.session.commit()
    auth.login(marketing.email)
    reply = _upload(api, event.id, OTHER.encode("cp1251", errors="replace"))
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["columns"]["Vorname"] == "first_name"
    [anna] = db.session.scalars(db.select(Attendee)).all()
    assert (anna.badge_id, anna.email, anna.country) == ("X-77", "anna@mueller.example", "DE")

    no_id = "Ticket;Name\nT1;Bob\n"
    refused = _upload(api, event.id, no_id.encode())
    assert refused.status_code == 422
    mapped = _upload(api, event.id, no_id.encode(), mapping=json.dumps({"Ticket": "badge_id",
                                                                         "Name": "first_name"}))  # fmt: skip
    assert mapped.status_code == 201, mapped.get_json()


def test_a_lead_saved_with_an_unknown_badge_id_is_filled_when_the_list_arrives(auth, api):
    make_office("BER")
    marketing = make_user("marketing", email="m@example.com")
    staff = make_user("staff", email="booth@example.com")
    event = make_event(name="Hannover Messe", venue_country="DE")
    staff.events.append(event)
    db.session.commit()
    auth.login(staff.email)
    lead = {"client_id": str(uuid.uuid4()), "event_id": event.id, "badge_id": "hm26-004211",
            "badge_raw": "HM26-004211", "notes": "met at the demo"}  # fmt: skip
    [result] = api.post("/api/v1/sync", json={"leads": [lead]}).get_json()["results"]
    assert result["status"] == "created", result
    auth.logout()
    auth.login(marketing.email)
    reply = _upload(api, event.id, CSV.encode())
    assert reply.get_json()["matched_leads"] == 1
    stored = db.session.get(Lead, result["lead_id"])
    db.session.refresh(stored)
    assert (stored.first_name, stored.email, stored.company) == (
        "Jana", "jana@nordwind.example", "Nordwind GmbH"
    )  # fmt: skip
    assert stored.email_normalized == "jana@nordwind.example"
    assert stored.notes == "met at the demo"
    assert db.session.scalar(
        db.select(AuditEntry).where(AuditEntry.action == "lead.attendee_matched")
    )
