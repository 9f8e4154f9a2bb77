"""An event's mail texts per language (API and form), the language a lead records, and
routing reasons shown in the reader's language."""

from __future__ import annotations

import uuid

from flask_babel import force_locale

from backend.extensions import db
from backend.i18n import routing_reason
from backend.leads.capture import capture_batch
from backend.leads.normalize import normalize_language
from backend.routing.reasons import Reason, parse_english
from tests.factories import make_event, make_office, make_user

RU = {"autoresponder_subject": "Спасибо, {first_name}", "autoresponder_body": "До встречи!"}


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf_token"]


def test_the_events_api_keeps_mail_texts_per_language_and_a_default_language(api, auth):
    make_user("marketing", email="m@example.com")
    db.session.commit()
    auth.login("m@example.com")
    created = api.post("/api/v1/events", json={
        "name": "Innoprom", "language": "ru", "autoresponder_subject": "Привет, {first_name}",
        "mail_templates": {"en": {"autoresponder_subject": "Hi {first_name}",
                                  "office_notice_body": "Offer the pilot."}},
    })  # fmt: skip
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    assert event["language"] == "ru"
    assert event["autoresponder_subject"] == "Привет, {first_name}"
    assert event["mail_templates"]["ru"]["autoresponder_subject"] == "Привет, {first_name}"
    assert event["mail_templates"]["en"] == {
        "autoresponder_subject": "Hi {first_name}", "autoresponder_body": "",
        "office_notice_subject": "", "office_notice_body": "Offer the pilot.",
    }  # fmt: skip

    # A new default language: each text keeps its language; the flat fields follow.
    moved = api.patch(f"/api/v1/events/{event['id']}", json={"language": "en"}).get_json()
    assert moved["autoresponder_subject"] == "Hi {first_name}"
    assert moved["mail_templates"]["ru"]["autoresponder_subject"] == "Привет, {first_name}"

    # Blank texts remove a language.
    blank = {"autoresponder_subject": "", "autoresponder_body": ""}
    cleared = api.patch(f"/api/v1/events/{event['id']}", json={"mail_templates": {"ru": blank}})
    assert "ru" not in cleared.get_json()["mail_templates"]


def test_the_events_api_refuses_a_language_it_has_no_mails_in(api, auth):
    make_user("marketing", email="m@example.com")
    event = make_event()
    db.session.commit()
    auth.login("m@example.com")
    for body in ({"language": "de"}, {"mail_templates": {"de": RU}}):
        response = api.patch(f"/api/v1/events/{event.id}", json=body)
        assert response.status_code == 422, body
    assert db.session.get(type(event), event.id).language == "en"


