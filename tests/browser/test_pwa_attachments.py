"""Card photos and voice notes on the phone (pwa/js/attachments.js, media.js,
attachment-ui.js): chosen through the file input or recorded from a (fake) microphone,
kept offline under their own UUID, sent after their lead, read on the server."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from backend.attachments.models import Attachment
from backend.extensions import db
from backend.leads.models import Lead
from backend.queues import OCR
from tests.browser.helpers import (
    capture,
    expect_unsynced,
    requires_browser,
    server_leads,
    sign_in,
    wait_for_service_worker,
)
from tests.cards.conftest import card_image
from tests.followup import AppSimpleWorker
from tests.live import CHROMIUM, CHROMIUM_ARGS
from workers.queues import make_worker

pytestmark = requires_browser

FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
CARD = [
    "Hanna Becker",
    "Head of Procurement",
    "Brightline GmbH",
    "Mobile: +49 151 23456789",
    "hanna.becker@brightline.de",
    "Berlin, Germany",
]


@pytest.fixture
def media_phone(playwright_instance, network):
    """A phone-sized Chromium with a fake camera-less microphone that always says yes."""
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
    )
    context = browser.new_context(
        base_url=network.url, viewport={"width": 360, "height": 780}, permissions=["microphone"]
    )
    page = context.new_page()
    yield context, page
    context.close()
    browser.close()


def mount(page, lead_client_id: str) -> None:
    page.evaluate(
        """async (leadClientId) => {
            const { mountAttachments } = await import('/app/js/attachment-ui.js');
            const host = document.createElement('section');
            host.id = 'attachments-test';
            document.querySelector('#screen-capture').prepend(host);
            mountAttachments(host, { leadClientId: () => leadClientId });
        }""",
        lead_client_id,
    )


def stored_on_phone(page) -> list[dict]:
    return page.evaluate(
        """async () => {
            const { entries } = await import('/app/js/attachments.js');
            return (await entries()).map((e) => ({ kind: e.kind, type: e.content_type,
                size: e.blob.size, duration: e.duration_seconds, lead: e.lead_client_id }));
        }"""
    )


def send(page) -> dict:
    return page.evaluate("async () => (await import('/app/js/attachment-ui.js')).sendAttachments()")


def test_a_card_photo_and_a_voice_note_taken_offline_are_sent_after_their_lead_and_read(
    app, media_phone, network, booth, tmp_path
):
    context, page = media_phone
    sign_in(page, booth)
    wait_for_service_worker(page)
    # Load the modules while online (the capture screen does too; sw.js precaches them).
    page.evaluate(
        """() => Promise.all(['attachment-ui', 'attachments', 'media', 'db']
            .map((name) => import(`/app/js/${name}.js`)))"""
    )
    network.offline(context)
    capture(page, 1, prefix="Card")
    lead_client_id = page.evaluate(
        """async () => {
            const { getAll } = await import('/app/js/db.js');
            return (await getAll('captures'))[0].client_id;
        }"""
    )
    mount(page, lead_client_id)

    # A photo larger than the phone keeps: chosen through the file input, offline.
    photo = tmp_path / "card.jpg"
    photo.write_bytes(card_image(CARD, size=(3000, 1714)))
    page.set_input_files("#attachments-test [data-role=card-photo-input]", str(photo))
    expect(page.locator("#attachments-test .attachments-status")).to_have_text(
        "Card saved; it will be read after sync."
    )
    expect(page.locator("#attachments-test [data-role=card-photo]")).to_have_text(
        "Photo of card back"
    )

    # A voice note from the fake microphone, with a running timer and a stop button.
    page.locator("#attachments-test [data-role=voice-note]").click()
    expect(page.locator("#attachments-test .attachments-timer")).to_contain_text("of 2:00")
    time.sleep(2.2)
    page.locator("#attachments-test [data-role=voice-stop]").click()
    expect(page.locator("#attachments-test .attachments-status")).to_contain_text(
        "Voice note saved (0:0"
    )
    expect(page.locator("#attachments-test .attachments-count")).to_have_text(
        "2 files with this lead"
    )

    kept = stored_on_phone(page)
    assert [k["kind"] for k in kept] == ["card_front", "voice"]
    assert kept[0]["type"] == "image/jpeg"
    assert kept[1]["type"].startswith("audio/")
    assert kept[1]["duration"] >= 2
    # Offline, and the lead itself is not on the server yet: nothing can go.
    assert send(page)["sent"] == 0
    assert len(stored_on_phone(page)) == 2

    network.online(context)
    expect_unsynced(page, 0, timeout=30_000)
    # The app sends them by itself after the lead's sync; a call of our own may take part.
    deadline = time.monotonic() + 30
    while stored_on_phone(page) and time.monotonic() < deadline:
        counts = send(page)
        assert counts["rejected"] == 0 and counts["failed"] == 0
        time.sleep(0.3)
    assert stored_on_phone(page) == []
    assert send(page)["sent"] == 0  # nothing left, nothing sent twice

    [lead] = server_leads(booth.event_id)
    db.session.rollback()
    files = db.session.scalars(db.select(Attachment).where(Attachment.lead_id == lead.id)).all()
    assert sorted(a.kind for a in files) == ["card_front", "voice"]
    card = next(a for a in files if a.kind == "card_front")
    assert max(card.width, card.height) == 1600  # downscaled on the phone
    assert card.size_bytes < 400_000
    voice = next(a for a in files if a.kind == "voice")
    assert voice.content_type in ("audio/webm", "audio/ogg", "audio/mp4")
    assert voice.duration_seconds >= 2

    # The OCR worker reads the card into the lead's empty fields.
    make_worker(app, (OCR,), worker_class=AppSimpleWorker).work(burst=True)
    db.session.rollback()
    lead = db.session.get(Lead, lead.id)
    assert lead.first_name == "Card1"  # typed at the stand, kept
    assert lead.company == "Brightline GmbH"
    assert lead.phone_normalized == "+4915123456789"
    assert "card_check" in lead.flags
