"""Marketing pages: dashboard charts, event forms, QR codes."""

from __future__ import annotations

from backend.events.models import Event
from backend.extensions import db


def _token(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_dashboard_shows_events_side_by_side_with_svg_charts(hand_event, marketing, client):
    response = client.get("/marketing")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<svg") == 4
    assert "Hand Expo" in html and "€24,500.00" in html
    assert 'id="league"' in html and "Saint Petersburg office" in html
    assert "style=" not in html  # the CSP forbids inline styles


def test_the_event_report_page_puts_revenue_won_first(hand_event, marketing, client):
    html = client.get(f"/events/{hand_event.event.id}/report").get_data(as_text=True)
    assert html.index("Revenue won") < html.index("Cost")
    assert "€24,500.00" in html and "145.0%" in html


def test_marketing_creates_and_edits_an_event_through_the_web_form(app, marketing, client):
    token = _token(client.get("/events/new").get_data(as_text=True))
    response = client.post(
        "/events/new",
        data={
            "csrf_token": token, "name": "Web Expo", "venue_city": "Berlin", "venue_country": "Germany",
            "starts_on": "2026-12-01", "ends_on": "2026-12-03", "cost": "7500.50", "currency": "eur",
            "en-offer": "Free trial", "questions-editor": "1", "q-0-type": "choice",
            "q-0-label-en": "Budget", "q-0-options-en": "<10k\n>10k",
            "feedback_sample_size": "15", "timezone": "Europe/Berlin",
        },
    )  # fmt: skip
    assert response.status_code == 302
    event = db.session.scalar(db.select(Event).where(Event.name == "Web Expo"))
    assert (event.venue_country, event.currency, str(event.cost)) == ("DE", "EUR", "7500.50")
    assert (event.questions[0]["id"], event.questions[0]["label"]) == ("budget", "Budget")
    assert event.questions[0]["options"] == ["<10k", ">10k"]
    assert event.brief["offer"] == "Free trial"

    form = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert 'name="q-0-label-en" data-name="label-en" maxlength="300" value="Budget"' in form
    assert "&lt;10k\n&gt;10k</textarea>" in form
    response = client.post(
        f"/events/{event.id}/edit", data={"csrf_token": token, "name": "Web Expo 2", "cost": "8000"}
    )
    assert response.status_code == 302
    db.session.refresh(event)
    assert (event.name, str(event.cost)) == ("Web Expo 2", "8000.00")


def test_the_event_form_shows_errors_instead_of_saving(app, marketing, client):
    token = _token(client.get("/events/new").get_data(as_text=True))
    response = client.post(
        "/events/new", data={"csrf_token": token, "name": "X", "venue_country": "Atlantis"}
    )
    assert response.status_code == 422
    assert "unknown country" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Event.id))) == 0


def test_qr_codes_come_as_png_and_svg_and_on_a_printable_sheet(hand_event, marketing, client):
    event_id = hand_event.event.id
    png = client.get(f"/events/{event_id}/qr/visitor.png?download=1")
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "attachment" in png.headers["Content-Disposition"]
    svg = client.get(f"/events/{event_id}/qr/join.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get(f"/events/{event_id}/qr/other.svg").status_code == 404
    sheet = client.get(f"/events/{event_id}/qr?print=1").get_data(as_text=True)
    assert hand_event.event.visitor_token in sheet and hand_event.event.join_token in sheet


def test_the_qr_codes_encode_the_join_and_visitor_urls(hand_event):
    from PIL import Image  # noqa: F401 - Pillow renders the PNG

    from backend.reports.qr import qr_target

    assert qr_target(hand_event.event, "visitor").endswith(f"/v/{hand_event.event.visitor_token}")
    assert f"join={hand_event.event.join_token}" in qr_target(hand_event.event, "join")


def test_the_question_editor_keeps_both_languages_order_and_ids(app, marketing, client):
    token = _token(client.get("/events/new").get_data(as_text=True))
    response = client.post(
        "/events/new",
        data={
            "csrf_token": token, "name": "Иннопром", "language": "ru", "questions-editor": "1",
            "q-0-type": "yesno", "q-0-label-en": "Wants a demo?", "q-0-label-ru": "Нужна демонстрация?",
            "q-1-type": "choice", "q-1-label-en": "Budget", "q-1-options-en": "small\nlarge",
            "q-1-label-ru": "Бюджет", "q-1-options-ru": "маленький\nбольшой",
            "q-2-type": "text",  # the empty row: left out
            "en-consent_text": "I agree.", "ru-consent_text": "Я согласен.",
            "en-offer": "Free trial", "ru-offer": "Бесплатный период",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    event = db.session.scalar(db.select(Event).where(Event.name == "Иннопром"))
    budget = event.questions[1]
    assert [q["label"] for q in event.questions] == ["Нужна демонстрация?", "Бюджет"]
    assert budget["options"] == ["маленький", "большой"]
    assert budget["translations"]["en"] == {"label": "Budget", "options": ["small", "large"]}
    assert (event.consent_text, event.consent_texts) == ("Я согласен.", {"en": "I agree."})
    assert (event.brief["offer"], event.briefs["en"]["offer"]) == (
        "Бесплатный период",
        "Free trial",
    )

    # Reordered and edited: ids stay with their questions.
    ids = [q["id"] for q in event.questions]
    response = client.post(
        f"/events/{event.id}/edit",
        data={
            "csrf_token": token, "questions-editor": "1",
            "q-0-id": ids[1], "q-0-type": "choice", "q-0-label-ru": "Бюджет на год",
            "q-0-options-ru": "маленький\nбольшой", "q-0-label-en": "Budget",
            "q-0-options-en": "small\nlarge",
            "q-1-id": ids[0], "q-1-type": "yesno", "q-1-label-ru": "Нужна демонстрация?",
        },
    )  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(event)
    assert [q["id"] for q in event.questions] == [ids[1], ids[0]]
    assert event.questions[0]["label"] == "Бюджет на год"
    assert "en" not in event.questions[1].get("translations", {})  # English removed

    # A translation whose options do not line up is refused, with the form kept.
    response = client.post(
        f"/events/{event.id}/edit",
        data={
            "csrf_token": token, "questions-editor": "1", "q-0-type": "choice",
            "q-0-label-ru": "Бюджет", "q-0-options-ru": "a\nb", "q-0-label-en": "Budget",
            "q-0-options-en": "only one",
        },
    )  # fmt: skip
    assert response.status_code == 422
    assert 'value="Budget"' in response.get_data(as_text=True)
