"""Fixtures for the booth PWA's end-to-end tests (helpers live in ``helpers.py``).

The server (gunicorn, ``tests/live.py``), the browser and the clean database per test come
from ``tests/conftest.py``; these tests drive the real app in Debian's Chromium.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import Booth, seed_booth


@pytest.fixture
def booth(app) -> Booth:
    """Two offices, a Hannover event with questions, and a staff member on it (committed)."""
    return seed_booth()
