"""Erasure finds everything: one person written through every path the product has, erased
by the e-mail they first gave, then every text and JSON column of every table (read from
the models, so a new table is covered without editing this test) scanned for them.

Issue #15, "Erasure and retention find everything".
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, select

from backend.attendees.models import Attendee
from backend.attendees.services import store_attendees
from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.leads.models import Lead
from backend.messaging.models import Message
from backend.privacy.services import anonymize_leads_older_than, erase_person, export_person
from backend.workspace.services import (
    change_status,
    fix_contact,
    hand_over,
    log_touch,
    record_feedback,
)
from tests.factories import make_event, make_user
from tests.followup import lead_payload
from workers.sweep import run_sweep

FIRST, LAST, NICK = "Zinaida", "Quorbelle", "Zinochka"
EMAILS = ("zinaida.quorbelle@example.org", "zq.private@example.net", "z.quorbelle@example.com")
PHONES = ("+7 916 555-12-34", "+7 916 555-99-88", "+7 916 555-77-66")
XHR = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def config(config, receiver):
    return {**config, "WEBHOOK_URL": receiver.url, "WEBHOOK_ALLOW_PRIVATE": True,
            "PUBLIC_BASE_URL": "https://leads.example.org"}  # fmt: skip


def text_columns():
    """Every text and JSON column of every table the models declare."""
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if columns:
            yield table, columns


def _flat(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def hits() -> list[tuple[str, str, str]]:
    """(table.column, what was found, an excerpt) for each mention of the person."""
    words = [FIRST, LAST, NICK, *EMAILS]
    digits = [re.sub(r"\D", "", p)[-10:] for p in PHONES]
    found = []
    for table, columns in text_columns():
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                text = _flat(value)
                lowered = text.lower()
                packed = re.sub(r"[\s\-().]", "", text)
                for word in words:
                    if word.lower() in lowered:
                        found.append((f"{table.name}.{column.name}", word, text[:120]))
                for number in digits:
                    if number in packed:
                        found.append((f"{table.name}.{column.name}", number, text[:120]))
    return found


def write_the_person_everywhere(app, client, world, run_worker):
    """Zinaida through every path: booth capture, merge, visitor form, reminder,
    escalation, touches with outcomes, contact correction, feedback and the quality
    summary, hand-over with a reason, lost reason, office notice, autoresponder, webhook,
    the organiser's attendee list."""
    staff = make_user("staff", email="booth@example.com", name="Booth Bob")
    staff.events.append(world["event"])
    rep = make_user("office_rep", world["mow"], email="rep2@mow.example.com", name="Rep Rita")
    db.session.commit()
    first = lead_payload(world["event"], first_name=FIRST, last_name=LAST, email=EMAILS[0],
                         phone=PHONES[0], company=f"{LAST} Works",
                         notes=f"{FIRST} wants a demo", badge_raw=f"FN:{FIRST} {LAST}")  # fmt: skip
    [created] = capture_batch([first], user=staff)
    lead_id = created.lead_id
    other = lead_payload(world["event"], first_name="Boris", last_name="Unrelated")
    capture_batch([other], user=staff)
    merge = lead_payload(world["event"], first_name=NICK, email=EMAILS[0].upper(),
                         phone=PHONES[1], notes=f"{NICK} came back", rating="cold")  # fmt: skip
    assert capture_batch([merge], user=staff)[0].status == "merged"
    form = lead_payload(world["event"], first_name=FIRST, last_name=LAST, email=EMAILS[0],
                        phone=PHONES[1], notes=f"this is {FIRST}, call {PHONES[1]}")  # fmt: skip
    form.pop("event_id")
    url = f"/api/v1/public/visitor/{world['event'].visitor_token}/leads"
    assert client.post(url, json=form, headers=XHR).status_code == 201

    store_attendees(world["event"].id, [
        dict(badge_id="ZQ-1", first_name=FIRST, last_name=LAST, company=f"{LAST} Works",
             email=EMAILS[1], phone=PHONES[2]),
        dict(badge_id="BU-2", first_name="Boris", last_name="Unrelated", email="bu@example.com"),
    ])  # fmt: skip
    db.session.commit()

    lead = db.session.get(Lead, lead_id)
    start = lead.routed_at
    run_sweep(now=start + timedelta(hours=18))  # reminder
    run_sweep(now=start + timedelta(hours=24))  # escalation
    run_worker()

    lead = db.session.get(Lead, lead_id)
    log_touch(lead, rep, kind="call", outcome=f"{FIRST} asked to call {PHONES[0]}",
              note=f"Spoke to {FIRST} {LAST}, she mailed from {EMAILS[1]}")  # fmt: skip
    fix_contact(lead, rep, {"email": EMAILS[2], "phone": PHONES[2]})
    record_feedback(lead, rep, verdict="bad", reason="student", note=f"{FIRST} is a student")
    boris = db.session.scalar(select(Lead).where(Lead.last_name == "Unrelated"))
    record_feedback(boris, rep, verdict="good")
    db.session.commit()
    run_sweep()  # the quality summary names both sampled leads
    manager = world["mow_manager"]
    hand_over(lead, manager, office_code="SPB", reason=f"{FIRST} {LAST} moved to the north")
    db.session.commit()
    lead = db.session.get(Lead, lead_id)
    change_status(lead, rep, status="lost", lost_reason=f"{FIRST} chose a rival, {EMAILS[2]}")
    db.session.commit()
    run_worker()
    return lead_id


