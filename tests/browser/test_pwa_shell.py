"""The booth app installs, registers its service worker and opens with no network."""

from __future__ import annotations

import io

from PIL import Image

from tests.browser.helpers import (
    capture,
    expect_unsynced,
    requires_browser,
    sign_in,
    unexpected_console,
    wait_for_service_worker,
    wait_ready,
)

pytestmark = requires_browser


def test_the_manifest_names_the_app_and_its_icons_are_real_pngs(page, live_server):
    response = page.request.get("/app/manifest.webmanifest")
    assert response.ok
    assert "manifest+json" in response.headers["content-type"]
    manifest = response.json()
    assert manifest["name"] == "LeadRelay"
    assert manifest["short_name"]
    assert manifest["start_url"] == "/app/"
    assert manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    sizes = {}
    for icon in manifest["icons"]:
        png = page.request.get(icon["src"])
        assert png.ok, icon["src"]
        image = Image.open(io.BytesIO(png.body()))
        assert image.format == "PNG"
        assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.setdefault(icon.get("purpose", "any"), set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert "512x512" in sizes["maskable"]


def test_the_page_registers_its_service_worker_and_logs_no_errors(page, booth):
    page.goto("/app/")
    wait_ready(page)
    viewport = page.locator("meta[name=viewport]").get_attribute("content")
    assert "width=device-width" in viewport
    assert page.locator("link[rel=manifest]").get_attribute("href") == "/app/manifest.webmanifest"
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope.endswith("/app/")
    caches = page.evaluate("caches.keys()")
    assert any(name.startswith("leadrelay-shell-v") for name in caches)

    sign_in(page, booth)
    capture(page, 1)
    expect_unsynced(page, 0)
    page.get_by_role("button", name="Today").click()
    page.locator("#today-list li").first.wait_for()
    assert unexpected_console(page.console_errors) == []


def test_the_app_shell_opens_offline_after_the_first_visit(phone, network, booth):
    page = phone
    sign_in(page, booth)
    wait_for_service_worker(page)

    network.offline(page.context)
    page.reload()
    wait_ready(page)
    assert page.locator("#screen-capture").is_visible()
    assert page.locator("#event-name").inner_text() == booth.event_name
    # The event's questions were cached too.
    assert page.get_by_role("radio", name=">10k").count() == 1

    capture(page, 1)
    expect_unsynced(page, 1)
    assert (
        page.get_by_test_id("unsynced-count").get_attribute("aria-label") == "1 lead not yet sent"
    )
    network.online(page.context)
    expect_unsynced(page, 0)
