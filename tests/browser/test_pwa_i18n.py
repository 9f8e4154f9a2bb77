"""The booth app and the visitor form speak Russian to Russian readers, offline too."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.auth.models import User
from backend.extensions import db
from tests.browser.helpers import (
    capture,
    expect_unsynced,
    requires_browser,
    server_leads,
    unexpected_console,
    wait_for_server_leads,
    wait_for_service_worker,
    wait_ready,
)
from tests.live import watch_console

pytestmark = requires_browser

SCREENSHOTS = os.environ.get("LEADRELAY_SCREENSHOTS")  # a folder, to look at the pages


def _context(browser, base_url: str, locale: str):
    return browser.new_context(
        base_url=base_url, locale=locale, viewport={"width": 360, "height": 780}
    )


@pytest.fixture
def ru_phone(browser, network):
    """A 360 px phone whose browser prefers Russian, behind the unpluggable network."""
    context = _context(browser, network.url, "ru-RU")
    page = watch_console(context.new_page())
    yield page
    context.close()


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def _sign_in_ru(page, booth) -> None:
    page.goto("/app/")
    wait_ready(page)
    signin = page.locator("#screen-signin")
    signin.get_by_label("Электронная почта").fill(booth.email)
    signin.get_by_label("Пароль").fill(booth.password)
    signin.get_by_role("button", name="Войти").click()
    page.locator("#screen-capture").wait_for(state="visible")


def _capture_ru(page, n: int) -> None:
    form = page.locator("#capture-form")
    form.get_by_label("Имя").fill(f"Ирина{n}")
    form.get_by_label("Фамилия").fill("Петрова")
    form.get_by_label("Электронная почта").fill(f"irina{n}@example.org")
    form.get_by_role("radio", name="Тёплый").check()
    form.get_by_role("button", name="Сохранить лид").click()
    expect(form.get_by_label("Имя")).to_have_value("")


def test_the_booth_app_speaks_russian_to_a_russian_browser_and_remembers_english(ru_phone, booth):
    page = ru_phone
    page.goto("/app/")
    wait_ready(page)
    assert page.locator("html").get_attribute("lang") == "ru"
    signin = page.locator("#screen-signin")
    expect(signin.get_by_role("heading", name="Вход")).to_be_visible()
    expect(signin.locator("label[for=signin-email]")).to_have_text("Электронная почта")
    expect(signin.locator("label[for=signin-password]")).to_have_text("Пароль")
    expect(page.get_by_role("button", name="RU", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    _shot(page, "ru-signin")

    _sign_in_ru(page, booth)
    form = page.locator("#capture-form")
    for label in ("Имя", "Фамилия", "Компания", "Должность", "Телефон", "Город", "Страна"):
        expect(form.get_by_label(label, exact=True)).to_be_visible()
    expect(form.get_by_role("radio", name="Горячий")).to_have_count(1)
    # The event's yes/no question speaks the visitor's (mail) language: this English event's.
    expect(form.get_by_role("radio", name="Yes")).to_have_count(1)
    expect(form.get_by_role("button", name="Сохранить лид")).to_be_visible()
    expect(page.get_by_role("button", name="Сканировать бейдж или визитку")).to_be_visible()
    # Countries are named by the browser in Russian; the event's country is preselected.
    expect(form.locator("#f-country option:checked")).to_have_text("Германия")
    expect(page.get_by_role("navigation").get_by_role("button", name="Сегодня")).to_be_visible()
    _shot(page, "ru-capture")

    # The save button is not wider than the phone, and no label pushes the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("button", name="EN", exact=True).click()
    expect(form.get_by_role("button", name="Save lead")).to_be_visible()
    expect(form.get_by_label("First name")).to_be_visible()
    expect(form.locator("#f-country option:checked")).to_have_text("Germany")
    assert page.locator("html").get_attribute("lang") == "en"

    page.reload()
    wait_ready(page)
    expect(page.locator("#capture-form").get_by_role("button", name="Save lead")).to_be_visible()
    expect(page.get_by_role("button", name="EN", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("navigation").get_by_role("button", name="Today")).to_be_visible()
    assert unexpected_console(page.console_errors) == []


def test_an_offline_reload_still_shows_russian_and_counts_in_russian(ru_phone, network, booth):
    page = ru_phone
    _sign_in_ru(page, booth)
    wait_for_service_worker(page)
    cached = page.evaluate(
        """async () => {
            const keys = [];
            for (const name of await caches.keys()) {
                for (const r of await (await caches.open(name)).keys()) keys.push(new URL(r.url).pathname);
            }
            return keys;
        }"""
    )
    assert {"/app/i18n/ru.json", "/app/i18n/en.json", "/app/js/i18n.js"} <= set(cached)

    network.offline(page.context)
    page.reload()
    wait_ready(page)
    expect(
        page.locator("#capture-form").get_by_role("button", name="Сохранить лид")
    ).to_be_visible()
    expect(page.locator("label[for=f-email]")).to_have_text("Электронная почта")

    for n in range(1, 3):
        _capture_ru(page, n)
    expect_unsynced(page, 2)
    badge = page.get_by_test_id("unsynced-count")
    expect(badge).to_have_attribute("aria-label", "2 лида не отправлены")
    page.get_by_role("navigation").get_by_role("button", name="Сегодня").click()
    expect(page.locator("#today-list li")).to_have_count(2)
    expect(page.locator("#today-list")).to_contain_text("Сохранён на телефоне")
    expect(page.locator("#sync-status")).to_contain_text("Ещё не отправлено")
    _shot(page, "ru-today-offline")

    network.online(page.context)
    page.get_by_role("button", name="Отправить сейчас").click()
    expect_unsynced(page, 0)
    expect(page.locator("#sync-status")).to_contain_text("Все лиды на сервере: 2")
    # Where each lead went, and why, in Russian (the server keeps the English reason).
    reasons = page.locator("#today-list li.state-routed .reason")
    expect(reasons).to_have_count(2)
    for reason in reasons.all():
        expect(reason).to_contain_text(re.compile(r"ближайший офис к месту мероприятия: .+ км"))
        expect(reason).not_to_contain_text("nearest")
    _shot(page, "ru-today-synced")


def test_a_phone_switched_to_english_gets_routing_reasons_in_english(ru_phone, booth):
    """The browser prefers Russian, but the app was switched to English: the sync asks the
    server for English words, and the Today list does not mix languages."""
    page = ru_phone
    _sign_in_ru(page, booth)
    page.get_by_role("button", name="EN", exact=True).click()
    capture(page, 1)
    expect_unsynced(page, 0)
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    reason = page.locator("#today-list li.state-routed .reason")
    expect(reason).to_contain_text(re.compile(r"nearest office to the event venue: .+ km"))


def test_russian_plural_forms_and_number_formats(ru_phone, live_server):
    page = ru_phone
    page.goto("/app/")
    wait_ready(page)
    result = page.evaluate(
        """async () => {
            const i18n = await import('/app/js/i18n.js');
            await i18n.setLanguage('ru');
            const ru = [1, 2, 5, 11, 21, 22, 25].map((count) => i18n.t('app.unsent', { count }));
            const big = i18n.formatNumber(12345);
            await i18n.setLanguage('en');
            const en = [1, 2].map((count) => i18n.t('app.unsent', { count }));
            return { ru, big, en, missing: i18n.t('no.such.key') };
        }"""
    )
    assert result["ru"] == [
        "1 лид не отправлен",
        "2 лида не отправлены",
        "5 лидов не отправлены",
        "11 лидов не отправлены",
        "21 лид не отправлен",
        "22 лида не отправлены",
        "25 лидов не отправлены",
    ]
    assert result["big"].replace("\u00a0", " ") == "12 345"
    assert result["en"] == ["1 lead not yet sent", "2 leads not yet sent"]
    assert result["missing"] == "no.such.key"


def test_the_profile_language_wins_over_an_english_browser(page, booth):
    user = db.session.scalar(select(User).where(User.email == booth.email))
    user.language = "ru"
    db.session.commit()

    page.set_viewport_size({"width": 360, "height": 780})
    page.goto("/app/")
    wait_ready(page)
    signin = page.locator("#screen-signin")
    expect(signin.locator("label[for=signin-email]")).to_have_text("Email")
    signin.get_by_label("Email").fill(booth.email)
    signin.get_by_label("Password").fill(booth.password)
    signin.get_by_role("button", name="Sign in").click()
    page.locator("#screen-capture").wait_for(state="visible")
    expect(page.get_by_role("button", name="Сохранить лид")).to_be_visible()
    assert page.evaluate("fetch('/api/v1/me').then(r => r.json())")["user"]["language"] == "ru"


def test_the_visitor_form_speaks_russian_and_the_lead_carries_ru(browser, live_server, booth):
    context = _context(browser, live_server.url, "ru-RU")
    page = watch_console(context.new_page())
    try:
        page.goto(f"/v/{booth.visitor_token}")
        wait_ready(page)
        assert page.locator("html").get_attribute("lang") == "ru"
        expect(page.get_by_role("heading", name="Оставьте контакты")).to_be_visible()
        assert page.title() == "Оставьте контакты — LeadRelay"
        expect(page.locator("label[for=v-email]")).to_have_text("Электронная почта")
        expect(page.locator("#v-country option:checked")).to_have_text("Германия")
        page.get_by_role("button", name="Отправить").click()
        expect(page.locator("#v-email-error")).to_have_text("Введите адрес электронной почты.")
        expect(page.locator("#v-form-error")).to_have_text("Проверьте отмеченные поля.")
        _shot(page, "ru-visitor")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        page.get_by_label("Имя").fill("Ольга")
        page.get_by_label("Электронная почта").fill("olga@example.ru")
        page.get_by_role("radio", name=">10k").check()
        page.get_by_role("radio", name="Да").check()
        page.get_by_label("Я согласен(на), чтобы со мной связались").check()
        page.get_by_role("button", name="Отправить").click()
        expect(page.get_by_role("heading", name="Спасибо!")).to_be_visible()

        [lead] = server_leads(booth.event_id)
        assert lead.language == "ru"
        assert lead.answers == {"budget": ">10k", "demo": True}
        assert unexpected_console(page.console_errors) == []
    finally:
        context.close()


def test_a_visitor_can_switch_the_form_to_english(browser, live_server, booth):
    context = _context(browser, live_server.url, "ru-RU")
    page = context.new_page()
    try:
        page.goto(f"/v/{booth.visitor_token}")
        wait_ready(page)
        page.get_by_label("Имя").fill("Oleg")
        page.get_by_role("button", name="EN", exact=True).click()
        expect(page.get_by_role("heading", name="Leave your contact")).to_be_visible()
        expect(page.get_by_label("First name")).to_have_value("Oleg")  # typing survives
        expect(page.locator("#v-country option:checked")).to_have_text("Germany")
        page.get_by_label("Email").fill("oleg@example.org")
        page.get_by_label("I agree to be contacted").check()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
        [lead] = server_leads(booth.event_id)
        assert lead.language == "en"
    finally:
        context.close()


def test_booth_staff_reading_russian_send_the_visitors_mail_language_not_their_own(ru_phone, booth):
    """The mail language starts at the event's (English here), whatever the staff read;
    staff pick Russian for a visitor who asks, and the lead carries it."""
    page = ru_phone
    _sign_in_ru(page, booth)
    form = page.locator("#capture-form")
    choice = form.get_by_label("Письма посетителю — на языке")
    expect(choice).to_have_value("en")
    expect(choice.locator("option")).to_have_text(["English", "Русский"])
    form.get_by_label("Имя").fill("Ирина")
    form.get_by_label("Электронная почта").fill("irina.mail@example.org")
    choice.select_option("ru")
    form.get_by_role("button", name="Сохранить лид").click()
    expect(choice).to_have_value("en")  # the next visitor starts at the event's language
    form.get_by_label("Имя").fill("Hans")
    form.get_by_role("button", name="Сохранить лид").click()
    [irina, hans] = sorted(wait_for_server_leads(booth.event_id, 2), key=lambda lead: lead.id)
    assert (irina.first_name, irina.language) == ("Ирина", "ru")
    assert (hans.first_name, hans.language) == ("Hans", "en")