def test_an_erased_person_is_found_in_no_text_or_json_column_of_any_table(
    app, client, auth, world, run_worker, smtp, receiver
):
    lead_id = write_the_person_everywhere(app, client, world, run_worker)
    kinds = set(db.session.scalars(select(Message.kind).where(Message.status == "sent")))
    assert {"autoresponder", "office_notice", "sla_reminder", "escalation",
            "quality_summary", "consent_request", "webhook:lead.routed"} <= kinds  # fmt: skip
    before = {column for column, _, _ in hits()}
    assert {"lead.email", "lead.original", "merged_capture.payload", "touch.outcome",
            "touch.note", "lead.lost_reason", "routing_decision.reason", "audit_entry.detail",
            "message.recipient", "message.body_text", "message.payload",
            "quality_feedback.note", "attendee.email", "attendee.phone"} <= before  # fmt: skip

    make_user("admin", email="privacy@example.com")
    db.session.commit()
    auth.login("privacy@example.com")
    # Erased by the address the visitor first gave, which a rep has since corrected.
    response = client.post("/api/v1/privacy/erase", json={"email": EMAILS[0]}, headers=XHR)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["lead_ids"] == [lead_id]

    db.session.expire_all()
    assert hits() == []
    # The numbers stay, and so does the unrelated lead beside her.
    lead = db.session.get(Lead, lead_id)
    assert (lead.status, lead.event_id) == ("lost", world["event"].id)
    assert db.session.scalar(select(Lead.last_name).where(Lead.id != lead_id)) == "Unrelated"
    assert list(db.session.scalars(select(Attendee.badge_id))) == ["BU-2"]
    summary = db.session.scalar(select(Message).where(Message.kind == "quality_summary"))
    assert "Boris Unrelated" in summary.body_text


def test_retention_erases_through_the_same_code(app, client, world, run_worker, smtp, receiver):
    write_the_person_everywhere(app, client, world, run_worker)
    later = db.session.scalar(select(Lead.captured_at).order_by(Lead.id)) + timedelta(days=400)
    assert anonymize_leads_older_than(12, now=later) == 2
    db.session.commit()
    db.session.expire_all()
    assert hits() == []


def test_a_person_is_found_by_the_phone_merged_in_and_the_email_corrected_to(
    app, client, world, run_worker, smtp, receiver
):
    lead_id = write_the_person_everywhere(app, client, world, run_worker)
    from backend.privacy.services import PersonKey, find_person_leads

    for key in (PersonKey(phone=PHONES[1]), PersonKey(email=EMAILS[2]),
                PersonKey(email=EMAILS[0]), PersonKey(phone=PHONES[0])):  # fmt: skip
        assert [lead.id for lead in find_person_leads(key)] == [lead_id], key.raw


def test_an_erased_person_leaves_no_attendee_row_with_their_email_phone_or_name(
    app, client, world, run_worker, smtp, receiver
):
    write_the_person_everywhere(app, client, world, run_worker)
    event = world["event"]
    elsewhere = make_event(name="Metalloobrabotka")
    db.session.flush()
    store_attendees(event.id, [
        dict(badge_id="P-3", first_name="Z.", last_name="Q.", phone=PHONES[0].replace(" ", "")),
        dict(badge_id="N-4", first_name=FIRST.upper(), last_name=LAST, company="Other"),
        dict(badge_id="A-5", first_name="Anna", last_name=LAST[:3], phone="+7 916 000-00-00"),
    ])  # fmt: skip
    store_attendees(elsewhere.id, [
        dict(badge_id="E-6", first_name="Z", last_name="Q", email=EMAILS[2].upper()),
        dict(badge_id="K-7", first_name=FIRST, last_name=LAST),  # a namesake at another show
    ])  # fmt: skip
    db.session.commit()
    before = {a.badge_id for a in db.session.scalars(select(Attendee))}
    exported = export_person(email=EMAILS[0])["attendees"]

    erase_person(email=EMAILS[0])
    db.session.commit()
    db.session.expire_all()
    left = {a.badge_id for a in db.session.scalars(select(Attendee))}
    assert left == {"BU-2", "A-5", "K-7"}
    # The person's export listed exactly the rows the erasure deleted, with what they said.
    assert {a["badge_id"] for a in exported} == before - left
    by_badge = {a["badge_id"]: a for a in exported}
    assert by_badge["E-6"]["email"] == EMAILS[2].upper()
    assert by_badge["E-6"]["event"] == {"id": elsewhere.id, "name": "Metalloobrabotka"}
