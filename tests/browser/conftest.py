"""Fixtures for the booth PWA's end-to-end tests (helpers live in ``helpers.py``).

The server (gunicorn, ``tests/live.py``), the browser and the clean database per test come
from ``tests/conftest.py``; these tests drive the real app in Debian's Chromium.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import Booth, Network, seed_booth
from tests.live import watch_console


@pytest.fixture
def booth(app) -> Booth:
    """Two offices, a Hannover event with questions, and a staff member on it (committed)."""
    return seed_booth()


@pytest.fixture
def network(live_server):
    """A proxy in front of the live server that tests can unplug (see ``Network``)."""
    net = Network(live_server.port)
    yield net
    net.close()


@pytest.fixture
def phone(browser, network):
    """A 360 px wide browser context whose requests all go through ``network``."""
    context = browser.new_context(base_url=network.url, viewport={"width": 360, "height": 780})
    page = watch_console(context.new_page())
    yield page
    context.close()


@pytest.fixture
def booth_phone(browser, network):
    """The booth app's own phone: 390x844 with touch, behind the unpluggable ``network``."""
    context = browser.new_context(
        base_url=network.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = watch_console(context.new_page())
    yield page
    context.close()
