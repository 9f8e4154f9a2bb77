"""Real Chromium: the double opt-in link from the mail. Opening it (as a mail scanner's
prefetch does) confirms nothing; the person's button press does."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from backend.extensions import db
from backend.leads.models import Lead, MergedCapture
from tests.conftest import requires_browser
from tests.factories import make_event, make_office


@requires_browser
def test_opening_the_consent_link_shows_a_button_and_only_the_button_confirms(app, page):
    event, office = make_event(name="Innoprom"), make_office()
    lead = Lead(client_id=uuid.uuid4(), event=event, office=office, first_name="Anna",
                email="anna@example.com", email_normalized="anna@example.com")  # fmt: skip
    db.session.add(lead)
    db.session.flush()
    token = secrets.token_urlsafe(16)
    capture = MergedCapture(
        client_id=uuid.uuid4(), lead_id=lead.id, kind="form",
        consent_text="Innoprom may e-mail me about its offer.",
        consent_token_hash=hashlib.sha256(token.encode()).hexdigest(),
    )  # fmt: skip
    db.session.add(capture)
    db.session.commit()

    page.goto(f"/consent/{token}")
    page.reload()  # a second prefetch changes nothing either
    assert page.get_by_role("heading", name="Confirm consent").is_visible()
    assert "Innoprom may e-mail me about its offer." in page.locator("blockquote").inner_text()
    db.session.expire_all()
    assert capture.consent_confirmed_at is None and not lead.consent_contact

    page.get_by_role("button", name="Yes, contact me").click()
    page.get_by_role("heading", name="Thank you: your consent is recorded").wait_for()
    db.session.expire_all()
    assert capture.consent_confirmed_at is not None
    assert lead.consent_contact and lead.consent_text == "Innoprom may e-mail me about its offer."
    assert page.console_errors == []
