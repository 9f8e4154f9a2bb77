"""axe-core on every booth screen and the visitor form, in English and Russian: no serious
or critical violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend.extensions import db
from tests.browser.axe import serious_violations
from tests.browser.helpers import requires_browser, wait_ready
from tests.factories import make_event

pytestmark = requires_browser

WORDS = {
    "en": {"email": "Email", "password": "Password", "signin": "Sign in", "today": "Today",
           "first": "First name", "save": "Save lead", "scan": "Scan badge or card",
           "signout": "Sign out", "cancel": "Cancel", "stay": "Stay signed in"},
    "ru": {"email": "Электронная почта", "password": "Пароль", "signin": "Войти",
           "today": "Сегодня", "first": "Имя", "save": "Сохранить лид",
           "scan": "Сканировать бейдж или визитку", "signout": "Выйти", "cancel": "Отмена",
           "stay": "Остаться"},
}  # fmt: skip


@pytest.fixture(params=["en", "ru"])
def lang(request):
    return request.param


def _check(page, screen: str, found: dict, context: str = "document") -> None:
    found[screen] = serious_violations(page, context)


def test_every_booth_screen_has_no_serious_accessibility_violations(browser, network, booth, lang):
    w = WORDS[lang]
    context = browser.new_context(
        base_url=network.url,
        locale=lang,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    found: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.goto("/app/")
        wait_ready(page)
        _check(page, "sign-in", found)

        other = make_event(name="Expo Nord", venue_country="SE", questions=[])
        from backend.auth.models import User

        user = db.session.scalar(db.select(User).where(User.email == booth.email))
        user.events.append(other)
        db.session.commit()
        signin = page.locator("#screen-signin")
        signin.get_by_label(w["email"]).fill(booth.email)
        signin.get_by_label(w["password"]).fill(booth.password)
        signin.get_by_role("button", name=w["signin"]).click()
        expect(page.locator("#screen-events")).to_be_visible()
        _check(page, "events", found)
        page.locator("#events-list button").first.click()
        expect(page.locator("#screen-capture")).to_be_visible()
        _check(page, "capture", found)

        form = page.locator("#capture-form")
        form.get_by_label(w["first"]).fill("Bob")
        form.locator("#f-email").fill("bob@acme.example")
        page.locator("#save-lead").click()
        expect(form.get_by_label(w["first"])).to_have_value("")  # saved: the form is cleared
        form.locator("#f-email").fill("bob@acme.example")
        expect(page.locator("#duplicate")).to_be_visible()
        _check(page, "capture-duplicate", found)
        page.locator("#duplicate button").first.click()
        expect(page.locator("#edit-bar")).to_be_visible()
        _check(page, "capture-edit", found)
        page.locator("#edit-cancel").click()

        page.get_by_role("navigation").get_by_role("button", name=w["today"]).click()
        expect(page.locator("#today-list li")).to_have_count(1)
        _check(page, "today", found)

        page.get_by_role("navigation").locator("[data-screen=capture]").click()
        page.get_by_role("button", name=w["scan"]).click()
        expect(page.locator("#scanner")).to_be_visible()
        expect(page.locator("#scanner.no-camera")).to_be_visible()
        _check(page, "scanner", found)
        page.locator("#scanner-cancel").click()

        page.locator("#brief-button").click()
        expect(page.locator("#brief-dialog")).to_be_visible()
        _check(page, "brief", found)
        page.locator("#brief-close").click()

        network.offline(context)
        form.get_by_label(w["first"]).fill("Offline")
        page.locator("#save-lead").click()
        expect(form.get_by_label(w["first"])).to_have_value("")
        page.get_by_role("navigation").get_by_role("button", name=w["today"]).click()
        page.locator("#signout").click()
        expect(page.locator("#signout-dialog")).to_be_visible()
        _check(page, "sign-out", found)
        network.online(context)

        page.goto(f"/v/{booth.visitor_token}")
        page.locator("form").first.wait_for()
        _check(page, "visitor-form", found)
    finally:
        context.close()
    assert {screen: v for screen, v in found.items() if v} == {}
