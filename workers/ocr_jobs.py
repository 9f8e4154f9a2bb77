"""The OCR queue's job: read an uploaded business card into its lead."""

from __future__ import annotations

from backend.attachments.models import Attachment
from backend.cards.services import apply_card
from backend.extensions import db


def read_card_attachment(attachment_id: int) -> dict | None:
    """Read the card photo ``attachment_id`` and fill its lead's empty fields; commits.

    Safe to run twice: a card already read is skipped. Returns the filled fields.
    """
    try:
        filled = apply_card(attachment_id)
        db.session.commit()
    except Exception:
        # Say so on the lead page rather than leave the card "being read" for ever.
        db.session.rollback()
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is not None and attachment.ocr_status == "pending":
            attachment.ocr_status = "failed"
            db.session.commit()
        raise
    return filled
