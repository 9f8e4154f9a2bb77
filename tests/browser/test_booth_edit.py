"""Fixing a saved lead on the phone: before sync the queued lead changes, after sync a
correction is queued and applied in order; Today can be searched and filtered."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from backend.extensions import db
from backend.leads.models import Touch
from tests.browser.helpers import (
    capture,
    expect_unsynced,
    requires_browser,
    server_leads,
    sign_in,
    wait_for_server_leads,
)

pytestmark = requires_browser


def _save_bob(page, email="bob@acme"):
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill("Bob")
    form.get_by_label("Company").fill("Acme")
    form.get_by_label("Email").fill(email)
    form.get_by_role("radio", name="Cold").check()
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")


def _open(page, name):
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    page.get_by_role("button", name=f"Open {name} to correct").click()
    expect(page.locator("#edit-bar")).to_be_visible()


def _wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        leads = server_leads()
        if predicate(leads) or time.monotonic() > deadline:
            return leads
        time.sleep(0.2)


def test_a_lead_corrected_before_sync_goes_out_corrected_and_once(booth_phone, network, booth):
    page = booth_phone
    sign_in(page, booth)
    network.offline(page.context)
    _save_bob(page)
    _open(page, "Bob")
    form = page.locator("#capture-form")
    expect(form.get_by_label("Email")).to_have_value("bob@acme")
    expect(form.get_by_role("radio", name="Cold")).to_be_checked()
    form.get_by_label("Email").fill("bob@acme.com")
    form.get_by_role("radio", name="Hot").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#screen-today")).to_be_visible()
    expect_unsynced(page, 1)  # still one lead, corrected in place
    expect(page.locator("#today-list li")).to_have_count(1)

    network.online(page.context)
    page.get_by_role("button", name="Send now").click()
    expect_unsynced(page, 0)
    [lead] = wait_for_server_leads(booth.event_id, 1)
    assert (lead.email, lead.rating) == ("bob@acme.com", "hot")
    assert "bad_email" not in lead.flags


def test_a_synced_lead_is_corrected_on_the_server(booth_phone, network, booth):
    page = booth_phone
    sign_in(page, booth)
    _save_bob(page)
    expect_unsynced(page, 0)
    [lead] = wait_for_server_leads(booth.event_id, 1)
    assert "bad_email" in lead.flags

    # Offline, two corrections in a row: they queue and apply in order.
    network.offline(page.context)
    _open(page, "Bob")
    page.locator("#capture-form").get_by_label("Email").fill("bob@acme.org")
    page.get_by_role("button", name="Save changes").click()
    _open(page, "Bob")
    form = page.locator("#capture-form")
    expect(form.get_by_label("Email")).to_have_value("bob@acme.org")
    form.get_by_label("Email").fill("bob@acme.com")
    form.get_by_label("Notes").fill("Call after the show")
    page.get_by_role("button", name="Save changes").click()
    card = page.locator("#today-list li").first
    expect(card).to_contain_text("Correction saved on this phone · sends when online")
    expect_unsynced(page, 2)

    network.online(page.context)
    page.get_by_role("button", name="Send now").click()
    expect_unsynced(page, 0)
    expect(card).to_contain_text("Corrected")
    [lead] = _wait_for(lambda leads: leads and leads[0].notes == "Call after the show")
    assert (lead.email, lead.notes) == ("bob@acme.com", "Call after the show")
    assert lead.original["email"] == "bob@acme"
    assert "bad_email" not in lead.flags


def test_after_the_office_touched_it_a_correction_reaches_the_office_as_a_note(booth_phone, booth):
    page = booth_phone
    sign_in(page, booth)
    _save_bob(page)
    expect_unsynced(page, 0)
    [lead] = wait_for_server_leads(booth.event_id, 1)
    db.session.add(Touch(lead_id=lead.id, kind="call", at=lead.received_at))
    lead.first_touch_at = lead.received_at
    db.session.commit()

    _open(page, "Bob")
    page.locator("#capture-form").get_by_label("Email").fill("bob@acme.com")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#today-list li").first).to_contain_text(
        "Correction passed to the office as a note", timeout=20_000
    )
    db.session.rollback()
    note = db.session.scalar(db.select(Touch).where(Touch.kind == "note"))
    assert "bob@acme → bob@acme.com" in note.note
    assert server_leads(booth.event_id)[0].email == "bob@acme"


def test_today_finds_a_lead_by_name_company_or_email_and_filters_by_rating(
    booth_phone, network, booth
):
    page = booth_phone
    sign_in(page, booth)
    network.offline(page.context)
    capture(page, 1, prefix="Anna")  # warm
    _save_bob(page)  # cold
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    cards = page.locator("#today-list li")
    expect(cards).to_have_count(2)
    search = page.get_by_label("Search")
    search.fill("acme")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Bob")
    search.fill("anna1@example")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Anna1")
    search.fill("nobody")
    expect(cards).to_have_count(0)
    expect(page.locator("#today-nomatch")).to_be_visible()
    search.fill("")
    filters = page.locator("#today-rating")
    filters.get_by_role("radio", name="Cold").check()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Bob")
    filters.get_by_role("radio", name="All").check()
    expect(cards).to_have_count(2)
