"""Event content per language: questions, consent text and brief in the API, the visitor
form's event, the autoresponder and the office lead page; the language a staff-captured
lead is mailed in follows the visitor's country when nobody chose one."""

from __future__ import annotations

import uuid

from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.messaging.rendering import render_autoresponder
from tests.factories import make_event, make_office, make_user

QUESTIONS = [
    {
        "id": "budget", "label": "Budget this year?", "type": "choice",
        "options": ["Under 10k", "Over 10k"],
        "translations": {"ru": {"label": "Бюджет в этом году?", "options": ["До 10 тыс.", "Больше 10 тыс."]}},
    },
    {"id": "pilot", "label": "Interested in a pilot?", "type": "yesno",
     "translations": {"ru": {"label": "Интересен пилот?"}}},
]  # fmt: skip
CONSENT_RU = "Я согласен, чтобы со мной связались по этому запросу."
BRIEF_RU = {"offer": "Скидка 20% на первый год", "promo_conditions": "до 31 декабря"}


def _marketing(auth):
    make_user("marketing", email="m@example.com")
    db.session.commit()
    auth.login("m@example.com")


def _event_body(**extra) -> dict:
    return {
        "name": "Innoprom", "venue_city": "Yekaterinburg", "venue_country": "RU",
        "language": "en", "questions": QUESTIONS,
        "consent_text": "I agree to be contacted about this enquiry.",
        "consent_texts": {"ru": CONSENT_RU},
        "brief": {"offer": "20% off the first year", "promo_conditions": "until 31 Dec"},
        "briefs": {"ru": BRIEF_RU},
        **extra,
    }  # fmt: skip


def test_the_api_keeps_questions_consent_and_brief_per_language(api, auth):
    _marketing(auth)
    created = api.post("/api/v1/events", json=_event_body())
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    assert event["questions"][0]["label"] == "Budget this year?"
    assert event["questions"][0]["translations"]["ru"] == QUESTIONS[0]["translations"]["ru"]
    assert event["questions"][0]["translations"]["en"]["options"] == ["Under 10k", "Over 10k"]
    assert event["consent_texts"] == {
        "en": "I agree to be contacted about this enquiry.", "ru": CONSENT_RU,
    }  # fmt: skip
    assert event["briefs"]["ru"]["offer"] == BRIEF_RU["offer"]
    assert event["brief"]["offer"] == "20% off the first year"

    # The visitor form's event carries every language too.
    token = event["visitor_url"].rsplit("/", 1)[1]
    public = api.get(f"/api/v1/public/visitor/{token}").get_json()["event"]
    assert public["consent_texts"]["ru"] == CONSENT_RU
    assert public["questions"][1]["translations"]["ru"]["label"] == "Интересен пилот?"

    # A new default language: the flat fields become the Russian texts, English is kept.
    moved = api.patch(f"/api/v1/events/{event['id']}", json={"language": "ru"}).get_json()
    assert moved["questions"][0]["label"] == "Бюджет в этом году?"
    assert moved["questions"][0]["options"] == ["До 10 тыс.", "Больше 10 тыс."]
    assert moved["questions"][0]["translations"]["en"]["label"] == "Budget this year?"
    assert moved["consent_text"] == CONSENT_RU
    assert moved["consent_texts"]["en"] == "I agree to be contacted about this enquiry."
    assert moved["brief"]["offer"] == BRIEF_RU["offer"]
    assert moved["briefs"]["en"]["offer"] == "20% off the first year"


def test_translated_options_must_line_up_with_the_questions_options(api, auth):
    _marketing(auth)
    bad = [{**QUESTIONS[0], "translations": {"ru": {"label": "Бюджет", "options": ["Один"]}}}]
    response = api.post("/api/v1/events", json=_event_body(questions=bad))
    assert response.status_code == 422


def test_a_russian_autoresponder_has_the_russian_offer_questions_and_consent(app):
    event = make_event(
        language="en", questions=QUESTIONS, consent_text="I agree.", consent_texts={"ru": CONSENT_RU},
        brief={"offer": "20% off the first year"}, briefs={"ru": BRIEF_RU},
        mail_templates={"ru": {"autoresponder_subject": "Спасибо за визит",
                               "autoresponder_body": "Здравствуйте, {first_name}!\n\nНаше предложение: {offer}."}},
    )  # fmt: skip
    lead = _lead(event, first_name="Анна", language="ru", consent_text="I agree.",
                 answers={"budget": "Over 10k", "pilot": True})  # fmt: skip
    mail = render_autoresponder(lead)
    text = mail["body_text"]
    assert "Здравствуйте, Анна!" in text
    assert "Наше предложение: Скидка 20% на первый год." in text
    assert "Бюджет в этом году?: Больше 10 тыс." in text
    assert "Интересен пилот?: да" in text
    assert CONSENT_RU in text and CONSENT_RU in mail["body_html"]
    assert "20% off" not in text and "Budget" not in text and "I agree." not in text


