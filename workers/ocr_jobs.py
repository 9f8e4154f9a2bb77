"""The OCR queue's job: read an uploaded business card into its lead."""

from __future__ import annotations

from backend.cards.services import apply_card
from backend.extensions import db


def read_card_attachment(attachment_id: int) -> dict | None:
    """Read the card photo ``attachment_id`` and fill its lead's empty fields; commits.

    Safe to run twice: a card already read is skipped. Returns the filled fields.
    """
    filled = apply_card(attachment_id)
    db.session.commit()
    return filled
