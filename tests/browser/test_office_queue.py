"""The office workspace in real Chromium: sign in, a new lead appears, work it to a win."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.leads.models import Lead
from backend.transaction import commit
from tests.browser.helpers import seed_office_queue
from tests.conftest import requires_browser
from tests.factories import PASSWORD

POLL_TIMEOUT = 25_000  # the queue polls every 10 s


def _sign_in(page, email):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/office$"))


def _capture(staff, event, **fields):
    payload = {"client_id": str(uuid.uuid4()), "city": "Moscow", "country": "RU",
               "rating": "hot", "consent": {"contact": True}, **fields}  # fmt: skip
    [result] = capture_batch([payload], user=staff, event_id=event.id)
    commit()  # as the capture request does: the server (another process) sees it
    assert result.lead is not None, result.errors
    return result.lead


@requires_browser
def test_a_rep_sees_a_new_lead_arrive_without_reloading_and_works_it_to_a_win(
    app, page, artifacts_dir
):
    rep, staff, event = seed_office_queue()
    missing = []
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    _sign_in(page, rep.email)
    expect(page.get_by_role("link", name="Early Bird")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    lead = _capture(staff, event, first_name="Nina", last_name="Novak", company="Novak LLC",
                    phone="+7 495 123-45-67", email="nina@example.com")  # fmt: skip

    row = page.locator(f'tr[data-lead-id="{lead.id}"]')
    expect(row).to_be_visible(timeout=POLL_TIMEOUT)
    expect(row).to_contain_text("Nina Novak")
    expect(row).to_contain_text("Hot")
    expect(page.locator("#queue-news")).to_contain_text("1 new lead")
    assert page.evaluate("window.__notReloaded") is True
    # Most urgent first: the hot newcomer sits above the warm lead.
    expect(page.locator("#queue tbody tr").first).to_contain_text("Nina Novak")
    page.screenshot(path=str(artifacts_dir / "office-queue-new-lead.png"), full_page=True)

    row.get_by_role("link", name="Nina Novak").click()
    expect(page.locator("#lead-name")).to_have_text("Nina Novak")
    expect(page.get_by_role("link", name="+74951234567")).to_have_attribute(
        "href", "tel:+74951234567"
    )
    expect(page.locator("#brief")).to_contain_text("20% off the first year")

    page.get_by_label("Kind").select_option("call")
    page.get_by_label("Outcome").fill("reached, wants an offer")
    page.get_by_role("button", name="Log touch").click()
    expect(page.locator(".flash")).to_contain_text("Call logged.")
    expect(page.locator("#touches")).to_contain_text("reached, wants an offer")
    expect(page.locator("#lead-status")).to_have_text("Contacted")

    page.get_by_label("New status").select_option("qualified")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#lead-status")).to_have_text("Qualified")

    page.get_by_label("New status").select_option("won")
    page.get_by_label("Deal value (when won)").fill("5000")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#lead-status")).to_have_text("Won")
    expect(page.locator(".ws-won")).to_contain_text("€5,000.00")
    page.screenshot(path=str(artifacts_dir / "office-lead-won.png"), full_page=True)

    db.session.expire_all()
    stored = db.session.get(Lead, lead.id)
    assert stored.status == "won" and stored.deal_value == 5000
    assert stored.first_touch_at is not None
    assert missing == []
    assert page.console_errors == []


@requires_browser
def test_a_lead_named_script_renders_as_text_in_the_queue_and_on_its_page(app, page):
    rep, staff, event = seed_office_queue()
    evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    _capture(staff, event, first_name=evil, company="<b>bold</b>")
    _sign_in(page, rep.email)

    expect(page.locator("#queue")).to_contain_text("<script>window.__pwned = 1</script>")
    # The same name arriving through the polling script is text too.
    polled = _capture(staff, event, first_name="<script>window.__pwned = 3</script>",
                      email="other@example.com")  # fmt: skip
    row = page.locator(f'tr[data-lead-id="{polled.id}"]')
    expect(row).to_contain_text("<script>window.__pwned = 3</script>", timeout=POLL_TIMEOUT)

    row.get_by_role("link").first.click()
    expect(page.locator("#lead-name")).to_have_text("<script>window.__pwned = 3</script>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#queue img, main b").count() == 0
    assert page.console_errors == []
