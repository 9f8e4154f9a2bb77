"""Real Chromium: marketing signs in and the dashboard draws its charts without errors."""

from __future__ import annotations

from backend.extensions import db
from tests.conftest import requires_browser
from tests.factories import PASSWORD, make_user
from tests.reports.conftest import eur_reporting, hand_event  # noqa: F401 - the seeded event, reported in EUR


@requires_browser
def test_the_marketing_dashboard_renders_its_charts_with_no_console_errors(
    hand_event,  # noqa: F811
    page,
    artifacts_dir,
):
    user = make_user("marketing", email="browser-marketing@example.com")
    db.session.commit()

    # The shared layout links no icon, so Chromium probes /favicon.ico; that 404 is
    # not the dashboard's. Every other failed request is.
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    missing = []
    page.on("response", lambda r: r.status >= 400 and missing.append(r.url))
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/marketing")

    charts = page.locator("svg.chart")
    assert charts.count() == 4
    assert page.locator("svg.chart rect").count() > 10
    assert page.get_by_role("cell", name="Hand Expo").count() == 1
    assert "€24,500.00" in page.locator(".kpi").inner_text()

    # The events table sorts when a heading is clicked.
    page.locator("#events th button", has_text="Leads").click()
    assert page.locator("#events th[aria-sort]").count() == 1

    page.screenshot(path=str(artifacts_dir / "marketing-dashboard.png"), full_page=True)
    assert missing == []
    assert page.console_errors == []
