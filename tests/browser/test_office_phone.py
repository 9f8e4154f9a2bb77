"""The office on a phone and for everyone: Chromium at 390 px, and axe-core in both languages.

axe-core (``tests/vendor/axe-core``, tests only) is injected into each page; no page may
have a serious or critical violation.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead
from backend.messaging.models import Message
from tests.browser.helpers import seed_office_queue
from tests.conftest import requires_browser
from tests.factories import PASSWORD, make_user
from tests.reports.conftest import hand_event  # noqa: F401 - the seeded event

AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"
PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


def _sign_in(context, user):
    """Sign in through the API (the context's Accept-Language picks the pages' language)."""
    response = context.request.post(
        "/api/v1/auth/login", data=json.dumps({"email": user.email, "password": PASSWORD}),
        headers={"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"},
    )  # fmt: skip
    assert response.ok, response.text()


def _lead_with_long_mail(office_id: int, event_id: int, phone: str) -> Lead:
    now = utcnow()
    lead = Lead(client_id=uuid.uuid4(), event_id=event_id, first_name="Konstantin",
                last_name="Konstantinopolsky-Nizhegorodsky", company="Very Long Company Name LLC",
                email="konstantin.konstantinopolsky@very-long-company-name.example.com",
                phone=phone, phone_normalized=phone, rating="hot", office_id=office_id,
                routed_at=now, received_at=now, captured_at=now)  # fmt: skip
    db.session.add(lead)
    db.session.flush()
    db.session.add(Message(key=f"autoresponder:lead:{lead.id}", kind="autoresponder",
                           lead_id=lead.id, recipient=lead.email, subject="Thanks",
                           body_text="Unsubscribe: http://localhost:8000/u/" + "x" * 160,
                           status="sent"))  # fmt: skip
    db.session.commit()
    return lead


# For each form button that follows a visible field: the space between the two, in px.
_GAPS_ABOVE_BUTTONS = """() => Object.fromEntries(
  [...document.querySelectorAll("form button")]
    .filter(b => { const f = b.previousElementSibling;
                   return f && f.matches("input:not([type=hidden]), select, textarea"); })
    .map(b => [b.textContent.trim(),
               b.getBoundingClientRect().top
               - b.previousElementSibling.getBoundingClientRect().bottom]))"""


def _document_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@requires_browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_queue_and_lead_page_fit_a_390_px_phone_with_big_contact_buttons(
    app, browser, live_server, language, artifacts_dir
):
    rep, _staff, event = seed_office_queue()
    mobile = _lead_with_long_mail(rep.office_id, event.id, "+79161234567")
    landline = _lead_with_long_mail(rep.office_id, event.id, "+74951234567")
    context = browser.new_context(
        base_url=live_server.url, extra_http_headers={"Accept-Language": language}, **PHONE
    )
    _sign_in(context, rep)
    page = context.new_page()

    page.goto("/office")
    assert page.get_attribute("html", "lang") == language
    assert _document_width(page) <= 390
    page.screenshot(path=str(artifacts_dir / f"phone-queue-{language}.png"), full_page=True)

    page.goto(f"/office/leads/{mobile.id}")
    assert _document_width(page) <= 390
    buttons = page.locator("#contact-actions a")
    hrefs = [buttons.nth(i).get_attribute("href") for i in range(buttons.count())]
    assert hrefs == ["tel:+79161234567", f"mailto:{mobile.email}",
                     "https://wa.me/79161234567", "https://t.me/+79161234567"]  # fmt: skip
    box = buttons.first.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 120
    # "Save status", "Hand over", "Save contact data" touched the field above them.
    gaps = page.evaluate(_GAPS_ABOVE_BUTTONS)
    assert gaps and all(gap >= 8 for gap in gaps.values()), gaps
    page.screenshot(path=str(artifacts_dir / f"phone-lead-{language}.png"), full_page=True)

    page.goto(f"/office/leads/{landline.id}")
    kinds = page.locator("#contact-actions a").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["call", "mail"]  # no messenger for a landline
    context.close()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"]  # it really ran
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@requires_browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_office_and_marketing_pages_have_no_serious_accessibility_violations(
    app,
    browser,
    live_server,
    hand_event,  # noqa: F811
    language,
):
    rep = hand_event.reps[0]
    lead = _lead_with_long_mail(rep.office_id, hand_event.event.id, "+79161234567")
    marketing = make_user("marketing", email=f"axe-marketing-{language}@example.com")
    db.session.commit()
    found = {}
    for user, paths in (
        (rep, ["/office", f"/office/leads/{lead.id}"]),
        (marketing, ["/marketing", f"/events/{hand_event.event.id}/report", "/plan"]),
    ):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 1280, "height": 900},
            extra_http_headers={"Accept-Language": language},
            bypass_csp=True,  # axe is injected as a script the page itself never loads
        )
        _sign_in(context, user)
        page = context.new_page()
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, path
            assert page.get_attribute("html", "lang") == language
            violations = _axe(page)
            if violations:
                found[path] = violations
        context.close()

    assert found == {}
