"""Posting a webhook Message row: signed JSON (or Slack ``{"text": ...}``)."""

from __future__ import annotations

import urllib.error
import urllib.request

from backend.messaging.models import Message
from backend.messaging.services import SIGNATURE_HEADER, sign, webhook_body, webhook_secret

WEBHOOK_TIMEOUT = 10


class WebhookError(Exception):
    """The receiver did not answer 2xx."""


def post(message: Message) -> int:
    """POST the row's body to its URL; returns the status, raises WebhookError otherwise."""
    body = webhook_body(message)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "LeadRelay-Webhook/1",
        "X-LeadRelay-Event": message.subject,
        "X-LeadRelay-Delivery": message.key,
    }
    secret = webhook_secret(message)
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    request = urllib.request.Request(message.recipient, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code} from {message.recipient}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookError(f"{message.recipient}: {exc}") from exc
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status} from {message.recipient}")
    return status
