"""Mail templates fill only the documented placeholders, and header values never carry a
line break: through the API, the event form, a real worker and a real SMTP server."""

from __future__ import annotations

import pytest

from backend.extensions import db
from tests.followup import messages

XHR = {"X-Requested-With": "XMLHttpRequest"}
NASTY = "{first_name.__class__.__mro__} {first_name[0]} {first_name!r} {first_name:>5000000}"


def _text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def test_a_stored_template_cannot_reach_attributes_or_pad_the_mail(
    capture, run_worker, smtp, world
):
    # Stored directly, as a text saved before the form checked placeholders would be.
    world["event"].autoresponder_subject = "Hi {first_name} {first_name.__class__}"
    world["event"].autoresponder_body = f"Hello {{first_name}}, {NASTY} {{{{literal}}}}"
    db.session.commit()
    [lead] = capture(first_name="Anna")
    run_worker()
    [mail] = smtp.to(lead.email)
    assert mail["Subject"] == "Hi Anna {first_name.__class__}"
    text = _text(mail)
    assert f"Hello Anna, {NASTY} {{literal}}" in text
    assert "class 'str'" not in text and "object" not in text
    assert len(text) < 5_000


def test_a_visitors_braces_are_not_expanded_again(capture, run_worker, smtp, world):
    [lead] = capture(first_name="{office_email}", company="{first_name.__class__}")
    run_worker()
    text = _text(smtp.to(lead.email)[0])
    assert "Hello {office_email} from {first_name.__class__}" in text


def test_a_line_break_in_a_visitors_name_is_folded_and_the_mails_go_out(
    capture, run_worker, smtp, world
):
    [lead] = capture(first_name="Anna\rBcc: victim@example.com", last_name="Petrova\nX")
    run_worker()
    [visitor_mail] = smtp.to(lead.email)
    assert visitor_mail["Subject"] == (
        "Thanks for visiting us at Innoprom, Anna Bcc: victim@example.com"
    )
    [notice] = smtp.to("rep@mow.example.com")
    assert "\r" not in notice["Subject"] and "\n" not in notice["Subject"]
    assert "Anna Bcc: victim@example.com Petrova X" in notice["Subject"]
    assert {m.status for m in messages(channel="email")} == {"sent"}
    assert all("victim" not in rcpt for _, rcpts in smtp.envelopes for rcpt in rcpts)


@pytest.fixture
def marketing(client, world):
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "mkt@example.com", "password": "secret-pass"},
        headers=XHR,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "patch",
    [
        {"autoresponder_body": "Hi {first_name.__class__.__mro__}"},
        {"autoresponder_subject": "Hi {first_name:>5000000}"},
        {"mail_templates": {"ru": {"office_notice_subject": "Лид {fist_name}"}}},
        {"mail_templates": {"en": {"office_notice_body": "Call {office_phone"}}},
    ],
)
def test_the_api_refuses_unknown_or_malformed_placeholders(client, marketing, world, patch):
    event = world["event"]
    before = event.autoresponder_body
    response = client.patch(f"/api/v1/events/{event.id}", json=patch, headers=XHR)
    assert response.status_code == 422
    [field] = response.get_json()["error"]["fields"]
    assert "unknown or malformed placeholder" in field["message"]
    db.session.refresh(event)
    assert event.autoresponder_body == before


def test_the_event_form_flags_an_unknown_placeholder_before_saving(client, marketing, world):
    event = world["event"]
    page = client.get(f"/events/{event.id}/edit")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    assert page.status_code == 200
    form = {
        "csrf_token": token, "name": event.name, "language": "en",
        "en-autoresponder_subject": "Hello {firstname}",
        "en-autoresponder_body": "See you, {first_name}!",
    }  # fmt: skip
    response = client.post(f"/events/{event.id}/edit", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "unknown or malformed placeholder: {firstname}" in html
    db.session.refresh(event)
    assert "{firstname}" not in event.autoresponder_subject
    form["en-autoresponder_subject"] = "Hello {first_name}, {{braces}} are fine"
    assert client.post(f"/events/{event.id}/edit", data=form).status_code == 302
