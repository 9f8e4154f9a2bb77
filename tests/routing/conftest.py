"""Plain fixtures for the routing engine tests (no app, no database)."""

from __future__ import annotations

import pytest

from backend.routing.gazetteer import Gazetteer, get_gazetteer


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    """The shared gazetteer (the first run builds its cache file, a few seconds)."""
    return get_gazetteer()
