"""Capturing with the camera, the badge parser in the browser, and signing out safely."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    capture,
    expect_unsynced,
    requires_browser,
    sign_in,
    unexpected_console,
    wait_for_server_leads,
    wait_ready,
)
from tests.browser.media import qr_video
from tests.live import CHROMIUM, CHROMIUM_ARGS, FAKE_MEDIA

pytestmark = requires_browser

VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Schmidt;Jana;;;\r\nFN:Jana Schmidt\r\n"
    "ORG:Nordwind Logistik GmbH;Einkauf\r\nTITLE:Head of Procurement\r\n"
    "EMAIL;TYPE=INTERNET,WORK:jana.schmidt@nordwind.example\r\nTEL;TYPE=CELL:+49 170 5550123\r\n"
    "ADR;TYPE=WORK:;;Hafenstr. 5;Hamburg;;20457;Germany\r\nEND:VCARD\r\n"
)


def test_a_vcard_qr_held_to_the_camera_fills_the_form(
    playwright_instance, live_server, booth, tmp_path
):
    video = qr_video(VCARD, tmp_path / "vcard.y4m")
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            *FAKE_MEDIA,
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 360, "height": 780}
        )
        page = context.new_page()
        errors = []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, booth)
        page.get_by_role("button", name="Scan badge or card").click()
        form = page.locator("#capture-form")
        expect(form.get_by_label("Email")).to_have_value(
            "jana.schmidt@nordwind.example", timeout=20_000
        )
        expect(form.get_by_label("First name")).to_have_value("Jana")
        expect(form.get_by_label("Last name")).to_have_value("Schmidt")
        expect(form.get_by_label("Company")).to_have_value("Nordwind Logistik GmbH")
        expect(form.get_by_label("Job title")).to_have_value("Head of Procurement")
        expect(form.get_by_label("Phone", exact=True)).to_have_value("+49 170 5550123")
        expect(form.get_by_label("City")).to_have_value("Hamburg")
        expect(form.get_by_label("Country")).to_have_value("DE")
        expect(page.locator("#scanner")).not_to_be_visible()

        # The staff member fixes a field before saving; the raw code travels with the lead.
        form.get_by_label("Job title").fill("Procurement Director")
        form.get_by_role("radio", name="Hot").check()
        form.get_by_role("button", name="Save lead").click()
        expect_unsynced(page, 0)
        [lead] = wait_for_server_leads(booth.event_id, 1)
        assert lead.source == "badge"
        assert lead.job_title == "Procurement Director"
        assert lead.email == "jana.schmidt@nordwind.example"
        assert "BEGIN:VCARD" in lead.badge_raw
        assert unexpected_console(errors) == []
    finally:
        browser.close()


CASES = [
    (
        "MECARD:N:Doe,John;TEL:+15551234567;EMAIL:john@doe.example;ORG:Doe\\; Sons;;",
        "mecard",
        {
            "first_name": "John",
            "last_name": "Doe",
            "email": "john@doe.example",
            "company": "Doe; Sons",
        },
    ),
    (
        "BEGIN:VCARD\nVERSION:4.0\nFN:Jean Dupont\nTEL;VALUE=uri;TYPE=work:tel:+33-1-23-45-67-89\nEND:VCARD",
        "vcard",
        {"first_name": "Jean", "last_name": "Dupont", "phone": "+33-1-23-45-67-89"},
    ),
    (
        "Maria Rossi\nFincantieri\nmaria.rossi@fincantieri.example",
        "text",
        {
            "first_name": "Maria",
            "last_name": "Rossi",
            "company": "Fincantieri",
            "email": "maria.rossi@fincantieri.example",
        },
    ),
    (
        "https://badges.example.com/v?first_name=Kim&last_name=Lee",
        "url",
        {"first_name": "Kim", "last_name": "Lee"},
    ),
    ("A1B2C3D4", "id", {}),
    ("BEGIN:VCARD\n\\\\;;;:::\nN:", "vcard", {}),
    ("", "empty", {}),
]


@pytest.mark.parametrize(("text", "kind", "fields"), CASES)
def test_the_badge_parser_reads_cards_and_never_loses_the_raw_text(
    page, live_server, text, kind, fields
):
    page.goto("/app/manifest.webmanifest")
    result = page.evaluate(
        "async (text) => (await import('/app/js/badge.js')).parseBadge(text)", text
    )
    assert result["kind"] == kind
    assert result["raw"] == text
    for name, value in fields.items():
        assert result["fields"][name] == value
    if not fields:
        assert result["fields"] == {}


def test_signing_out_with_unsent_leads_needs_two_confirmations(phone, network, booth):
    page = phone
    sign_in(page, booth)
    network.offline(page.context)
    capture(page, 1)
    expect_unsynced(page, 1)
    page.get_by_role("button", name="Today").click()

    page.get_by_role("button", name="Sign out").click()
    dialog = page.locator("#signout-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(page.locator("#screen-today")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    dialog.get_by_role("button", name="Sign out anyway").click()
    expect(dialog).to_contain_text("Really sign out?")
    expect(page.locator("#screen-today")).to_be_visible()
    dialog.get_by_role("button", name="Yes, sign out").click()
    expect(page.locator("#screen-signin")).to_be_visible()
    expect(page.locator("#signin-note")).to_contain_text("1 lead on this phone")
    expect_unsynced(page, 1)  # never dropped


def test_the_staff_join_link_signs_in_first_then_lands_on_the_event(page, booth, app):
    from backend.extensions import db
    from tests.factories import make_event

    other = make_event(name="Expo Nord", venue_country="SE", questions=[])
    db.session.commit()
    page.goto(f"/app/?join={other.join_token}")
    wait_ready(page)
    expect(page.locator("#signin-note")).to_contain_text("Sign in first")
    signin = page.locator("#screen-signin")
    signin.get_by_label("Email").fill(booth.email)
    signin.get_by_label("Password").fill(booth.password)
    signin.get_by_role("button", name="Sign in").click()
    expect(page.locator("#screen-capture")).to_be_visible()
    expect(page.locator("#event-name")).to_have_text("Expo Nord")
    expect(page.locator("#capture-form").get_by_label("Country")).to_have_value("SE")
    assert "join=" not in page.url
