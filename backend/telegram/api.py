"""The few Bot API methods LeadRelay uses, over HTTPS with JSON bodies (as Telegram
documents: POST ``<api>/bot<token>/<method>``, ``application/json``; the reply is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"}``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from flask import current_app


class TelegramError(Exception):
    """Telegram refused or could not be reached; ``retry_after`` when it asked to wait."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def configured() -> bool:
    return bool(current_app.config.get("TELEGRAM_BOT_TOKEN"))


def call(method: str, payload: dict | None = None, timeout: float = 15) -> object:
    """Call ``method`` with ``payload``; returns its ``result``. Raises TelegramError."""
    token = current_app.config.get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise TelegramError("no TELEGRAM_BOT_TOKEN")
    base = current_app.config.get("TELEGRAM_API_URL") or "https://api.telegram.org"
    request = urllib.request.Request(
        f"{base.rstrip('/')}/bot{token}/{method}",
        data=json.dumps(payload or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            body = json.load(exc)
        except ValueError:
            raise TelegramError(f"{method}: HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:  # refused, timed out, not JSON
        raise TelegramError(f"{method}: {exc}") from exc
    if not body.get("ok"):
        retry = (body.get("parameters") or {}).get("retry_after")
        raise TelegramError(
            f"{method}: {body.get('error_code')} {body.get('description')}", retry_after=retry
        )
    return body.get("result")
