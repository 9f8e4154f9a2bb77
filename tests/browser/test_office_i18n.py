"""The office queue in Russian, in real Chromium: a browser that prefers Russian gets it."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from backend.leads.capture import capture_batch
from backend.transaction import commit
from tests.browser.helpers import seed_office_queue
from tests.conftest import requires_browser
from tests.factories import PASSWORD
from tests.live import watch_console

POLL_TIMEOUT = 25_000  # the queue polls every 10 s


@requires_browser
def test_a_rep_whose_browser_prefers_russian_works_the_queue_in_russian(
    app, browser, live_server, artifacts_dir
):
    rep, staff, event = seed_office_queue()
    context = browser.new_context(
        base_url=live_server.url, locale="ru-RU", viewport={"width": 1280, "height": 900}
    )
    page = watch_console(context.new_page())
    try:
        page.goto("/login")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        page.get_by_label("Электронная почта").fill(rep.email)
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page).to_have_url(re.compile(r"/office$"))

        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("очередь лидов"))
        expect(page.locator(".ws-head")).to_contain_text("1 лид ·")
        headers = page.locator("#queue thead th")
        expect(headers).to_have_text(
            ["Лид", "Мероприятие", "Оценка", "Возраст", "SLA", "Отметки", "Взял в работу"]
        )
        filters = page.get_by_role("form", name="Фильтры")
        expect(filters.get_by_label("Мероприятие")).to_contain_text("Все мероприятия")
        expect(filters.get_by_label("Оценка")).to_contain_text("Горячий")
        expect(filters.get_by_label("Статус")).to_contain_text("Квалифицирован")
        expect(filters.get_by_role("button", name="Применить")).to_be_visible()
        expect(page.get_by_role("link", name="Очередь")).to_be_visible()

        row = page.locator("#queue tbody tr").first
        expect(row).to_contain_text("Early Bird")
        expect(row).to_contain_text("Тёплый")
        expect(row).to_contain_text(re.compile(r"\d+ ч \d+ мин"))  # the lead's age
        expect(row).to_contain_text(re.compile("осталось|просрочен на|срок"))

        # A lead arriving while the page is open is added by the script, in Russian too.
        [result] = capture_batch(
            [{"client_id": str(uuid.uuid4()), "first_name": "Нина", "last_name": "Новак",
              "city": "Moscow", "country": "RU", "rating": "hot", "consent": {"contact": True}}],
            user=staff, event_id=event.id,
        )  # fmt: skip
        commit()  # as the capture request would
        fresh = page.locator(f'tr[data-lead-id="{result.lead.id}"]')
        expect(fresh).to_be_visible(timeout=POLL_TIMEOUT)
        expect(fresh).to_contain_text("Горячий")
        expect(fresh).to_contain_text("Новый")
        expect(page.locator("#queue-news")).to_have_text("Поступил 1 новый лид — он вверху списка.")
        page.screenshot(path=str(artifacts_dir / "office-queue-ru.png"), full_page=True)
        assert page.console_errors == []
    finally:
        context.close()
