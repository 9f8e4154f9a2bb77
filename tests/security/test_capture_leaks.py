"""Capture is no lookup service, and the public visitor form changes no stored lead.

Issue #15: "Capture must not be a lookup service" and "The public visitor form must not
change stored leads".
"""

from __future__ import annotations

import re
import uuid

from backend.extensions import db
from backend.leads.models import Lead, MergedCapture
from backend.messaging.models import Message

XHR = {"X-Requested-With": "XMLHttpRequest"}
# What the stored lead holds that the booth caller never typed.
STORED = ("Visitor", "+79161234567", "Acme", "Head of Secrets", "met at the bar")


def stored_lead(world, **fields) -> int:
    """A lead of event E that booth staff did not capture (so they may not read it)."""
    values = dict(captured_by_id=world.ids["marketing"], email="vera@example.com",
                  email_normalized="vera@example.com", phone_normalized="+79161234567",
                  job_title="Head of Secrets", notes="met at the bar", rating="warm",
                  consent_contact=False)  # fmt: skip
    return world.new_lead(**{**values, **fields})


def capture(client, world, **fields):
    payload = {"client_id": str(uuid.uuid4()), **fields}
    return client.post(f"/api/v1/events/{world.ids['event']}/leads", json=payload, headers=XHR)


def assert_reveals_nothing(body: dict, typed: str = "") -> None:
    text = str(body)
    for value in (v for v in STORED if v != typed):
        assert value not in text, (value, body)
    assert "id" not in body and "office" not in body and "routing" not in body


def test_a_merge_into_a_lead_the_caller_cannot_read_answers_only_what_they_sent(client_as, world):
    lead_id = stored_lead(world)
    staff = client_as("staff")
    assert staff.get(f"/api/v1/leads/{lead_id}").status_code == 404
    for typed in ({"email": "VERA@example.com"}, {"phone": "+7 916 123-45-67"}):
        response = capture(staff, world, first_name="V.", **typed)
        assert response.status_code == 200
        body = response.get_json()
        assert (body["result"], body["event_id"], body["first_name"]) == (
            "merged", world.ids["event"], "V.",
        )  # fmt: skip
        assert_reveals_nothing(body, typed=body["phone"])  # their own phone comes back
    # Who may read the lead still gets it in full.
    marketing = capture(client_as("marketing"), world, email="vera@example.com").get_json()
    assert (marketing["id"], marketing["last_name"]) == (lead_id, "Visitor")


def test_a_batch_hides_the_stored_lead_of_a_merge_the_caller_cannot_read(client_as, world):
    stored_lead(world)
    leads = [{"client_id": str(uuid.uuid4()), "event_id": world.ids["event"],
              "email": "vera@example.com"}]  # fmt: skip
    response = client_as("staff").post("/api/v1/sync", json={"leads": leads}, headers=XHR)
    [result] = response.get_json()["results"]
    assert result["status"] == "merged"
    assert (result["lead_id"], result["office"], result["routing"], result["flags"]) == (
        None, None, None, [],
    )  # fmt: skip


def test_replaying_a_client_id_of_a_lead_the_caller_cannot_read_reveals_nothing(client_as, world):
    lead_id = stored_lead(world)
    client_id = str(db.session.get(Lead, lead_id).client_id)
    staff = client_as("staff")
    same_event = staff.post(
        f"/api/v1/events/{world.ids['event']}/leads",
        json={"client_id": client_id, "first_name": "Guess"}, headers=XHR,
    )  # fmt: skip
    assert same_event.status_code == 200
    assert same_event.get_json()["result"] == "duplicate"
    assert_reveals_nothing(same_event.get_json())


def test_a_client_id_used_in_another_event_is_rejected_as_a_conflict(client_as, world):
    lead_id = stored_lead(world)
    client_id = str(db.session.get(Lead, lead_id).client_id)
    other = client_as("staff_other")
    other_event = world.other_event.id
    single = other.post(f"/api/v1/events/{other_event}/leads",
                        json={"client_id": client_id, "first_name": "Guess"}, headers=XHR)  # fmt: skip
    assert single.status_code == 409
    assert single.get_json()["error"]["code"] == "client_id_conflict"
    assert_reveals_nothing(single.get_json())
    leads = [{"client_id": client_id, "event_id": other_event, "first_name": "Guess"}]
    [result] = other.post("/api/v1/sync", json={"leads": leads}, headers=XHR).get_json()["results"]
    assert (result["status"], result["lead_id"]) == ("rejected", None)
    assert result["errors"][0]["code"] == "client_id_conflict"
    # Even an admin, who may read the lead, cannot move a UUID to another event.
    admin = client_as("admin").post(f"/api/v1/events/{other_event}/leads",
                                    json={"client_id": client_id, "first_name": "x"}, headers=XHR)  # fmt: skip
    assert admin.status_code == 409
    assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 1


