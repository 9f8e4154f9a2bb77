"""The visitor form in the visitor's language: Russian questions, options and consent on a
Russian phone, switched to English in place; the answer is stored as the base option."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.events.models import Event
from backend.extensions import db
from tests.browser.helpers import requires_browser, server_leads, unexpected_console, wait_ready
from tests.live import watch_console

pytestmark = requires_browser

CONSENT_RU = "Мы можем связаться с вами по поводу наших продуктов."


def _russian_texts(booth) -> None:
    event = db.session.get(Event, booth.event_id)
    event.questions = [
        {"id": "budget", "label": "Budget", "type": "choice", "options": ["<10k", ">10k"],
         "translations": {"ru": {"label": "Бюджет", "options": ["до 10 тыс.", "больше 10 тыс."]}}},
        {"id": "demo", "label": "Wants a demo", "type": "yesno", "options": [],
         "translations": {"ru": {"label": "Нужна демонстрация"}}},
    ]  # fmt: skip
    event.consent_texts = {"ru": CONSENT_RU}
    db.session.commit()


def test_a_russian_visitor_sees_russian_questions_and_consent(browser, live_server, booth):
    _russian_texts(booth)
    context = browser.new_context(
        base_url=live_server.url, locale="ru-RU", viewport={"width": 390, "height": 844}
    )
    page = watch_console(context.new_page())
    page.goto(f"/v/{booth.visitor_token}")
    wait_ready(page)
    expect(page.locator("#v-form .consent-text")).to_have_text(CONSENT_RU)
    expect(page.locator("#v-q0-label")).to_have_text("Бюджет")
    expect(page.get_by_role("radio", name="больше 10 тыс.")).to_be_visible()
    expect(page.locator("#v-q1-label")).to_have_text("Нужна демонстрация")
    assert "Budget" not in page.locator("#v-form").inner_text()

    page.locator("#v-first_name").fill("Вера")
    page.locator("#v-email").fill("vera@example.ru")
    page.get_by_role("radio", name="больше 10 тыс.").check()
    # Switching to English re-words the questions and keeps the answer.
    page.locator("#v-lang button[data-lang=en]").click()
    expect(page.locator("#v-q0-label")).to_have_text("Budget")
    expect(page.get_by_role("radio", name=">10k")).to_be_checked()
    expect(page.locator("#v-form .consent-text")).to_have_text(
        "We may contact you about our products."
    )
    page.locator("#v-lang button[data-lang=ru]").click()
    expect(page.locator("#v-form .consent-text")).to_have_text(CONSENT_RU)
    page.locator("#v-consent_contact").check()
    page.locator("#v-submit").click()
    expect(page.locator("#v-thanks")).to_be_visible()

    [lead] = server_leads(booth.event_id)
    assert lead.answers == {"budget": ">10k"}  # the base option, whatever was shown
    assert (lead.language, lead.consent_text) == ("ru", CONSENT_RU)
    assert unexpected_console(page.console_errors) == []
    context.close()
