"""Rate limits (Flask-Limiter) on the same Redis as the queues: 429 with Retry-After."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address, headers_enabled=True)


def storage_uri(app: Flask) -> str:
    url = app.config.get("REDIS_URL")
    if url:
        # limits names the unix-socket scheme differently from redis-py.
        return "redis+unix://" + url[len("unix://") :] if url.startswith("unix://") else url
    from backend.redis_conn import _embedded_socket

    return "redis+unix://" + _embedded_socket(app.config["EMBEDDED_REDIS_PATH"])


def init_ratelimit(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    if app.config.get("RATELIMIT_ENABLED", True):
        app.config["RATELIMIT_STORAGE_URI"] = storage_uri(app)
        # Capture must keep working if Redis is down: limits then simply do not apply.
        app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    else:
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    limiter.init_app(app)


def limit(scope: str, *, per_minute: int):
    """Limit a view to ``per_minute`` calls per client address."""
    return limiter.limit(f"{per_minute}/minute", scope=scope)
