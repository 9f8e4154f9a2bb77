"""Scanning every badge: zxing-wasm reads QR, PDF417, DataMatrix, Aztec, Code 128 and
Code 39 from a photo ("Scan from photo"), offline too; no camera is not a dead end."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.badges import BADGES, badge_png
from tests.browser.helpers import (
    expect_unsynced,
    requires_browser,
    server_leads,
    sign_in,
    wait_for_service_worker,
    wait_ready,
)

pytestmark = requires_browser

LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "job_title": "Job title",
    "email": "Email",
    "phone": "Phone",
    "city": "City",
    "country": "Country",
}


def _expect_filled(page, badge):
    form = page.locator("#capture-form")
    for name, value in badge.fields.items():
        # The first photo compiles the decoder (WebAssembly): slow on a loaded CI machine.
        expect(form.get_by_label(LABELS[name], exact=True), badge.name).to_have_value(
            value, timeout=20_000
        )


def test_every_badge_format_is_read_from_a_photo_and_fills_the_right_fields(
    booth_phone, network, booth, tmp_path
):
    page = booth_phone
    sign_in(page, booth)
    resources = page.evaluate("performance.getEntriesByType('resource').map((r) => r.name)")
    assert not [url for url in resources if "zxing" in url]  # loaded only when scanning
    wait_for_service_worker(page)  # installed (decoder precached) before the network goes
    network.offline(page.context)
    form = page.locator("#capture-form")
    for badge in BADGES:
        page.locator("#photo-input").set_input_files(badge_png(badge, tmp_path))
        note = page.locator("#badge-note")
        if badge.fields:
            _expect_filled(page, badge)
        else:
            expect(note).to_contain_text(f"Badge {badge.badge_id} is not in the attendee list")
        page.locator("#save-lead").click()
        expect(form.get_by_label("First name")).to_have_value("")
        expect(form.get_by_label("Email")).to_have_value("")
    expect_unsynced(page, len(BADGES))

    network.online(page.context)
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    page.get_by_role("button", name="Send now").click()
    expect_unsynced(page, 0)
    raws = {lead.badge_raw for lead in server_leads(booth.event_id)}
    # The raw code is always kept (the server may merge a person seen twice, not here).
    assert {badge.text for badge in BADGES} <= raws


def test_without_a_camera_the_scanner_offers_a_photo_and_typing(booth_phone, booth, tmp_path):
    page = booth_phone
    sign_in(page, booth)
    page.get_by_role("button", name="Scan badge or card").click()
    dialog = page.locator("#scanner")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#scanner-status")).to_contain_text("No camera is available here")
    expect(dialog.get_by_text("Scan from photo", exact=True)).to_be_visible()
    expect(dialog.get_by_role("button", name="Type the details")).to_be_visible()
    badge = BADGES[0]
    dialog.locator("#scanner-photo").set_input_files(badge_png(badge, tmp_path))
    expect(dialog).to_be_hidden()
    _expect_filled(page, badge)

    # Or type instead: the dialog closes onto the first field.
    page.locator("#save-lead").click()
    page.get_by_role("button", name="Scan badge or card").click()
    dialog.get_by_role("button", name="Type the details").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#f-first_name")).to_be_focused()


def test_a_photo_that_holds_no_code_says_so(booth_phone, booth, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    page = booth_phone
    sign_in(page, booth)
    page.locator("#photo-input").set_input_files(blank)
    expect(page.locator("#badge-note")).to_contain_text("No badge code found in this photo")


@pytest.mark.parametrize("badge", [BADGES[1]], ids=lambda b: b.name)
def test_the_decoder_is_cached_for_scanning_offline(booth_phone, network, booth, tmp_path, badge):
    page = booth_phone
    sign_in(page, booth)
    wait_for_service_worker(page)
    network.offline(page.context)
    page.reload()
    wait_ready(page)
    page.locator("#photo-input").set_input_files(badge_png(badge, tmp_path))
    _expect_filled(page, badge)