def test_the_openapi_document_describes_mail_templates_from_the_schema(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    template = schemas["MailTemplate"]["properties"]
    assert set(template) == {"autoresponder_subject", "autoresponder_body",
                             "office_notice_subject", "office_notice_body"}  # fmt: skip
    assert "{event_dates}" in template["autoresponder_subject"]["description"]


def test_the_event_form_saves_russian_mail_texts_beside_the_english_ones(client, auth):
    make_user("marketing", email="m@example.com", language="ru")
    event = make_event(name="Expo")
    db.session.commit()
    auth.login("m@example.com")
    page = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert "Тема автоответа" in page and "Заметка для продаж в уведомлении офиса" in page
    assert 'value="Thanks for visiting us at {event}, {first_name}"' in page
    response = client.post(f"/events/{event.id}/edit", data={
        "csrf_token": _csrf(client), "name": "Expo", "language": "ru",
        "en-autoresponder_subject": "Thanks, {first_name}", "en-autoresponder_body": "Bye",
        "ru-autoresponder_subject": "Спасибо, {first_name}", "ru-autoresponder_body": "Пока",
        "ru-office_notice_body": "Позвоните сегодня.",
    })  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    event = db.session.get(type(event), event.id)
    assert (event.language, event.autoresponder_subject) == ("ru", "Спасибо, {first_name}")
    assert event.mail_templates == {
        "en": {"autoresponder_subject": "Thanks, {first_name}", "autoresponder_body": "Bye"},
        "ru": {"office_notice_body": "Позвоните сегодня."},
    }
    again = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert '<option value="ru" selected>Русский</option>' in again
    assert "Позвоните сегодня." in again


def test_a_lead_records_the_language_of_its_form():
    assert normalize_language("ru-RU") == "ru"
    assert normalize_language("RU") == "ru"
    assert normalize_language("en_GB") == "en"
    assert normalize_language("de-DE") is None  # no mails in German: the event's default
    assert normalize_language("") is None and normalize_language(None) is None


def test_the_lead_page_shows_the_routing_reason_in_russian(client, auth):
    office = make_office("MOW")
    rep = make_user("office_rep", office, email="rep@example.com", language="ru")
    marketing = make_user("marketing", email="m@example.com")
    event = make_event()
    db.session.commit()
    [result] = capture_batch(
        [{"client_id": str(uuid.uuid4()), "event_id": event.id, "first_name": "Ivan",
          "city": "Novosibirsk", "country": "RU"}], user=marketing,
    )  # fmt: skip
    db.session.commit()
    decision = result.lead.routing_decisions[-1]
    assert decision.reason.startswith("nearest office: Moscow office, ")
    auth.login(rep.email)
    page = client.get(f"/office/leads/{result.lead.id}").get_data(as_text=True)
    km = f"{decision.distance_km:,.0f}".replace(",", "\xa0")
    assert f"ближайший офис: Moscow office, {km} км" in page
    assert "nearest office:" not in page
    # The API keeps the stored English reason.
    api_lead = client.get(f"/api/v1/leads/{result.lead.id}").get_json()
    assert api_lead["routing_history"][-1]["reason"] == decision.reason
    assert rep.language == "ru"


def test_every_reason_an_earlier_version_stored_reads_in_russian_once_converted(app):
    reasons = [
        "territory RU-48 claimed by Moscow office, 3.4 km",
        "territory DE:8 claimed by Munich office, 12 km (office full, 5/5)",
        "nearest office: Novosibirsk office, 1,234 km",
        "location unknown (city 'Atlantis', country none); "
        "nearest office to the event venue: Moscow office, 0.4 km",
        "Moscow office office full (5/5); next nearest SPB office with room, 634 km",
        "nearest office: Moscow office, 2.0 km; Moscow office office full (5/5), "
        "no office with room within 3.0 km",
        "escalation: next nearest office with room after Moscow office: SPB office, 634 km",
        "escalation: next nearest office with room: SPB office, 634 km",
        "escalation: no office with room after Moscow office; "
        "nearest other office: SPB office, 634 km (full, 3/3)",
        "no other office with room",
        "reassigned automatically 2 times already, the limit; marketing decides",
        "no other office that has not had the lead can take it",
        "Handed over from MOW by Anna: wrong region; they are in Kazan",
    ]
    coded = [Reason(*parse_english(r)) for r in reasons]
    with force_locale("ru"):
        russian = [routing_reason(r) for r in coded]
    for reason, text in zip(reasons, russian, strict=True):
        # Office names are data and stay as they are ("Moscow office").
        english = {"nearest", "territory", "claimed", "room", "escalation", "full", "next",
                   "unknown", "within", "km", "Handed", "reassigned", "limit", "marketing",
                   "decides", "lead"}  # fmt: skip
        left = english & set(text.replace(",", " ").replace("(", " ").split())
        assert not left, (reason, text)
    assert russian[2] == "ближайший офис: Novosibirsk office, 1\xa0234 км"
    assert russian[3] == ("местоположение неизвестно (город «Atlantis», страна не указана); "
                          "ближайший офис к месту мероприятия: Moscow office, 0,4 км")  # fmt: skip
    assert russian[-1] == "Передан из MOW, передал(а) Anna: wrong region; they are in Kazan"
    with force_locale("en"):
        assert [routing_reason(r) for r in coded] == reasons
    assert [r.reason for r in coded] == reasons
