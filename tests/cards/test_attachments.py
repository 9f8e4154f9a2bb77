"""Attachments on a lead: stored once per client_id, checked by content, readable only by
those who may read the lead, exported and erased with the person."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from backend.attachments.models import Attachment
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead
from backend.privacy.services import anonymize_leads_older_than
from backend.transaction import commit
from tests.cards.conftest import M4A, OGG, RU_CARD, WEBM, card_image
from tests.factories import make_office, make_user


def stored_files(app) -> set[Path]:
    root = Path(app.config["ATTACHMENTS_DIR"])
    return {p for p in root.rglob("*") if p.is_file()}


def count_attachments() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Attachment))


def test_a_card_photo_is_stored_and_a_retried_upload_stores_nothing_twice(app, new_lead, upload):
    lead_id = new_lead(first_name="Anna")
    before = stored_files(app)
    client_id = str(uuid.uuid4())
    photo = card_image(RU_CARD)
    first = upload(lead_id, photo, client_id=client_id)
    retry = upload(lead_id, photo, client_id=client_id)
    assert first.status_code == 201
    assert first.json["kind"] == "card_front"
    assert first.json["content_type"] == "image/jpeg"
    assert (first.json["width"], first.json["height"]) == (1050, 600)
    assert retry.status_code == 200
    assert retry.json["id"] == first.json["id"]
    assert count_attachments() == 1
    assert len(stored_files(app) - before) == 1


def test_a_voice_note_keeps_its_length_and_comes_back_byte_for_byte(api, new_lead, upload):
    lead_id = new_lead(first_name="Anna")
    note = WEBM + b"\x00" * 2000
    response = upload(lead_id, note, kind="voice", duration_seconds="42.5")
    assert response.status_code == 201
    assert response.json["content_type"] == "audio/webm"
    assert response.json["duration_seconds"] == 42.5
    fetched = api.get(response.json["url"])
    assert fetched.status_code == 200
    assert fetched.mimetype == "audio/webm"
    assert fetched.data == note
    listed = api.get(f"/api/v1/leads/{lead_id}/attachments").json["items"]
    assert [item["kind"] for item in listed] == ["voice"]


@pytest.mark.parametrize(("data", "content_type"), [(OGG, "audio/ogg"), (M4A, "audio/mp4")])
def test_ogg_and_mp4_voice_notes_are_recognised_by_their_magic_bytes(
    new_lead, upload, data, content_type
):
    response = upload(new_lead(first_name="Anna"), data + b"\x00" * 500, kind="voice")
    assert response.status_code == 201
    assert response.json["content_type"] == content_type


def test_a_file_that_is_not_what_its_kind_says_gets_415_and_nothing_is_stored(
    app, new_lead, upload
):
    lead_id = new_lead(first_name="Anna")
    before = stored_files(app)
    text_as_photo = upload(lead_id, b"<html>not an image</html>", kind="photo")
    image_as_voice = upload(lead_id, card_image(["Hello"]), kind="voice")
    gif = upload(lead_id, card_image(["Hello"], fmt="GIF"), kind="card_front")
    assert [r.status_code for r in (text_as_photo, image_as_voice, gif)] == [415, 415, 415]
    assert text_as_photo.json["error"]["code"] == "unsupported_type"
    assert count_attachments() == 0
    assert stored_files(app) == before


def test_missing_or_wrong_fields_get_422(api, new_lead, upload):
    lead_id = new_lead(first_name="Anna")
    photo = card_image(["Hello"])
    assert upload(lead_id, photo, kind="selfie").status_code == 422
    assert upload(lead_id, photo, client_id="not-a-uuid").status_code == 422
    assert upload(lead_id, b"", kind="photo").status_code == 422
    no_file = api.post(
        f"/api/v1/leads/{lead_id}/attachments",
        data={"kind": "photo", "client_id": str(uuid.uuid4())},
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422
    assert count_attachments() == 0


def test_a_file_over_the_limit_gets_413(app, new_lead, upload):
    lead_id = new_lead(first_name="Anna")
    app.config["ATTACHMENT_MAX_BYTES"] = 100_000
    big = WEBM + b"\x00" * 200_000
    response = upload(lead_id, big, kind="voice")
    assert response.status_code == 413
    just_over = upload(lead_id, WEBM + b"\x00" * 100_000, kind="voice")
    assert just_over.status_code == 413
    assert just_over.json["error"]["code"] == "too_large"
    assert count_attachments() == 0


def test_a_voice_note_larger_than_the_api_body_limit_but_within_its_own_is_stored(
    app, new_lead, upload
):
    lead_id = new_lead(first_name="Anna")
    note = WEBM + b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 1000)
    assert upload(lead_id, note, kind="voice").status_code == 201


def test_the_same_client_id_on_another_lead_is_a_conflict(new_lead, upload):
    client_id = str(uuid.uuid4())
    photo = card_image(["Hello"])
    assert upload(new_lead(first_name="A"), photo, client_id=client_id).status_code == 201
    assert upload(new_lead(first_name="B"), photo, client_id=client_id).status_code == 409


def test_only_those_who_may_read_the_lead_get_its_attachments(
    app, api, auth, booth, new_lead, upload
):
    lead_id = new_lead(first_name="Anna", city="Moscow", country="RU")
    url = upload(lead_id, card_image(["Hello"]), kind="photo").json["url"]
    other_office = make_office("SPB")
    make_user("office_rep", office=other_office, email="far@example.com")
    make_user("staff", email="other-booth@example.com")
    db.session.commit()
    auth.logout()
    assert api.get(url).status_code == 401
    for email in ("far@example.com", "other-booth@example.com"):
        auth.login(email)
        assert api.get(url).status_code == 404, email
        assert upload(lead_id, WEBM, kind="voice").status_code == 404, email
        auth.logout()
    auth.login("rep@example.com")  # the office the lead was routed to
    assert api.get(url).status_code == 200


def test_a_privacy_export_includes_the_files_and_erasure_deletes_them(
    app, api, auth, new_lead, upload
):
    lead_id = new_lead(first_name="Anna", email="anna@example.com")
    before = stored_files(app)
    photo = card_image(["Hello"])
    upload(lead_id, photo, kind="photo")
    upload(lead_id, WEBM, kind="voice", duration_seconds="3")
    files = stored_files(app) - before
    assert len(files) == 2
    make_user("admin", email="admin@example.com")
    db.session.commit()
    auth.logout()
    auth.login("admin@example.com")
    exported = api.get("/api/v1/privacy/person?email=anna@example.com").json["attachments"]
    assert [a["kind"] for a in exported] == ["photo", "voice"]
    assert base64.b64decode(exported[0]["content_base64"]) == photo

    erased = api.post("/api/v1/privacy/erase", json={"email": "anna@example.com"})
    assert erased.status_code == 200
    assert count_attachments() == 0
    assert not any(path.exists() for path in files)
    # A phone replaying a note for the erased lead does not bring the person back.
    assert upload(lead_id, WEBM, kind="voice").status_code == 410


def test_retention_deletes_the_attachments_of_old_leads(app, new_lead, upload):
    lead_id = new_lead(first_name="Anna")
    before = stored_files(app)
    upload(lead_id, WEBM, kind="voice")
    files = stored_files(app) - before
    assert files
    lead = db.session.get(Lead, lead_id)
    lead.captured_at = utcnow() - timedelta(days=400)
    db.session.commit()
    assert anonymize_leads_older_than(12) == 1
    commit()  # as the sweep's job commits
    assert count_attachments() == 0
    assert not any(path.exists() for path in files)


def test_a_rolled_back_erasure_keeps_the_files(app, new_lead, upload):
    from backend.attachments.services import erase_lead_attachments

    lead_id = new_lead(first_name="Anna")
    before = stored_files(app)
    upload(lead_id, WEBM, kind="voice")
    files = stored_files(app) - before
    assert files
    assert erase_lead_attachments([lead_id]) == 1
    db.session.rollback()
    db.session.commit()
    assert count_attachments() == 1
    assert all(path.exists() for path in files)


def test_a_booth_worker_whose_scan_was_merged_into_a_colleagues_lead_may_still_send_its_card(
    api, auth, booth, upload
):
    from backend.leads.models import MergedCapture
    from tests.factories import make_user

    colleague = make_user("staff", email="colleague@example.com")
    colleague.events.append(booth["event"])
    db.session.commit()
    auth.logout()
    auth.login("colleague@example.com")
    lead_id = api.post(
        f"/api/v1/events/{booth['event'].id}/leads",
        json={"client_id": str(uuid.uuid4()), "first_name": "Vera", "email": "vera@example.com"},
    ).json["id"]
    auth.logout()
    auth.login("booth@example.com")
    assert upload(lead_id, WEBM, kind="voice").status_code == 404  # not theirs
    db.session.add(
        MergedCapture(
            client_id=uuid.uuid4(), lead_id=lead_id, captured_by_id=booth["staff"].id, payload={}
        )  # fmt: skip
    )
    db.session.commit()
    assert upload(lead_id, WEBM, kind="voice").status_code == 201
    assert api.get(f"/api/v1/leads/{lead_id}/attachments").status_code == 404  # still not theirs
