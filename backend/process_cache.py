"""Values read from the database and kept per process, for the capture's hot path.

Offices and their staff change a few times a year; leads arrive hundreds a second.
A ``ProcessCache`` keeps one value per app and rebuilds it when one of its models
changes through the ORM in this process (seen at once), or after the app's
``PROCESS_CACHE_SECONDS`` (a change made by another process, or by a bulk UPDATE that
bypasses the ORM).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import current_app
from sqlalchemy import event

T = TypeVar("T")
_STORE = "leadrelay.process_cache"


class ProcessCache(Generic[T]):
    def __init__(self, name: str, models: tuple[type, ...], build: Callable[[], T]):
        self.name = name
        self.build = build
        self.generation = 0
        for model in models:
            for change in ("after_insert", "after_update", "after_delete"):
                event.listen(model, change, self._changed)

    def _changed(self, mapper, connection, target) -> None:
        self.generation += 1

    def get(self) -> T:
        """The cached value, rebuilt first when it is stale."""
        app = current_app._get_current_object()  # one look-up of the proxy, not two
        store = app.extensions.get(_STORE)
        if store is None:
            store = app.extensions.setdefault(_STORE, {})
        entry = store.get(self.name)
        now = time.monotonic()
        if (
            entry is None
            or entry[0] != self.generation
            or now - entry[1] >= app.config["PROCESS_CACHE_SECONDS"]
        ):
            generation = self.generation
            entry = (generation, now, self.build())
            store[self.name] = entry
        return entry[2]
