"""Settings read from the environment once, each with a safe default for the embedded demo.

Every setting can also be passed to ``create_app(config)`` under the same name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def parse_bool(value: str | bool | None, default: bool = False) -> bool:
    """Turn an env string into a bool; raises ValueError on words that are neither."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_int(value: str | int | None, default: int) -> int:
    """Turn an env string into an int, falling back to ``default`` when unset."""
    if value is None or value == "":
        return default
    return int(value)


def _secret_key(instance_path: Path) -> str:
    """A key kept in the instance folder so sessions survive restarts of the demo."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def sqlalchemy_uri(database_url: str) -> str:
    """Map a plain ``postgres://`` / ``postgresql://`` URL onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def load_settings(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment, then apply ``overrides``."""
    overrides = dict(overrides or {})
    env = {**os.environ, **{k: v for k, v in overrides.items() if isinstance(v, str)}}
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)

    def get(name: str, default: Any = None) -> Any:
        return overrides.get(name, env.get(name, default))

    database_url = get("DATABASE_URL") or f"sqlite:///{folder / 'leadrelay.db'}"
    public_base_url = (get("PUBLIC_BASE_URL") or "").rstrip("/") or None
    # Behind HTTPS cookies are Secure unless said otherwise; local development (debug,
    # tests, plain-HTTP demo) keeps them usable over http://.
    local = parse_bool(get("TESTING"), False) or parse_bool(get("FLASK_DEBUG"), False)
    secure_cookies = parse_bool(
        get("SESSION_COOKIE_SECURE"),
        bool(public_base_url and public_base_url.startswith("https://")) and not local,
    )
    settings: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SQLALCHEMY_DATABASE_URI": get("SQLALCHEMY_DATABASE_URI") or sqlalchemy_uri(database_url),
        "REDIS_URL": get("REDIS_URL") or None,
        "EMBEDDED_REDIS_PATH": str(folder / "redis.db"),
        "SECRET_KEY": get("SECRET_KEY") or _secret_key(folder),
        "PUBLIC_BASE_URL": public_base_url,
        "SMTP_URL": get("SMTP_URL") or None,
        "MAIL_FROM": get("MAIL_FROM", "LeadRelay <leads@leadrelay.local>"),
        "MARKETING_EMAILS": get("MARKETING_EMAILS", ""),
        "DIGEST_EMAILS": get("DIGEST_EMAILS", ""),
        "WEBHOOK_URL": get("WEBHOOK_URL") or None,
        "WEBHOOK_SECRET": get("WEBHOOK_SECRET") or None,
        "WEBHOOK_FORMAT": get("WEBHOOK_FORMAT", "json"),
        # Webhooks to loopback, private and link-local addresses are refused unless set.
        "WEBHOOK_ALLOW_PRIVATE": parse_bool(get("WEBHOOK_ALLOW_PRIVATE"), False),
        # Telegram for reps: no token, no Telegram. Updates are read by long polling
        # (getUpdates) unless TELEGRAM_WEBHOOK is on (then setWebhook on the public URL).
        "TELEGRAM_BOT_TOKEN": get("TELEGRAM_BOT_TOKEN") or None,
        "TELEGRAM_API_URL": (get("TELEGRAM_API_URL") or "https://api.telegram.org").rstrip("/"),
        "TELEGRAM_WEBHOOK": parse_bool(get("TELEGRAM_WEBHOOK"), False),
        "DEFAULT_SLA_HOURS": parse_int(get("DEFAULT_SLA_HOURS"), 24),
        "STALE_AFTER_DAYS": parse_int(get("STALE_AFTER_DAYS"), 30),
        "RETENTION_MONTHS": parse_int(get("RETENTION_MONTHS"), 0),
        "MAX_CONTENT_LENGTH": parse_int(get("MAX_CONTENT_LENGTH"), 2 * 1024 * 1024),
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # "Keep me signed in" (and the booth app) lasts a month, not Flask-Login's year.
        "REMEMBER_COOKIE_DURATION": timedelta(days=parse_int(get("REMEMBER_DAYS"), 30)),
        "RATELIMIT_ENABLED": parse_bool(get("RATELIMIT_ENABLED"), True),
        # No ``pool_pre_ping`` (a round trip before every request's first statement): a
        # connection the server closed is found without one (backend/__init__.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # How long a process keeps offices, events and settings read for capture before it
        # reads them again (a change made in this process is seen at once; one made by
        # another worker process, within this many seconds). 0 reads them on every use.
        "PROCESS_CACHE_SECONDS": float(get("PROCESS_CACHE_SECONDS") or 5),
        "JSON_SORT_KEYS": False,
        "DEFAULT_LANGUAGE": get("DEFAULT_LANGUAGE", "en"),
        # Of the worker and cron (RQ logs a line per job at INFO); ``make run`` uses WARNING.
        "LOG_LEVEL": (get("LOG_LEVEL") or "INFO").upper(),
        # Reverse proxies in front of the app (docker-compose's Caddy: 1) whose
        # X-Forwarded-For/-Proto/-Host are believed; 0 believes none.
        "TRUSTED_PROXIES": parse_int(get("TRUSTED_PROXIES"), 0),
        # Reports sum money in this currency (an admin may choose another on /admin/rates).
        "REPORTING_CURRENCY": (get("REPORTING_CURRENCY") or "RUB").strip().upper(),
        # Business-card photos and voice notes; web and workers must share this folder.
        "ATTACHMENTS_DIR": get("ATTACHMENTS_DIR") or str(folder / "attachments"),
        "ATTACHMENT_MAX_BYTES": parse_int(get("ATTACHMENT_MAX_BYTES"), 10 * 1024 * 1024),
        "TESSDATA_DIR": get("TESSDATA_DIR", "/usr/share/tesseract-ocr/5/tessdata"),
    }
    settings.update(overrides)
    return settings
