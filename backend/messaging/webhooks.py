"""Webhook targets and signing: where webhooks may go, the Standard Webhooks signature,
the global webhook admins set in the app, and the admin's "send a test".

Signing follows https://www.standardwebhooks.com: ``webhook-id`` (the message key, the
same on every retry), ``webhook-timestamp`` (seconds) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``), so a receiver can refuse
forgeries and replays. A ``whsec_…`` secret is base64, as the scheme's libraries expect;
any other secret is used as its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.request
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext
from standardwebhooks import Webhook

from backend.admin.models import SiteSetting
from backend.audit.services import record
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.offices.models import Office
from backend.process_cache import ProcessCache

FORMATS = ("json", "slack")
GLOBAL = "global"
WEBHOOK_KEY = "webhook"  # a SiteSetting: the global webhook an admin set, as JSON
TEST_TIMEOUT = 5


class TargetRefused(ValueError):
    """A webhook URL that is not http(s) or points into a private network."""


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form (``whsec_`` + base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _signer(secret: str) -> Webhook:
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


def signature_headers(message_id: str, body: bytes, secret: str | None, at: datetime) -> dict:
    """The three Standard Webhooks headers (no signature without a secret)."""
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp()))}
    if secret:
        headers["webhook-signature"] = _signer(secret).sign(message_id, at, body)
    return headers


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved
        or ip.is_multicast or ip.is_unspecified
    )  # fmt: skip


def check_target(url: str) -> None:
    """Raise TargetRefused unless ``url`` is http(s) to a public address; loopback,
    private and link-local addresses pass only with ``WEBHOOK_ALLOW_PRIVATE``."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(gettext("A webhook URL must start with http:// or https://."))
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE"):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise TargetRefused(
            gettext("The host %(host)s is not found.", host=parts.hostname)
        ) from None
    if any(_refused_address(info[4][0]) for info in infos):
        raise TargetRefused(
            gettext(
                "%(host)s is a loopback, private or link-local address: webhooks go to "
                "public addresses only.",
                host=parts.hostname,
            )
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead into the private network the target check keeps out.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST ``body`` to a checked target without following redirects; the HTTP status.
    Raises TargetRefused, urllib.error.HTTPError (non-2xx) or OSError."""
    check_target(url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with _opener.open(request, timeout=timeout) as response:  # noqa: S310 - checked above
        return response.status


# --- where webhooks go ---------------------------------------------------------------


def _global_webhook() -> dict:
    stored = db.session.get(SiteSetting, WEBHOOK_KEY)
    if stored is not None:
        return {"url": None, "secret": None, "format": "json", **json.loads(stored.value or "{}")}
    config = current_app.config
    return {
        "url": config.get("WEBHOOK_URL"),
        "secret": config.get("WEBHOOK_SECRET"),
        "format": config.get("WEBHOOK_FORMAT") or "json",
    }


_global_cache = ProcessCache("global_webhook", (SiteSetting,), _global_webhook)


def global_webhook() -> dict:
    """``{"url", "secret", "format"}`` of the global webhook: the admin's, else the
    environment's (``WEBHOOK_URL``, ``WEBHOOK_SECRET``, ``WEBHOOK_FORMAT``)."""
    return _global_cache.get()


def save_webhook(scope: str, url: str, fmt: str, *, rotate_secret: bool = False) -> dict:
    """Set the global webhook (``scope`` "global") or an office's (its code). A blank URL
    turns it off. A new target gets a new secret. Raises ApiError(422) for a refused
    target or format, (404) for an unknown office."""
    url = (url or "").strip()
    if fmt not in FORMATS:
        raise ApiError(422, "invalid", gettext("The format must be json or slack."))
    if url:
        try:
            check_target(url)
        except TargetRefused as exc:
            raise ApiError(422, "webhook_target", str(exc)) from None
    current = webhook_settings(scope)
    secret = current["secret"]
    if url and (rotate_secret or not secret or url != current["url"]):
        secret = new_secret()
    value = {"url": url or None, "secret": secret if url else None, "format": fmt}
    if scope == GLOBAL:
        stored = db.session.get(SiteSetting, WEBHOOK_KEY) or SiteSetting(key=WEBHOOK_KEY)
        stored.value, stored.source = json.dumps(value), "admin"
        db.session.add(stored)
    else:
        office = _office(scope)
        office.webhook_url, office.webhook_secret, office.webhook_format = (
            value["url"], value["secret"], fmt,
        )  # fmt: skip
    record("webhook.saved", detail={"scope": scope, "url": url, "format": fmt})
    db.session.flush()
    return value


def _office(code: str) -> Office:
    office = db.session.scalar(db.select(Office).where(Office.code == code))
    if office is None:
        raise ApiError(404, "not_found", f"no office {code}")
    return office


def webhook_settings(scope: str) -> dict:
    if scope == GLOBAL:
        return global_webhook()
    office = _office(scope)
    return {
        "url": office.webhook_url,
        "secret": office.webhook_secret,
        "format": office.webhook_format or "json",
    }


def send_test(scope: str) -> int:
    """POST a signed ``webhook.test`` to the scope's target now; the receiver's HTTP
    status (any, 4xx and 5xx included). Raises ApiError(422) when no URL is set or the
    target is refused, and OSError when nothing answers."""
    settings = webhook_settings(scope)
    if not settings["url"]:
        raise ApiError(422, "no_webhook", gettext("Set a webhook URL first."))
    at = utcnow()
    data = {"event": "webhook.test", "at": at.isoformat(), "scope": scope}
    if settings["format"] == "slack":
        data = {"text": "LeadRelay: this webhook works."}
    body = json.dumps(data, separators=(",", ":")).encode()
    message_id = f"webhook:test:{scope}:{secrets.token_hex(6)}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "LeadRelay-Webhook/1",
        "X-LeadRelay-Event": "webhook.test",
        **signature_headers(message_id, body, settings["secret"], at),
    }
    try:
        status = post_json(settings["url"], body, headers, TEST_TIMEOUT)
    except TargetRefused as exc:
        raise ApiError(422, "webhook_target", str(exc)) from None
    except urllib.error.HTTPError as exc:
        status = exc.code
    record("webhook.test", detail={"scope": scope, "status": status})
    return status