def test_a_visitor_with_no_first_name_is_greeted_without_a_dangling_comma(app):
    event = make_event(
        language="en", autoresponder_subject="Thanks, {first_name}",
        autoresponder_body="Hello {first_name},\n\nthank you.",
        mail_templates={"ru": {"autoresponder_body": "Здравствуйте, {first_name}!\n\nСпасибо."}},
    )  # fmt: skip
    office = make_office("SPB")
    english = render_autoresponder(_lead(event, office, first_name="", language="en"))
    assert english["body_text"].startswith("Hello,\n") and english["subject"] == "Thanks"
    russian = render_autoresponder(_lead(event, office, first_name=None, language="ru"))
    assert russian["body_text"].startswith("Здравствуйте!\n")
    plain = make_event(language="ru", autoresponder_subject="", autoresponder_body="")
    nameless = _lead(plain, office, first_name="", language="ru")
    assert render_autoresponder(nameless)["body_text"].startswith("Здравствуйте!")


def test_a_staff_captured_lead_is_mailed_in_the_language_of_the_visitors_country(app):
    staff = make_user("marketing")
    event = make_event(language="en", venue_country="DE", venue_city="Berlin",
                       mail_templates={"ru": {"autoresponder_subject": "Спасибо"}})  # fmt: skip
    db.session.commit()
    sent = {
        "KZ": None, "BY": None, "KG": None, "RU": None, "DE": None, "FR": None,
    }  # fmt: skip
    leads = {}
    for country in sent:
        [result] = capture_batch(
            [{"client_id": str(uuid.uuid4()), "event_id": event.id, "first_name": "V",
              "email": f"v-{country}@example.com", "country": country}], user=staff,
        )  # fmt: skip
        leads[country] = result.lead
    [chosen] = capture_batch(
        [{"client_id": str(uuid.uuid4()), "event_id": event.id, "first_name": "E",
          "country": "KZ", "language": "en"}], user=staff,
    )  # fmt: skip
    db.session.commit()
    assert {c: lead.language for c, lead in leads.items()} == {
        "KZ": "ru", "BY": "ru", "KG": "ru", "RU": "ru", "DE": None, "FR": None,
    }  # fmt: skip
    assert chosen.lead.language == "en"  # staff chose: kept
    assert render_autoresponder(leads["KZ"])["payload"]["language"] == "ru"
    assert render_autoresponder(leads["DE"])["payload"]["language"] == "en"


def test_the_office_lead_page_shows_the_brief_in_the_readers_language(client, auth):
    office = make_office("MOW")
    rep = make_user("office_rep", office, email="rep@example.com", language="ru")
    event = make_event(brief={"offer": "20% off", "talking_points": "Ask about the pilot"},
                       briefs={"ru": {"offer": "Скидка 20%"}}, questions=QUESTIONS)  # fmt: skip
    lead = _lead(event, office=office, answers={"budget": "Over 10k"})
    db.session.commit()
    auth.login(rep.email)
    page = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)
    assert "Скидка 20%" in page and "20% off" not in page
    assert "Ask about the pilot" in page  # no Russian talking points: the default's
    assert "Бюджет в этом году?" in page


def _lead(event, office=None, **fields):
    from backend.leads.models import Lead

    values = dict(
        client_id=uuid.uuid4(), event=event, office=office or make_office("SPB"),
        email="visitor@example.com", email_normalized="visitor@example.com",
        consent_contact=True, first_name="Anna",
    )  # fmt: skip
    values.update(fields)
    lead = Lead(**values)
    db.session.add(lead)
    db.session.flush()
    return lead


def test_an_event_with_the_built_in_consent_shows_it_in_every_language(api, auth):
    _marketing(auth)
    event = api.post("/api/v1/events", json={"name": "Plain", "language": "ru"}).get_json()
    assert event["consent_texts"]["ru"].startswith("Я согласен(на)")
    assert event["consent_texts"]["en"].startswith("I agree that the exhibitor")
    api.patch(f"/api/v1/events/{event['id']}", json={"name": "Plain 2"})
    from backend.events.models import Event

    stored = db.session.get(Event, event["id"])
    db.session.refresh(stored)
    assert stored.consent_texts == {}  # the built-in words are not copied into the event
