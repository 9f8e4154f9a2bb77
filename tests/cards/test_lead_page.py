"""The office's lead page: card photos to enlarge, the fields that came from the card to
confirm or correct, and voice notes with their length."""

from __future__ import annotations

import re

from backend.attachments.models import Attachment
from backend.extensions import db
from backend.leads.models import Lead
from tests.cards.conftest import RU_CARD, WEBM, card_image


def _csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _lead_with_card_and_note(new_lead, upload, run_ocr_worker):
    lead_id = new_lead(first_name="Ваня")
    card = upload(lead_id, card_image(RU_CARD)).json
    upload(lead_id, WEBM, kind="voice", duration_seconds="42")
    run_ocr_worker()
    return lead_id, card


def test_the_card_fields_are_confirmed_or_corrected_through_the_form(
    app, client, auth, booth, new_lead, upload, run_ocr_worker
):
    lead_id, card = _lead_with_card_and_note(new_lead, upload, run_ocr_worker)
    # The card sent the lead to Novosibirsk; the rep of that office checks it.
    from tests.factories import make_user

    lead = db.session.get(Lead, lead_id)
    make_user("office_rep", office=lead.office, email="nsk@example.com")
    db.session.commit()
    auth.logout()
    auth.login("nsk@example.com")
    url = f"/office/leads/{lead_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Check the card" in page
    assert f'href="#att-{card["id"]}"' in page
    assert card["url"] in page
    assert "0:42" in page and "<audio" in page
    assert 'value="ivan.petrov@uralmash.ru"' in page
    assert re.search(r"\d+%", page)

    response = client.post(
        f"{url}/cards/{card['id']}/confirm",
        data={"csrf_token": _csrf(client, url), "last_name": "Петров-Водкин",
              "email": "ivan.petrov@uralmash.ru"},
    )  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    lead = db.session.get(Lead, lead_id)
    assert lead.last_name == "Петров-Водкин"
    assert "card_check" not in lead.flags
    attachment = db.session.get(Attachment, card["id"])
    assert set(attachment.card["confirmed"]) == set(attachment.card["filled"])
    page = client.get(url).get_data(as_text=True)
    assert "Fields from the card corrected: Last name." in page
    assert "Checked by the office." in page


def test_the_lead_page_speaks_russian_about_the_card(
    client, auth, booth, new_lead, upload, run_ocr_worker
):
    lead_id, _card = _lead_with_card_and_note(new_lead, upload, run_ocr_worker)
    from tests.factories import make_user

    lead = db.session.get(Lead, lead_id)
    make_user("office_rep", office=lead.office, email="nsk@example.com", language="ru")
    db.session.commit()
    auth.logout()
    auth.login("nsk@example.com")
    page = client.get(f"/office/leads/{lead_id}").get_data(as_text=True)
    assert "Визитка и заметки со стенда" in page
    assert "Голосовая заметка" in page
    assert "Подтвердить поля с визитки" in page
    assert "Проверить визитку" in page
