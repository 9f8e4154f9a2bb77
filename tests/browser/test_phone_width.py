"""Managers' and marketing's pages fit a 390 px phone in both languages: the queue with
the team load (the manager's home page), the dashboard, the league and the event report."""

from __future__ import annotations

import json

import pytest

from backend.extensions import db
from tests.conftest import requires_browser
from tests.factories import PASSWORD, make_user
from tests.reports.conftest import hand_event  # noqa: F401 - the seeded event

PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


def _sign_in(context, user):
    response = context.request.post(
        "/api/v1/auth/login", data=json.dumps({"email": user.email, "password": PASSWORD}),
        headers={"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"},
    )  # fmt: skip
    assert response.ok, response.text()


def _widths(browser, live_server, language, user, paths) -> dict[str, int]:
    context = browser.new_context(
        base_url=live_server.url, extra_http_headers={"Accept-Language": language}, **PHONE
    )
    _sign_in(context, user)
    page = context.new_page()
    widths = {}
    for path in paths:
        assert page.goto(path).status == 200, path
        assert page.get_attribute("html", "lang") == language
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    return widths


@requires_browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_managers_queue_with_the_team_load_fits_a_phone(
    app,
    browser,
    live_server,
    hand_event,  # noqa: F811
    language,
):
    office = hand_event.office_a
    manager = make_user("office_manager", office, name="Mikhail Manager")
    hand_event.office_a.names = {"ru": "Москва"}
    db.session.commit()
    assert manager.office_id == office.id
    widths = _widths(browser, live_server, language, manager, ["/", "/office"])
    assert widths == {"/": 390, "/office": 390}


@requires_browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_marketing_pages_fit_a_phone(
    app,
    browser,
    live_server,
    hand_event,  # noqa: F811
    language,
):
    marketing = make_user("marketing", email=f"phone-marketing-{language}@example.com")
    db.session.commit()
    paths = ["/marketing", "/league", f"/events/{hand_event.event.id}/report", "/wins"]
    widths = _widths(browser, live_server, language, marketing, paths)
    assert widths == dict.fromkeys(paths, 390)


@requires_browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_wide_tables_caption_reads_whole_on_a_phone(
    app,
    browser,
    live_server,
    hand_event,  # noqa: F811
    language,
):
    # The dashboard's and the league's captions ran on under the edge of their sideways-
    # scrolling tables: "Нажмите на заголовок столбца, чтобы отсорти", cut mid-word.
    marketing = make_user("marketing", email=f"caption-marketing-{language}@example.com")
    db.session.commit()
    context = browser.new_context(
        base_url=live_server.url, extra_http_headers={"Accept-Language": language}, **PHONE
    )
    _sign_in(context, marketing)
    page = context.new_page()
    for path in ("/marketing", "/league"):
        assert page.goto(path).status == 200, path
        captions = page.evaluate(
            """() => [...document.querySelectorAll('.table-scroll caption')]
                .filter(c => !c.classList.contains('visually-hidden'))
                .map(c => {
                    const box = c.getBoundingClientRect();
                    const scroller = c.closest('.table-scroll');
                    scroller.scrollLeft = scroller.scrollWidth;  // read it scrolled, too
                    const after = c.getBoundingClientRect();
                    const frame = scroller.getBoundingClientRect();
                    return {text: c.textContent, wider: scroller.scrollWidth > scroller.clientWidth,
                            fits: box.left >= frame.left - 1 && box.right <= frame.right + 1
                                  && after.left >= frame.left - 1 && after.right <= frame.right + 1};
                })"""
        )
        assert captions, path
        assert any(c["wider"] for c in captions), (path, captions)  # the case in question
        assert all(c["fits"] for c in captions), (path, captions)
    context.close()
