"""Rate limits (Flask-Limiter) on the same Redis as the queues: 429 with Retry-After."""

from __future__ import annotations

from flask import Flask, request
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


SIGN_IN_PER_MINUTE = 10


def _sign_in_account() -> str:
    """The account a sign-in names (JSON or form), as the key of its own limit."""
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email", "") if hasattr(data, "get") else ""
    return "account:" + str(email or "").strip().lower()[:320]


def sign_in_limits(view):
    """The one sign-in limit the API login and the web form share: ``SIGN_IN_PER_MINUTE``
    attempts per client address and, separately, per account, so neither a second door nor
    a second address adds guesses. Only POSTs count (the form page itself is free)."""
    per_minute = f"{SIGN_IN_PER_MINUTE}/minute"
    view = limiter.shared_limit(per_minute, scope="login", methods=["POST"])(view)
    return limiter.shared_limit(
        per_minute, scope="login_account", key_func=_sign_in_account, methods=["POST"]
    )(view)
