"""Unsubscribing: the signed link in every autoresponder and the list of addresses that
asked for no more mail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from backend.db_bulk import in_values
from backend.extensions import db
from backend.leads.models import Lead
from backend.links import public_url
from backend.messaging.models import Message, Unsubscribe


def _serializer() -> URLSafeSerializer:
    # One per app and key: a capture of 500 leads signs 500 links.
    cache = current_app.extensions.setdefault("leadrelay_unsubscribe", {})
    key = current_app.config["SECRET_KEY"]
    if key not in cache:
        cache.clear()
        cache[key] = URLSafeSerializer(key, salt="leadrelay-unsubscribe")
    return cache[key]


def unsubscribe_token(email: str) -> str:
    return _serializer().dumps(email.strip().lower())


def email_from_token(token: str) -> str | None:
    """The address a token was made for, or None when it was tampered with."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) and value else None


def unsubscribe_url(email: str) -> str:
    return public_url(f"/u/{unsubscribe_token(email)}")


def unsubscribe(email: str) -> bool:
    """Record that ``email`` wants no more mail and skip its pending mails (caller commits).

    Returns True when the address was newly added.
    """
    email = email.strip().lower()
    known = db.session.scalar(select(Unsubscribe).where(Unsubscribe.email == email))
    db.session.execute(
        db.update(Message)
        .where(
            Message.status == "pending",
            Message.kind == "autoresponder",
            db.func.lower(Message.recipient) == email,
        )
        .values(status="skipped", last_error="unsubscribed")
    )
    if known is not None:
        return False
    db.session.add(Unsubscribe(email=email))
    return True


def unsubscribed(emails: Iterable[str]) -> set[str]:
    emails = {e.lower() for e in emails if e}
    if not emails:
        return set()
    return set(
        db.session.scalars(select(Unsubscribe.email).where(in_values(Unsubscribe.email, emails)))
    )


def unsubscribed_emails(leads: Sequence[Lead]) -> set[str]:
    return unsubscribed(lead.email_normalized for lead in leads)


def unsubscribe_headers(link: str) -> dict:
    return {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
