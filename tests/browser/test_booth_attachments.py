"""Card photos and voice notes on the booth's capture screen (issue #19, "On the phone"):
the "Photo of card" and "Voice note" buttons under the contact fields, offline, sent after
their lead, the card read by the OCR worker and shown on the office's lead page."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from backend.attachments.models import Attachment
from backend.auth.models import User
from backend.extensions import db
from backend.leads.models import Lead
from backend.queues import OCR
from tests.browser.helpers import (
    expect_unsynced,
    requires_browser,
    server_leads,
    sign_in,
    wait_for_service_worker,
)
from tests.cards.conftest import card_image
from tests.factories import PASSWORD, make_event, make_user
from tests.followup import AppSimpleWorker
from tests.live import CHROMIUM, CHROMIUM_ARGS, FAKE_MEDIA
from workers.queues import make_worker

pytestmark = requires_browser

PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
CARD = [
    "Hanna Becker",
    "Head of Procurement",
    "Brightline GmbH",
    "Mobile: +49 151 23456789",
    "hanna.becker@brightline.de",
    "Berlin, Germany",
]


@pytest.fixture
def media_browser(playwright_instance):
    """Chromium with a fake microphone that is always allowed."""
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
    )
    yield browser
    browser.close()


@pytest.fixture
def booth_media_phone(media_browser, network):
    """The booth's 390x844 touch phone behind the unpluggable ``network``, with a microphone."""
    context = media_browser.new_context(base_url=network.url, permissions=["microphone"], **PHONE)
    yield context, context.new_page()
    context.close()


def stored_on_phone(page) -> list[dict]:
    return page.evaluate(
        """async () => {
            const { entries } = await import('/app/js/attachments.js');
            return (await entries()).map((e) => ({ kind: e.kind, type: e.content_type,
                size: e.blob.size, duration: e.duration_seconds, lead: e.lead_client_id }));
        }"""
    )


def send(page) -> dict:
    """What one call of the app's own sender did: counts of sent, rejected and failed."""
    return page.evaluate("async () => (await import('/app/js/attachment-ui.js')).sendAttachments()")


def choose_card_photo(page, path) -> None:
    """Tap "Photo of card" and pick ``path`` in the file chooser it opens."""
    with page.expect_file_chooser() as chooser:
        page.locator("#capture-extras").get_by_role("button", name="Photo of card").click()
    chooser.value.set_files(str(path))


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844


