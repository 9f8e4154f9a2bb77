"""A badge that carries only an id: the phone fills the visitor from the organiser's list,
offline; an id not on the list still saves and is matched when a list with it arrives."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.attendees.models import Attendee
from backend.attendees.services import store_attendees
from backend.extensions import db
from tests.browser.badges import Badge, badge_png
from tests.browser.helpers import (
    expect_unsynced,
    requires_browser,
    server_leads,
    sign_in,
    wait_for_service_worker,
    wait_ready,
)

pytestmark = requires_browser

LISTED = Badge("listed", "Code128", "HM26-004211")
URL = Badge("url", "QRCode", "https://reg.expo.example/a/hm26-004212?utm_source=badge")
UNLISTED = Badge("unlisted", "QRCode", "HM26-009999")


def test_an_id_badge_fills_the_form_from_the_attendee_list_offline(
    booth_phone, network, booth, tmp_path
):
    for badge_id, first, last, company in (
        ("HM26-004211", "Jana", "Schmidt", "Nordwind GmbH"),
        ("HM26-004212", "Пётр", "Иванов", "ООО Сибирь"),
    ):
        db.session.add(
            Attendee(event_id=booth.event_id, badge_id=badge_id, badge_key=badge_id,
                     first_name=first, last_name=last, company=company,
                     email=f"{first.lower()}@example.org", country="DE")
        )  # fmt: skip
    db.session.commit()
    page = booth_phone
    sign_in(page, booth)
    wait_for_service_worker(page)
    page.wait_for_timeout(500)  # the list is fetched in the background on opening the event
    network.offline(page.context)
    page.reload()
    wait_ready(page)

    form = page.locator("#capture-form")
    page.locator("#photo-input").set_input_files(badge_png(LISTED, tmp_path))
    expect(form.get_by_label("First name")).to_have_value("Jana")
    expect(form.get_by_label("Last name")).to_have_value("Schmidt")
    expect(form.get_by_label("Company")).to_have_value("Nordwind GmbH")
    expect(page.locator("#badge-note")).to_contain_text("organiser’s list (badge HM26-004211)")
    page.locator("#action-bar").get_by_role("radio", name="Hot").check()
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")

    page.locator("#photo-input").set_input_files(badge_png(URL, tmp_path))
    expect(form.get_by_label("Last name")).to_have_value("Иванов")  # the id matched in any case
    page.locator("#save-lead").click()
    expect(form.get_by_label("First name")).to_have_value("")

    page.locator("#photo-input").set_input_files(badge_png(UNLISTED, tmp_path))
    expect(page.locator("#badge-note")).to_contain_text(
        "Badge HM26-009999 is not in the attendee list on this phone"
    )
    page.locator("#save-lead").click()
    expect_unsynced(page, 3)

    network.online(page.context)
    page.get_by_role("navigation").get_by_role("button", name="Today").click()
    page.get_by_role("button", name="Send now").click()
    expect_unsynced(page, 0)
    leads = {lead.badge_id: lead for lead in server_leads(booth.event_id)}
    assert leads["HM26-004211"].first_name == "Jana"
    assert leads["HM26-004211"].rating == "hot"
    assert leads["hm26-004212"].last_name == "Иванов"
    unlisted = leads["HM26-009999"]
    assert (unlisted.first_name, unlisted.badge_raw) == ("", "HM26-009999")

    # The organiser's list arrives after the show: the saved id is filled.
    store_attendees(
        booth.event_id,
        [{"badge_id": "HM26-009999", "first_name": "Late", "last_name": "Comer", "company": "X"}],
    )
    db.session.commit()
    assert {lead.badge_id: lead for lead in server_leads(booth.event_id)}[
        "HM26-009999"
    ].first_name == "Late"
