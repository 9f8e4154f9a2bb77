"""The OCR queue's job: read an uploaded business card into its lead."""

from __future__ import annotations

from backend import transaction
from backend.attachments.models import Attachment
from backend.cards.services import apply_card
from backend.extensions import db


def read_card_attachment(attachment_id: int) -> dict | None:
    """Read the card photo ``attachment_id`` and fill its lead's empty fields (flushed; the
    job commits). Safe to run twice: a card already read is skipped. Returns the filled
    fields; raises what reading raised, with the card marked ``failed`` (committed).
    """
    try:
        return apply_card(attachment_id)
    except Exception:
        # Say so on the lead page rather than leave the card "being read" for ever: the
        # reading is rolled back and the mark committed here, on purpose, since the job
        # class rolls back whatever a raising job leaves.
        transaction.rollback()
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is not None and attachment.ocr_status == "pending":
            attachment.ocr_status = "failed"
            transaction.commit()
        raise


def enqueue_unread_cards(older_than_minutes: int = 5) -> int:
    """Enqueue again the card photos still unread some minutes after upload (Redis was down
    when they arrived, or a worker died); run by the cron. Returns how many."""
    from datetime import timedelta

    from sqlalchemy import select

    from backend.cards.services import enqueue_card_reading_now as enqueue_card_reading
    from backend.db_types import utcnow

    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    ids = db.session.scalars(
        select(Attachment.id)
        .where(Attachment.ocr_status == "pending", Attachment.created_at < cutoff)
        .order_by(Attachment.id)
        .limit(500)
    ).all()
    for attachment_id in ids:
        enqueue_card_reading(attachment_id)
    return len(ids)