def test_a_card_photo_and_voice_note_taken_offline_reach_the_office_after_their_lead(
    app, booth_media_phone, network, booth, tmp_path
):
    context, page = booth_media_phone
    sign_in(page, booth)
    wait_for_service_worker(page)
    extras = page.locator("#capture-extras")
    photo_button = extras.get_by_role("button", name="Photo of card")
    voice_button = extras.get_by_role("button", name="Voice note")
    expect(photo_button).to_be_visible()
    expect(voice_button).to_be_visible()
    for button in (photo_button, voice_button):
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
    assert in_viewport(page, "#save-lead") and in_viewport(page, ".action-bar .rating")

    network.offline(context)
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Card1")

    # Offline the card cannot be read now: it is kept and read after sync.
    photo = tmp_path / "card.jpg"
    photo.write_bytes(card_image(CARD, size=(3000, 1714)))
    choose_card_photo(page, photo)
    expect(extras.locator(".attachments-status")).to_have_text(
        "Card saved; it will be read after sync."
    )
    expect(extras.get_by_role("button", name="Photo of card back")).to_be_visible()

    # A voice note from the fake microphone: a running timer, then Stop.
    voice_button.click()
    expect(extras.get_by_role("timer")).to_contain_text("of 2:00")
    time.sleep(2.2)
    extras.get_by_role("button", name="Stop").click()
    expect(extras.locator(".attachments-status")).to_contain_text("Voice note saved (0:0")
    expect(extras.locator(".attachments-count")).to_have_text("2 files with this lead")
    assert in_viewport(page, "#save-lead")

    form.get_by_role("radio", name="Warm").check()
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")
    expect(form.get_by_label("First name")).to_be_focused()
    # The next visitor starts with no files; the saved lead keeps its two.
    expect(extras.get_by_role("button", name="Photo of card")).to_be_visible()
    expect(extras.locator(".attachments-count")).to_have_text("")
    lead_client_id = page.evaluate(
        """async () => {
            const { getAll } = await import('/app/js/db.js');
            return (await getAll('captures'))[0].client_id;
        }"""
    )
    kept = stored_on_phone(page)
    assert [k["kind"] for k in kept] == ["card_front", "voice"]
    assert {k["lead"] for k in kept} == {lead_client_id}
    assert kept[0]["type"] == "image/jpeg" and kept[1]["type"].startswith("audio/")
    assert kept[1]["duration"] >= 2
    expect_unsynced(page, 1)
    # Offline, and the lead itself is not on the server yet: nothing can go, nothing is lost.
    assert send(page)["sent"] == 0
    assert len(stored_on_phone(page)) == 2

    # Back online the lead goes first, then its files: nobody sends the files by hand.
    # ("Send now" only because the page's own online sync can lose the lock to Background
    # Sync's failed try and then wait out the backoff; that race is the outbox's, not ours.)
    network.online(context)
    page.locator("#tabbar").get_by_role("button", name="Today").click()
    page.get_by_role("button", name="Send now").click()
    expect_unsynced(page, 0, timeout=30_000)
    deadline = time.monotonic() + 30
    while stored_on_phone(page) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stored_on_phone(page) == []
    assert send(page)["sent"] == 0  # nothing left, nothing sent twice
    [lead] = server_leads(booth.event_id)
    assert str(lead.client_id) == lead_client_id
    files = db.session.scalars(db.select(Attachment).where(Attachment.lead_id == lead.id)).all()
    assert sorted(a.kind for a in files) == ["card_front", "voice"]
    card = next(a for a in files if a.kind == "card_front")
    assert max(card.width, card.height) == 1600  # downscaled on the phone
    assert card.size_bytes < 400_000
    voice = next(a for a in files if a.kind == "voice")
    assert voice.content_type in ("audio/webm", "audio/ogg", "audio/mp4")
    assert voice.duration_seconds >= 2
    db.session.rollback()

    # The OCR worker reads the card; the office sees the fields that came from it.
    make_worker(app, (OCR,), worker_class=AppSimpleWorker).work(burst=True)
    db.session.rollback()
    lead = db.session.get(Lead, lead.id)
    assert lead.first_name == "Card1"  # typed at the stand, kept
    assert lead.company == "Brightline GmbH"
    make_user("office_rep", office=lead.office, email="rep@example.com")
    db.session.commit()
    office = context.browser.new_context(base_url=network.url, **PHONE)
    try:
        response = office.request.post(
            "/api/v1/auth/login",
            data=json.dumps({"email": "rep@example.com", "password": PASSWORD}),
            headers={"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"},
        )
        assert response.ok, response.text()
        lead_page = office.new_page()
        lead_page.goto(f"/office/leads/{lead.id}")
        card = lead_page.locator(".att-card")
        expect(card.get_by_role("heading", name="Read from the card")).to_be_visible()
        expect(card.get_by_label("Company")).to_have_value("Brightline GmbH")
        expect(card.get_by_label("E-mail")).to_have_value("hanna.becker@brightline.de")
        expect(lead_page.locator(".att-voice audio")).to_have_count(1)
        expect(lead_page.locator(".att-thumb img")).to_have_count(1)
    finally:
        office.close()


