"""The phone speaks the reader's language: flags, statuses and offices in words, no codes."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.extensions import db
from backend.offices.models import Office
from tests.browser.helpers import expect_unsynced, requires_browser, wait_ready
from tests.live import watch_console

pytestmark = requires_browser


def test_a_russian_reader_sees_the_office_flags_and_reason_in_russian(browser, network, booth):
    for office in db.session.scalars(db.select(Office)):
        office.names = {"ru": {"BER": "Берлин", "MUC": "Мюнхен"}[office.code]}
    db.session.commit()
    context = browser.new_context(
        base_url=network.url, locale="ru-RU", viewport={"width": 390, "height": 844}
    )
    try:
        page = watch_console(context.new_page())
        page.goto("/app/")
        wait_ready(page)
        signin = page.locator("#screen-signin")
        signin.get_by_label("Электронная почта").fill(booth.email)
        signin.get_by_label("Пароль").fill(booth.password)
        signin.get_by_role("button", name="Войти").click()
        form = page.locator("#capture-form")
        form.get_by_label("Имя").fill("Боб")
        form.get_by_label("Электронная почта").fill("bob@acme")
        page.locator("#save-lead").click()
        expect(form.get_by_label("Имя")).to_have_value("")
        expect_unsynced(page, 0)
        page.get_by_role("navigation").get_by_role("button", name="Сегодня").click()
        card = page.locator("#today-list li").first
        expect(card).to_contain_text("Передан в офис Берлин")
        expect(card).to_contain_text("Проверьте: e-mail выглядит неверным")
        expect(card.locator(".reason")).to_contain_text("км")
        screen = page.locator("#screen-today")
        for code in ("bad_email", "Flagged", "office", "nearest", "location_unknown"):
            expect(screen).not_to_contain_text(code)
    finally:
        context.close()
