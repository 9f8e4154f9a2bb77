"""The same visitor twice: a warning while typing, from what this phone captured today."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import expect_unsynced, requires_browser, sign_in, wait_for_server_leads

pytestmark = requires_browser


def test_typing_an_email_captured_today_warns_and_opens_the_earlier_lead(
    booth_phone, network, booth
):
    page = booth_phone
    sign_in(page, booth)
    network.offline(page.context)  # the warning needs no server
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Bob")
    form.get_by_label("Email").fill("bob@acme.com")
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")

    form.get_by_label("Email").fill("BOB@acme.com ")
    warning = page.locator("#duplicate")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(re.compile(r"Already captured at \d{1,2}:\d\d( [AP]M)?: Bob\."))
    warning.get_by_role("button", name="Open it").click()
    expect(page.locator("#edit-bar")).to_contain_text("Correcting Bob")
    expect(form.get_by_label("Email")).to_have_value("bob@acme.com")
    expect(warning).to_be_hidden()


def test_the_same_phone_written_differently_warns_and_save_anyway_keeps_both(booth_phone, booth):
    page = booth_phone
    sign_in(page, booth)
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Jana")
    form.get_by_label("Phone", exact=True).fill("+49 170 5550123")
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")

    form.get_by_label("First name").fill("Jana S.")
    form.get_by_label("Phone", exact=True).fill("0170 555-01-23")
    warning = page.locator("#duplicate")
    expect(warning).to_contain_text("Already captured at")
    warning.get_by_role("button", name="Save anyway").click()
    expect(form.get_by_label("First name")).to_have_value("")
    expect(warning).to_be_hidden()
    expect_unsynced(page, 0)
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    expect(page.locator("#today-list li")).to_have_count(2)  # both saved on the phone
    assert wait_for_server_leads(booth.event_id, 1)  # the server merges the same person


def test_a_new_visitor_gets_no_warning(booth_phone, booth):
    page = booth_phone
    sign_in(page, booth)
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Bob")
    form.get_by_label("Email").fill("bob@acme.com")
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")
    form.get_by_label("Email").fill("alice@acme.com")
    page.wait_for_timeout(400)
    expect(page.locator("#duplicate")).to_be_hidden()
