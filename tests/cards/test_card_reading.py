"""Reading business cards with the real Tesseract: at once for the phone, and as a job on
the ``ocr`` queue that fills a stored lead in."""

from __future__ import annotations

import io
import time

from backend.attachments.models import Attachment
from backend.extensions import db
from backend.leads.models import Lead
from backend.queues import OCR
from tests.cards.conftest import RU_CARD, card_image

EN_CARD = [
    "Sarah Connor",
    "Head of Procurement",
    "Cyberdyne Systems Ltd",
    "Mobile: +44 7911 123456",
    "sarah.connor@cyberdyne.co.uk",
    "www.cyberdyne.co.uk",
]


def read(api, data: bytes, **form):
    return api.post(
        "/api/v1/cards/read",
        data={"file": (io.BytesIO(data), "card.jpg"), **form},
        content_type="multipart/form-data",
    )


def test_a_russian_card_photo_is_read_into_fields_within_two_seconds(api, booth):
    photo = card_image(RU_CARD)
    started = time.monotonic()
    response = read(api, photo, event_id=str(booth["event"].id))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    fields = response.json["fields"]
    assert fields["first_name"] == "Иван"
    assert fields["last_name"] == "Петров"
    assert fields["company"] == "ООО «Уралмаш»"
    assert fields["job_title"] == "Коммерческий директор"
    assert fields["email"] == "ivan.petrov@uralmash.ru"
    assert fields["phone"] == "+7 912 345-67-89"
    assert fields["website"] == "www.uralmash.ru"
    assert fields["city"] == "Новосибирск"
    assert fields["country"] == "RU"
    assert 0 < response.json["confidence"]["email"] <= 1
    assert "ivan.petrov@uralmash.ru" in response.json["text"]
    assert elapsed < 4  # about two seconds on a loaded two-core machine; under one alone


def test_an_english_card_is_read_too(api, booth):
    response = read(api, card_image(EN_CARD, fmt="PNG"))
    fields = response.json["fields"]
    assert (fields["first_name"], fields["last_name"]) == ("Sarah", "Connor")
    assert fields["company"] == "Cyberdyne Systems Ltd"
    assert fields["job_title"] == "Head of Procurement"
    assert fields["phone"] == "+44 7911 123456"
    assert fields["website"] == "www.cyberdyne.co.uk"


def test_reading_something_that_is_not_an_image_gets_415(api, booth):
    assert read(api, b"%PDF-1.4 not a photo").status_code == 415


def test_office_reps_may_not_call_the_card_reader(api, auth, booth):
    auth.logout()
    auth.login("rep@example.com")
    assert read(api, card_image(RU_CARD)).status_code == 403


def test_an_uploaded_card_fills_only_the_empty_fields_and_routes_by_its_city(
    api, booth, new_lead, upload, run_ocr_worker
):
    # Typed at the stand: a first name and nothing else; routed to the venue's office.
    lead_id = new_lead(first_name="Ваня")
    lead = db.session.get(Lead, lead_id)
    assert lead.office.code == "MOW"
    assert "location_unknown" in lead.flags

    response = upload(lead_id, card_image(RU_CARD))
    assert response.status_code == 201
    assert response.json["ocr_status"] == "pending"
    run_ocr_worker()

    lead = db.session.get(Lead, lead_id)
    assert lead.first_name == "Ваня"  # typed by the staff, kept
    assert lead.last_name == "Петров"
    assert lead.company == "ООО «Уралмаш»"
    assert lead.email == "ivan.petrov@uralmash.ru"
    assert lead.phone_normalized == "+79123456789"
    assert lead.city == "Новосибирск"
    assert "card_check" in lead.flags
    assert lead.office.code == "NSK"  # routed again by the city on the card
    assert lead.routing_decisions[-1].method == "nearest"
    attachment = db.session.get(Attachment, response.json["id"])
    assert attachment.ocr_status == "done"
    assert "Уралмаш" in attachment.ocr_text
    assert attachment.card["fields"]["website"] == "www.uralmash.ru"  # shown, no lead column
    filled = attachment.card["filled"]
    assert "first_name" not in filled
    assert set(filled) >= {"last_name", "company", "email", "phone", "city"}
    assert all(0 < value <= 1 for value in filled.values())


def test_reading_a_card_twice_changes_nothing_the_second_time(
    api, booth, new_lead, upload, run_ocr_worker
):
    from workers.ocr_jobs import read_card_attachment

    lead_id = new_lead(first_name="Anna")
    attachment_id = upload(lead_id, card_image(RU_CARD)).json["id"]
    run_ocr_worker()
    decisions = len(db.session.get(Lead, lead_id).routing_decisions)
    assert read_card_attachment(attachment_id) is None
    db.session.expire_all()
    assert len(db.session.get(Lead, lead_id).routing_decisions) == decisions


def test_a_voice_note_is_not_sent_to_the_card_reader(api, booth, new_lead, upload, app):
    from rq import Queue

    from backend.redis_conn import connect
    from tests.cards.conftest import WEBM

    upload(new_lead(first_name="Anna"), WEBM, kind="voice")
    assert Queue(OCR, connection=connect(app)).count == 0


def test_a_card_that_cannot_be_read_is_marked_so_rather_than_left_pending(
    app, api, booth, new_lead, upload, run_ocr_worker
):
    from backend.attachments.storage import get_storage

    lead_id = new_lead(first_name="Anna")
    attachment_id = upload(lead_id, card_image(RU_CARD)).json["id"]
    get_storage().delete(db.session.get(Attachment, attachment_id).storage_key)
    run_ocr_worker()
    assert db.session.get(Attachment, attachment_id).ocr_status == "failed"
    assert "card_check" not in db.session.get(Lead, lead_id).flags


def test_a_card_left_unread_when_redis_was_down_is_read_later(
    app, api, booth, new_lead, upload, run_ocr_worker
):
    from datetime import timedelta

    from rq import Queue

    from backend.db_types import utcnow
    from backend.redis_conn import connect
    from workers.ocr_jobs import enqueue_unread_cards

    lead_id = new_lead(first_name="Anna")
    attachment_id = upload(lead_id, card_image(RU_CARD)).json["id"]
    queue = Queue(OCR, connection=connect(app))
    queue.empty()  # as if Redis had lost the job
    assert enqueue_unread_cards() == 0  # just uploaded: give the worker time
    db.session.get(Attachment, attachment_id).created_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    assert enqueue_unread_cards() == 1
    run_ocr_worker()
    assert db.session.get(Attachment, attachment_id).ocr_status == "done"
    assert enqueue_unread_cards() == 0


def test_a_card_photographed_on_its_side_is_still_read(api, booth):
    from PIL import Image

    sideways = Image.open(io.BytesIO(card_image(RU_CARD))).transpose(Image.ROTATE_90)
    out = io.BytesIO()
    sideways.save(out, "JPEG", quality=90)
    fields = read(api, out.getvalue()).json["fields"]
    assert fields["email"] == "ivan.petrov@uralmash.ru"
    assert fields["company"] == "ООО «Уралмаш»"
