"""No lead is lost or sent twice: offline captures, browser restarts, server crashes."""

from __future__ import annotations

from collections import Counter

from playwright.sync_api import expect

from tests.browser.helpers import (
    Network,
    capture,
    expect_unsynced,
    requires_browser,
    server_leads,
    sign_in,
    wait_for_service_worker,
    wait_ready,
)
from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, server_env

pytestmark = requires_browser


def _launch(playwright_instance, user_data_dir, url, offline=False):
    context = playwright_instance.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        base_url=url,
        viewport={"width": 360, "height": 780},
        offline=offline,
    )
    page = context.pages[0] if context.pages else context.new_page()
    return context, page


def test_twenty_leads_captured_offline_survive_a_browser_restart_and_arrive_once(
    playwright_instance, network, booth, tmp_path
):
    profile = tmp_path / "profile"
    context, page = _launch(playwright_instance, profile, network.url)
    sign_in(page, booth)
    wait_for_service_worker(page)
    network.offline(context)
    for n in range(20):
        capture(page, n)
    expect_unsynced(page, 20)
    context.close()

    # The phone was switched off and on again, still without network.
    context, page = _launch(playwright_instance, profile, network.url, offline=True)
    try:
        page.goto("/app/")
        wait_ready(page)
        assert page.locator("#screen-capture").is_visible()
        expect_unsynced(page, 20)
        assert server_leads(booth.event_id) == []

        network.online(context)  # the app syncs on "online"
        expect_unsynced(page, 0, timeout=30_000)
    finally:
        context.close()

    leads = server_leads(booth.event_id)
    assert len(leads) == 20
    assert sorted(lead.first_name for lead in leads) == sorted(f"Visitor{n}" for n in range(20))
    assert max(Counter(lead.client_id for lead in leads).values()) == 1


def test_a_server_killed_in_the_middle_of_a_sync_loses_and_doubles_no_lead(browser, booth, config):
    server = LiveServer(server_env(config)).start()
    network = Network(server.port)
    context = browser.new_context(base_url=network.url, viewport={"width": 360, "height": 780})
    page = context.new_page()
    try:
        sign_in(page, booth)
        wait_for_service_worker(page)
        network.offline(context)
        for n in range(20):
            capture(page, n, prefix="Crash")
        expect_unsynced(page, 20)

        # The server stores the batch, then dies before the phone hears back.
        network.crash_next_sync(on_crash=server.kill)
        network.online(context)  # the app syncs on "online"
        assert network.crashed.wait(20), "no sync reached the server"
        assert len(server_leads(booth.event_id)) == 20
        expect_unsynced(page, 20)  # unconfirmed, so still queued on the phone
        expect(page.get_by_role("button", name="Today")).to_be_visible()
        page.get_by_role("button", name="Today").click()
        expect(page.locator("#sync-status")).to_contain_text("Not sent yet")

        server.start()  # same port, same database; the app retries with backoff
        page.get_by_role("button", name="Send now").click()
        expect_unsynced(page, 0)
        expect(page.locator("#today-list li.state-routed")).to_have_count(20)
    finally:
        context.close()
        network.close()
        server.stop()

    leads = server_leads(booth.event_id)
    assert len(leads) == 20
    assert max(Counter(lead.client_id for lead in leads).values()) == 1


def test_the_network_back_while_another_sync_runs_sends_once_that_one_is_done(
    browser, network, booth
):
    """The "online" sync must not be dropped because another sync holds the lock.

    On a phone without Background Sync (Safari, Firefox; or Chromium's, once it has failed and
    waits minutes, as after the restart above) the page's "online" sync is the only prompt one.
    The other sync is a stand-in holding the lock for a second; in life it is the page's start-up
    try, begun offline, which fails after the network is back and leaves minutes of backoff.
    """
    context, page = _offline_phone_without_background_sync(browser, network, booth, "Late", 3)
    try:
        # What the other sync would leave: minutes of backoff, so no timed try comes sooner.
        _wait_minutes_before_the_next_timed_try(page)

        page.evaluate(
            """() => new Promise((held) => {
                navigator.locks.request('leadrelay-sync', () => new Promise((release) => {
                    window.releaseSyncLock = release;
                    held();
                }));
            })"""
        )
        network.online(context)  # the app syncs on "online" and finds the lock taken
        page.wait_for_timeout(1_000)
        page.evaluate("() => window.releaseSyncLock()")
        expect_unsynced(page, 0, timeout=10_000)
    finally:
        context.close()

    leads = server_leads(booth.event_id)
    assert sorted(lead.first_name for lead in leads) == [f"Late{n}" for n in range(3)]


def _offline_phone_without_background_sync(browser, network, booth, prefix: str, leads: int):
    """A signed-in phone (as Safari or Firefox: no Background Sync) that went offline and
    saved ``leads`` leads; the caller closes its context."""
    context = browser.new_context(base_url=network.url, viewport={"width": 360, "height": 780})
    context.add_init_script("delete ServiceWorkerRegistration.prototype.sync")
    page = context.new_page()
    try:
        sign_in(page, booth)
        wait_for_service_worker(page)
        network.offline(context)
        for n in range(leads):
            capture(page, n, prefix=prefix)
        expect_unsynced(page, leads)
    except BaseException:
        context.close()
        raise
    return context, page


def _wait_minutes_before_the_next_timed_try(page) -> None:
    page.evaluate(
        """async () => {
            const { kvGet, kvSet } = await import('/app/js/db.js');
            const sync = await kvGet('sync', {});
            await kvSet('sync', { ...sync, failures: 9, next_attempt_at: Date.now() + 300000 });
        }"""
    )


def test_leads_saved_offline_go_soon_after_the_venue_wi_fi_comes_back(browser, network, booth):
    """Saves made while the phone knows it is offline do not stretch the wait for the next try.

    A phone on the venue's Wi-Fi before the Wi-Fi reaches the internet: the "online" sync
    fails, and only the page's timer tries again (no Background Sync, as on Safari and
    Firefox). Each offline save used to count as a failure, so that timer waited five minutes.
    """
    context, page = _offline_phone_without_background_sync(browser, network, booth, "Morning", 8)
    try:
        context.set_offline(False)  # the phone has Wi-Fi; the Wi-Fi has no way out yet
        page.wait_for_timeout(2_000)  # the "online" sync fails
        expect_unsynced(page, 8)
        network.plug()
        # The next timed try: 20 s (±20 %) after one failure or 40 s after two (the "online"
        # sync and one that ran beside it), on the page's 20 s tick; not five minutes.
        expect_unsynced(page, 0, timeout=90_000)
    finally:
        context.close()

    leads = server_leads(booth.event_id)
    assert sorted(lead.first_name for lead in leads) == sorted(f"Morning{n}" for n in range(8))
