"""The printed QR codes open on a phone: the A4 sheet and the SVG files, as Chromium draws
them, decode (zxing-cpp) to absolute URLs on the site's public address."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from backend.admin.models import SiteSetting
from backend.extensions import db
from tests.conftest import requires_browser
from tests.factories import PASSWORD, make_event, make_user

pytestmark = requires_browser


def _decode(png: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_printed_sheet_and_the_svg_files_decode_to_absolute_urls(app, page, live_server):
    user = make_user("marketing", email="qr-marketing@example.com")
    event = make_event(name="QR Expo")
    db.session.commit()
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/marketing")
    # The first marketing visit told the server its address (it has no PUBLIC_BASE_URL).
    db.session.rollback()
    base = db.session.get(SiteSetting, "site_url").value
    assert base == live_server.url.rstrip("/")
    visitor, join = f"{base}/v/{event.visitor_token}", f"{base}/app/?join={event.join_token}"

    page.emulate_media(media="print")
    page.goto(f"/events/{event.id}/qr?print=1")
    cards = page.locator(".qr-card img")
    assert cards.count() == 2
    found = [text for i in range(2) for text in _decode(cards.nth(i).screenshot())]
    assert found == [visitor, join]
    assert visitor in page.locator(".qr-sheet").inner_text()

    page.emulate_media(media="screen")
    for kind, url in (("visitor", visitor), ("join", join)):
        page.goto(f"/events/{event.id}/qr/{kind}.svg")
        assert _decode(page.screenshot()) == [url]
