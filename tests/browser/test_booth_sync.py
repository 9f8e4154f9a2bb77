"""Sync is a normal state: leads waiting for a network read as safe, a rejection says what
to do, and the phone says whether the browser promised to keep its data."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.helpers import (
    capture,
    expect_unsynced,
    requires_browser,
    sign_in,
    wait_ready,
)
from tests.live import watch_console

pytestmark = requires_browser

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_leads_waiting_offline_read_as_saved_on_this_phone(booth_phone, network, booth):
    page = booth_phone
    sign_in(page, booth)
    network.offline(page.context)
    capture(page, 1)
    capture(page, 2)
    expect_unsynced(page, 2)
    counter = page.get_by_test_id("unsynced-count")
    expect(counter).to_be_visible()
    expect(counter).to_have_attribute("aria-label", "2 leads not yet sent")
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    page.get_by_role("button", name="Send now").click()  # offline: the try fails quietly
    cards = page.locator("#today-list li")
    expect(cards).to_have_count(2)
    for card in cards.all():
        expect(card).to_contain_text("Saved on this phone · sends when online")
    status = page.locator("#sync-status")
    expect(status).to_contain_text(
        "Not sent yet: 2 leads are saved on this phone and go out by themselves"
    )
    screen = page.locator("#screen-today")
    for alarming in ("TypeError", "Error", "No connection to the server", "failed"):
        expect(screen).not_to_contain_text(alarming)
    expect(page.locator("#sync-problem")).to_be_hidden()

    network.online(page.context)
    page.get_by_role("button", name="Send now").click()
    expect_unsynced(page, 0)
    expect(status).to_have_text("All 2 leads are on the server.")
    expect(counter).to_be_hidden()


def test_a_lead_the_server_rejects_stands_out_and_says_what_to_do(booth_phone, booth):
    page = booth_phone
    sign_in(page, booth)
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Long")
    form.get_by_label("Phone", exact=True).fill("1" * 80)  # longer than any phone number
    page.locator("#save-lead").click()
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    problem = page.locator("#sync-problem")
    expect(problem).to_be_visible(timeout=20_000)
    expect(problem).to_have_text(
        "1 lead was not accepted by the server: open it below, correct it and send it again."
    )
    card = page.locator("#today-list li.state-rejected")
    expect(card).to_contain_text("Phone:")
    expect(card).to_contain_text("Correct it and tap “Send again”.")
    expect(card.get_by_role("button", name="Send again")).to_be_visible()
    expect_unsynced(page, 1)  # kept on the phone


def test_signing_in_asks_to_keep_the_data_and_shows_the_answer(booth_phone, booth):
    page = booth_phone
    sign_in(page, booth)
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    note = page.locator("#storage-note")
    expect(note).to_be_visible()
    expect(note).to_have_text(
        "This phone keeps the app’s leads even when its storage runs low."
        if page.evaluate("navigator.storage.persisted()")
        else "The browser did not promise to keep the app’s data when storage runs low: "
        "send leads often, or install the app to the home screen."
    )
    expect(page.locator("#ios-note")).to_be_hidden()  # not Safari on iOS


def test_safari_on_an_iphone_is_told_about_the_7_day_limit_and_how_to_install(
    browser, network, booth
):
    context = browser.new_context(
        base_url=network.url,
        user_agent=IPHONE_SAFARI,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = watch_console(context.new_page())
        page.goto("/app/")
        wait_ready(page)
        note = page.locator("#ios-signin-note")
        expect(note).to_be_visible()
        expect(note).to_contain_text("Safari may delete this app’s data")
        expect(note).to_contain_text("Add to Home Screen")
    finally:
        context.close()
