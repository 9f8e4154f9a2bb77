"""Webhooks: where they may go, the Standard Webhooks signature, the global webhook admins
set in the app, the admin's "send a test", the rows and payloads of lead events, and
posting a webhook row (the delivery job's transport).

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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext
from standardwebhooks import Webhook

from backend.admin.models import SiteSetting
from backend.audit.services import record
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.models import Lead
from backend.links import public_url
from backend.messaging.models import RENDER, Message
from backend.offices.models import Office
from backend.process_cache import ProcessCache

if TYPE_CHECKING:
    from backend.messaging.recipients import OfficeContacts

FORMATS = ("json", "slack")
GLOBAL = "global"
WEBHOOK_KEY = "webhook"  # a SiteSetting: the global webhook an admin set, as JSON
TEST_TIMEOUT = 5
WEBHOOK_TIMEOUT = 10  # a delivery


class TargetRefused(ValueError):
    """A webhook URL that is not http(s) or points into a private network."""


class WebhookError(Exception):
    """The receiver did not answer 2xx, or the target is refused."""


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


# --- lead events: rows and payloads ------------------------------------------------


def lead_payload(
    event_name: str, lead: Lead, at: datetime | None = None, office: Office | None = None
) -> dict:
    office, event = office or lead.office, lead.event
    return {
        "event": event_name,
        "at": (at or utcnow()).isoformat(),
        "lead": {
            "id": lead.id,
            "client_id": str(lead.client_id),
            "name": lead.full_name,
            "company": lead.company,
            "rating": lead.rating,
            "status": lead.status,
            "escalation_level": lead.escalation_level,
            "deal_value": str(lead.deal_value) if lead.deal_value is not None else None,
            "deal_currency": lead.deal_currency,
            "url": public_url(f"/office/leads/{lead.id}"),
        },
        "office": office.as_ref() if office else None,
        "event_ref": {"id": event.id, "name": event.name} if event else None,
    }


def slack_text(payload: dict) -> str:
    lead, office = payload["lead"], payload.get("office") or {}
    who = lead.get("name") or lead.get("company") or f"lead {lead['id']}"
    if lead.get("url"):  # Slack's link markup: the name opens the lead
        who = f"<{lead['url']}|{who}>"
    where = office.get("name", "no office")
    event = (payload.get("event_ref") or {}).get("name", "")
    if payload["event"] == "lead.won":
        value = f" — {lead['deal_value']} {lead.get('deal_currency') or ''}".rstrip()
        return f":trophy: Won: {who} ({event}) by {where}{value if lead['deal_value'] else ''}"
    if payload["event"] == "lead.escalated":
        return f":rotating_light: Escalated: {who} ({event}) untouched past the SLA at {where}"
    return f"New lead: {who} ({event}) routed to {where}"


def webhook_targets(office: Office | None) -> list[tuple[str, str, str]]:
    """(scope, url, format) for the office's webhook and the global one."""
    targets = []
    if office is not None and office.webhook_url:
        targets.append((f"office:{office.id}", office.webhook_url, office.webhook_format or "json"))
    hook = global_webhook()
    if hook["url"]:
        targets.append(("global", hook["url"], hook["format"] or "json"))
    return targets


def webhook_rows(event_name: str, lead: Lead, office: Office | None = None) -> list[dict]:
    """Pending webhook rows for a lead event, rendered now (keys make each one happen once)."""
    office = office or lead.office
    rows = []
    for scope, url, fmt in webhook_targets(office):
        payload = lead_payload(event_name, lead, office=office)
        rows.append(
            dict(
                key=f"webhook:{event_name}:lead:{lead.id}:{scope}",
                kind=f"webhook:{event_name}",
                channel="webhook",
                lead_id=lead.id,
                office_id=office.id if office else None,
                event_id=lead.event_id,
                recipient=url,
                subject=event_name,
                body_text=slack_text(payload),
                payload={"scope": scope, "format": fmt, "data": payload},
            )
        )
    return rows


def deferred_webhook_rows(
    event_name: str,
    lead_id: int,
    event_id: int | None,
    office: Office | OfficeContacts | None,
    targets=None,
) -> list[dict]:
    """Webhook rows whose JSON the delivery job builds from the lead (bulk planning)."""
    if targets is None:
        targets = webhook_targets(office)
    return [
        dict(
            key=f"webhook:{event_name}:lead:{lead_id}:{scope}",
            kind=f"webhook:{event_name}",
            channel="webhook",
            lead_id=lead_id,
            office_id=office.id if office else None,
            event_id=event_id,
            recipient=url,
            subject=event_name,
            payload={"scope": scope, "format": fmt, RENDER: True},
        )
        for scope, url, fmt in targets
    ]


def webhook_body(message: Message) -> bytes:
    payload = message.payload or {}
    data = payload.get("data") or {}
    if payload.get("format") == "slack":
        data = {"text": message.body_text or slack_text(data)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_secret(message: Message) -> str | None:
    """The office's secret for its webhook, the global webhook's for the global one."""
    scope = (message.payload or {}).get("scope", "")
    if scope.startswith("office:"):
        office = db.session.get(Office, int(scope.split(":", 1)[1]))
        return office.webhook_secret if office else None
    return global_webhook()["secret"]


# --- delivery ----------------------------------------------------------------------


def post_webhook(message: Message) -> int:
    """POST the row's body to its URL; returns the status, raises WebhookError otherwise.

    ``webhook-id`` is the row's key, the same on every retry, so receivers can drop
    repeats; the timestamp is the time of this attempt.
    """
    body = webhook_body(message)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "LeadRelay-Webhook/1",
        "X-LeadRelay-Event": message.subject,
        "X-LeadRelay-Delivery": message.key,
        **signature_headers(message.key, body, webhook_secret(message), utcnow()),
    }
    try:
        status = post_json(message.recipient, body, headers, WEBHOOK_TIMEOUT)
    except TargetRefused as exc:
        raise WebhookError(f"{message.recipient}: {exc}") from exc
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code} from {message.recipient}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookError(f"{message.recipient}: {exc}") from exc
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status} from {message.recipient}")
    return status
