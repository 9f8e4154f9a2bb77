"""Posting a webhook Message row: JSON (or Slack ``{"text": ...}``) signed with the
Standard Webhooks scheme (backend.messaging.webhooks)."""

from __future__ import annotations

import urllib.error

from backend.db_types import utcnow
from backend.messaging.models import Message
from backend.messaging.services import webhook_body, webhook_secret
from backend.messaging.webhooks import TargetRefused, post_json, signature_headers

WEBHOOK_TIMEOUT = 10


class WebhookError(Exception):
    """The receiver did not answer 2xx, or the target is refused."""


def post(message: Message) -> int:
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
