from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db_types import UTCDateTime, utcnow
from backend.extensions import db

CARD_KINDS = ("card_front", "card_back")
KINDS = (*CARD_KINDS, "voice", "photo")
OCR_STATUSES = ("pending", "done", "failed")


class Attachment(db.Model):
    """A file uploaded for a lead; the bytes live in the attachment storage under ``storage_key``.

    A card photo also keeps what the reader made of it: the raw text, the parsed fields
    with their confidence, and which of them were written into the lead (``card``).
    """

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The phone's UUID for this file: a retried upload finds the stored one.
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ocr_status: Mapped[str | None] = mapped_column(String(16))
    ocr_text: Mapped[str] = mapped_column(Text, default="")
    # {"fields": {...}, "confidence": {...}, "filled": {field: confidence},
    #  "confirmed": [field, ...]}
    card: Mapped[dict] = mapped_column(JSON, default=dict)

    lead = relationship("Lead")
    uploaded_by = relationship("User")

    @property
    def is_card(self) -> bool:
        return self.kind in CARD_KINDS

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.kind} lead={self.lead_id}>"
