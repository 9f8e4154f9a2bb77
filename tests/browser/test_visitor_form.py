"""The visitor registers on their own phone or a kiosk; bots filling the honeypot do not."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.helpers import requires_browser, server_leads, unexpected_console, wait_ready

pytestmark = requires_browser


def _fill(page, first="Vera", email="vera@example.org"):
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill("Visitor")
    page.get_by_label("Email").fill(email)
    page.get_by_role("radio", name=">10k").check()
    page.get_by_label("I agree to be contacted").check()


def test_a_visitor_on_a_kiosk_creates_a_kiosk_lead_and_sees_the_office(page, booth):
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"/v/{booth.visitor_token}?kiosk=1")
    wait_ready(page)
    expect(page.locator("#v-event")).to_have_text(booth.event_name)
    expect(page.get_by_label("Country")).to_have_value("DE")
    honeypot = page.locator("#v-website")
    assert honeypot.get_attribute("tabindex") == "-1"
    assert page.locator(".honeypot").get_attribute("aria-hidden") == "true"

    _fill(page)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.locator("#v-office")).to_contain_text("office")

    [lead] = server_leads(booth.event_id)
    assert lead.source == "kiosk"
    assert lead.email == "vera@example.org"
    assert lead.answers == {"budget": ">10k"}

    # The kiosk resets itself for the next visitor.
    expect(page.get_by_label("First name")).to_be_visible(timeout=12_000)
    expect(page.get_by_label("First name")).to_have_value("")
    assert unexpected_console(page.console_errors) == []


def test_a_bot_that_fills_the_honeypot_is_refused(page, booth):
    page.goto(f"/v/{booth.visitor_token}")
    wait_ready(page)
    _fill(page, first="Bot", email="bot@spam.example")
    page.locator("#v-website").fill("https://spam.example")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#v-form-error")).not_to_be_empty()
    expect(page.get_by_role("heading", name="Thank you!")).not_to_be_visible()
    assert server_leads(booth.event_id) == []


def test_the_visitor_must_give_an_email_and_consent(page, booth):
    page.goto(f"/v/{booth.visitor_token}")
    wait_ready(page)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#v-email-error")).to_have_text("Please enter your email address.")
    expect(page.locator("#v-consent_contact-error")).not_to_be_empty()
    assert server_leads(booth.event_id) == []