def test_a_merge_never_lowers_the_rating_nor_gives_consent(client_as, world):
    lead_id = stored_lead(world, rating="hot", consent_contact=False)
    response = capture(client_as("staff"), world, email="vera@example.com", rating="cold",
                       notes="second scan", consent={"contact": True, "text": "ok"})  # fmt: skip
    assert response.get_json()["result"] == "merged"
    lead = db.session.get(Lead, lead_id)
    db.session.refresh(lead)
    assert (lead.rating, lead.consent_contact) == ("hot", False)
    assert "second scan" in lead.notes and "met at the bar" in lead.notes
    merged = db.session.scalar(db.select(MergedCapture))
    assert (merged.kind, merged.rating) == ("merged", "cold")


def visitor_post(client, world, **fields):
    payload = {"client_id": str(uuid.uuid4()), "first_name": "Vera", "city": "Moscow",
               "country": "RU", **fields}  # fmt: skip
    url = f"/api/v1/public/visitor/{world.ids['visitor_token']}/leads"
    return client.post(url, json=payload, headers=XHR)


def test_the_visitor_form_changes_nothing_on_a_stored_lead(app, client, world):
    lead_id = stored_lead(world, rating="cold")
    response = visitor_post(client, world, email="vera@example.com", job_title="CEO",
                            rating="hot", notes="call me now", last_name="Forged",
                            consent={"contact": True, "text": "I agree to be contacted"})  # fmt: skip
    assert response.status_code == 201
    lead = db.session.get(Lead, lead_id)
    db.session.refresh(lead)
    assert (lead.consent_contact, lead.job_title, lead.rating, lead.notes, lead.last_name) == (
        False, "Head of Secrets", "cold", "met at the bar", "Visitor",
    )  # fmt: skip
    assert "merged" not in (lead.flags or [])
    [form] = db.session.scalars(db.select(MergedCapture)).all()
    assert (form.kind, form.lead_id, form.payload["notes"]) == ("form", lead_id, "call me now")


def test_the_visitor_form_answers_known_and_unknown_people_alike(client, world):
    stored_lead(world)
    known = visitor_post(client, world, email="vera@example.com")
    unknown = visitor_post(client, world, email="someone.new@example.com")
    assert known.status_code == unknown.status_code == 201
    assert known.get_json() == unknown.get_json()
    assert set(known.get_json()) == {"office"}


def test_consent_from_the_form_counts_once_confirmed_from_the_mailed_link(client, world):
    app_config = client.application.config
    app_config["PUBLIC_BASE_URL"] = "https://leads.example.org"
    lead_id = stored_lead(world)
    visitor_post(client, world, email="vera@example.com",
                 consent={"contact": True, "text": "I agree to be contacted"})  # fmt: skip
    mail = db.session.scalar(db.select(Message).where(Message.kind == "consent_request"))
    assert mail.recipient == "vera@example.com"  # the address on the lead, not the form's
    link = re.search(r"https://leads\.example\.org/consent/\S+", mail.body_text).group(0)
    path = link.removeprefix("https://leads.example.org")
    page = client.get(path)
    assert page.status_code == 200 and "I agree to be contacted" in page.get_data(as_text=True)
    lead = db.session.get(Lead, lead_id)
    db.session.refresh(lead)
    assert lead.consent_contact is False  # opening the link (a mail scanner) agrees to nothing
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    assert client.post(path, data={"csrf_token": token}).status_code == 200
    db.session.refresh(lead)
    assert (lead.consent_contact, lead.consent_text) == (True, "I agree to be contacted")
    assert lead.consent_at is not None
    assert client.get("/consent/not-a-token").status_code == 404


def test_the_office_lead_page_shows_what_the_visitor_wrote_on_the_form(client_as, world):
    lead_id = stored_lead(world, captured_by_id=world.ids["staff"])
    visitor_post(client_as("anonymous"), world, email="vera@example.com", notes="call me now")
    page = client_as("rep").get(f"/office/leads/{lead_id}").get_data(as_text=True)
    assert "The visitor also filled in the form" in page
    assert "call me now" in page
