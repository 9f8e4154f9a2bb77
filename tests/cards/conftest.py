"""Fixtures for business cards and voice notes: offices, an event, signed-in booth staff,
a lead of theirs, card photos drawn with Pillow and read by the real Tesseract."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image, ImageDraw, ImageFont

from backend.extensions import db
from backend.queues import OCR
from tests.factories import make_event, make_office, make_user
from tests.followup import AppSimpleWorker
from workers.queues import make_worker

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# The start of a WebM file as Chrome's MediaRecorder writes it (EBML header, doctype webm).
WEBM = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d42878104428581")
OGG = b"OggS\x00\x02" + b"\x00" * 60
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 40


def card_image(lines: list[str], *, size=(1050, 600), fmt="JPEG", font=FONT) -> bytes:
    """A clean business card with ``lines`` of text, as image bytes."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    y = 50
    for index, text in enumerate(lines):
        points = 44 if index == 0 else 30
        draw.text((60, y), text, font=ImageFont.truetype(font, points), fill=(20, 20, 20))
        y += points + 22
    out = io.BytesIO()
    image.save(out, fmt, quality=90)
    return out.getvalue()


RU_CARD = [
    "Иван Петров",
    "Коммерческий директор",
    "ООО «Уралмаш»",
    "+7 912 345-67-89",
    "ivan.petrov@uralmash.ru",
    "www.uralmash.ru",
    "г. Новосибирск",
]


@pytest.fixture
def booth(app, auth):
    """Offices in Moscow and Novosibirsk, an event in Moscow, its signed-in booth staff."""
    mow = make_office("MOW")
    make_office("NSK")
    event = make_event(name="Innoprom", venue_country="RU")
    staff = make_user("staff", email="booth@example.com")
    staff.events.append(event)
    rep = make_user("office_rep", office=mow, email="rep@example.com")
    db.session.commit()
    auth.login("booth@example.com")
    return {"event": event, "staff": staff, "rep": rep, "mow": mow}


@pytest.fixture
def new_lead(api, booth):
    """Capture a lead through the API as the booth staff; returns its id."""

    def make(**fields) -> int:
        payload = {"client_id": str(uuid.uuid4()), "rating": "warm", **fields}
        response = api.post(f"/api/v1/events/{booth['event'].id}/leads", json=payload)
        assert response.status_code == 201, response.json
        return response.json["id"]

    return make


@pytest.fixture
def upload(api):
    def send(lead_id: int, data: bytes, *, kind="card_front", client_id=None, **form):
        fields = {"kind": kind, "client_id": client_id or str(uuid.uuid4()), **form}
        fields["file"] = (io.BytesIO(data), "upload.bin")
        return api.post(
            f"/api/v1/leads/{lead_id}/attachments", data=fields, content_type="multipart/form-data"
        )

    return send


@pytest.fixture
def run_ocr_worker(app):
    """Drain the ``ocr`` queue with the app's worker, in this process, on real Redis."""

    def run():
        db.session.commit()
        make_worker(app, (OCR,), worker_class=AppSimpleWorker).work(burst=True)
        db.session.expire_all()

    return run