def test_a_saved_leads_correction_screen_takes_a_card_photo_for_that_lead(
    app, booth_media_phone, network, booth, tmp_path
):
    context, page = booth_media_phone
    sign_in(page, booth)
    wait_for_service_worker(page)
    expect(page.locator("#capture-extras [data-role=card-photo]")).to_be_visible()
    network.offline(context)
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Later")
    form.get_by_label("Email").fill("later@example.org")
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")
    lead_client_id = page.evaluate(
        """async () => {
            const { getAll } = await import('/app/js/db.js');
            return (await getAll('captures'))[0].client_id;
        }"""
    )

    page.locator("#tabbar").get_by_role("button", name="Today").click()
    page.locator("#today-list").get_by_role("button", name="Later").click()
    expect(page.locator("#edit-bar")).to_be_visible()
    photo = tmp_path / "card.jpg"
    photo.write_bytes(card_image(CARD))
    choose_card_photo(page, photo)
    expect(page.locator("#capture-extras .attachments-count")).to_have_text("1 file with this lead")
    assert [(k["kind"], k["lead"]) for k in stored_on_phone(page)] == [
        ("card_front", lead_client_id)
    ]

    # Leaving the correction shows the new visitor's (empty) buttons again.
    page.locator("#edit-cancel").click()
    page.locator("#tabbar").get_by_role("button", name="Capture").click()
    expect(page.locator("#capture-extras .attachments-count")).to_have_text("")
    assert len(stored_on_phone(page)) == 1

    # Signing out with the lead and its photo still on the phone asks first, naming both.
    page.locator("#tabbar").get_by_role("button", name="Today").click()
    page.locator("#signout").click()
    dialog = page.locator("#signout-dialog")
    expect(dialog).to_contain_text("1 lead is still only on this phone")
    expect(dialog.locator("#signout-files")).to_have_text(
        "1 card photo or voice note not yet sent."
    )
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()


def test_a_form_left_for_another_event_drops_its_card_photo(
    app, booth_media_phone, network, booth, tmp_path
):
    user = db.session.scalar(db.select(User).where(User.email == booth.email))
    other = make_event(name="Innoprom")
    user.events.append(other)
    db.session.commit()
    context, page = booth_media_phone
    page.goto("/app/")
    page.locator("#signin-email").fill(booth.email)
    page.locator("#signin-password").fill(booth.password)
    page.locator("#signin-form button[type=submit]").click()
    page.locator("#events-list").get_by_role("button", name=booth.event_name).click()
    page.locator("#screen-capture").wait_for(state="visible")

    # A photo taken for a visitor who never gets saved...
    photo = tmp_path / "card.jpg"
    photo.write_bytes(card_image(CARD))
    wait_for_service_worker(page)
    expect(page.locator("#capture-extras [data-role=card-photo]")).to_be_visible()
    network.offline(context)
    choose_card_photo(page, photo)
    expect(page.locator("#capture-extras .attachments-count")).to_have_text("1 file with this lead")
    assert len(stored_on_phone(page)) == 1

    # ...is dropped when the worker moves on to another event.
    network.online(context)
    page.locator("#tabbar").get_by_role("button", name="Today").click()
    page.locator("#event-select").select_option(str(other.id))
    expect(page.locator("#event-name")).to_have_text("Innoprom")
    expect(page.locator("#capture-extras .attachments-count")).to_have_text("")
    deadline = time.monotonic() + 10
    while stored_on_phone(page) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stored_on_phone(page) == []


def test_online_a_card_photo_fills_the_empty_fields_for_the_worker_to_check(
    app, booth_media_phone, network, booth, tmp_path
):
    context, page = booth_media_phone
    sign_in(page, booth)
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Hanna")
    photo = tmp_path / "card.jpg"
    photo.write_bytes(card_image(CARD))
    choose_card_photo(page, photo)
    expect(page.locator("#capture-extras .attachments-status")).to_contain_text(
        "from the card", timeout=20_000
    )
    expect(form.get_by_label("Company")).to_have_value("Brightline GmbH")
    expect(form.get_by_label("Email")).to_have_value("hanna.becker@brightline.de")
    expect(form.get_by_label("First name")).to_have_value("Hanna")  # typed, kept
