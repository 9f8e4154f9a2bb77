"""Absolute links that leave the browser (mails, QR codes, webhooks, Telegram)."""

from flask import current_app


def public_url(path: str) -> str:
    """The absolute URL of ``path`` on the site's public address."""
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:8000"
    return base.rstrip("/") + "/" + path.lstrip("/")
