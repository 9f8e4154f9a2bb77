"""The admin offices page's "where would this lead go?" box, in real Chromium: the reason
reads in the admin's language."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from backend.extensions import db
from tests.conftest import requires_browser
from tests.factories import PASSWORD, make_office, make_user
from tests.live import watch_console


def _preview(browser, base_url: str, email: str):
    """Sign in (the browser prefers English), ask where a Novosibirsk lead would go, and
    return the page (its context closes with the test's ``finally``)."""
    context = browser.new_context(base_url=base_url, locale="en-US")
    page = watch_console(context.new_page())
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto("/admin/offices")
    return context, page


@requires_browser
def test_a_russian_admin_reads_the_preview_reason_in_russian(app, browser, live_server):
    make_office("MOW")
    make_office("NSK")
    make_user("admin", email="admin@example.com", language="ru")
    db.session.commit()
    context, page = _preview(browser, live_server.url, "admin@example.com")
    try:
        box = page.get_by_role("region", name="Куда попадёт этот лид?")
        box.get_by_label("Город").fill("Novosibirsk")
        box.get_by_label("Страна").fill("RU")
        box.get_by_role("button", name="Проверить маршрутизацию").click()
        result = page.locator("#route-result")
        expect(result).to_contain_text(re.compile(r"ближайший офис: Novosibirsk office, [\d,]+ км"))
        expect(result).to_contain_text("Novosibirsk office (ближайший)")  # the method, too
        expect(result).not_to_contain_text("nearest")
        assert page.console_errors == []
    finally:
        context.close()


@requires_browser
def test_an_english_admin_reads_the_preview_reason_in_english(app, browser, live_server):
    make_office("MOW")
    make_office("NSK")
    make_user("admin", email="admin@example.com")
    db.session.commit()
    context, page = _preview(browser, live_server.url, "admin@example.com")
    try:
        page.get_by_label("City").fill("Novosibirsk")
        page.get_by_label("Country").fill("RU")
        page.get_by_role("button", name="Preview routing").click()
        expect(page.locator("#route-result")).to_contain_text(
            re.compile(r"nearest office: Novosibirsk office, [\d.]+ km")
        )
    finally:
        context.close()


@requires_browser
def test_marketing_reaches_the_preview_from_its_menu_and_sees_the_venue_fallback(
    app, browser, live_server
):
    from tests.factories import make_event

    make_office("MOW")
    make_office("NSK")
    make_event(name="Sibir Expo", venue_city="Novosibirsk", venue_latitude=55.03,
               venue_longitude=82.92)  # fmt: skip
    make_user("marketing", email="marketing@example.com")
    db.session.commit()
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = watch_console(context.new_page())
    try:
        page.goto("/login")
        page.get_by_label("Email").fill("marketing@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Routing preview"
        ).click()
        box = page.get_by_role("region", name="Where would this lead go?")
        expect(box.get_by_label("Lead from the event")).to_have_value(re.compile(r"\d+"))
        box.get_by_label("City").fill("Nowhere-upon-Sea")
        box.get_by_role("button", name="Preview routing").click()
        result = page.locator("#route-result")
        expect(result).to_contain_text("Novosibirsk office")
        expect(result).to_contain_text("nearest office to the event venue")
        expect(result).to_contain_text("location unknown")
        assert page.console_errors == []
    finally:
        context.close()
