"""Storing, reading, exporting and erasing a lead's attachments.

Plain functions: they flush and leave the commit to the caller. Files are written before
the row (a retry rewrites the same key); on erasure they are deleted only once the
transaction that deleted their rows has committed (``backend.transaction.after_commit``).
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from backend.attachments.models import CARD_KINDS, KINDS, Attachment
from backend.attachments.storage import get_storage
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.models import Lead
from backend.transaction import after_commit

IMAGE_TYPES = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_PIXELS = 50_000_000
MAX_VOICE_SECONDS = 600


@dataclass(frozen=True)
class Content:
    """What the bytes really are, read from the bytes themselves."""

    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


def sniff_audio(data: bytes) -> Content | None:
    """The audio container by its magic bytes: WebM (EBML), Ogg, or MP4/M4A (``ftyp``)."""
    if data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64]:
        return Content("audio/webm", "webm")
    if data[:4] == b"OggS":
        return Content("audio/ogg", "ogg")
    if data[4:8] == b"ftyp":
        return Content("audio/mp4", "m4a")
    return None


def sniff_image(data: bytes) -> Content | None:
    """A JPEG, PNG or WebP image that Pillow can decode; raises ApiError(422) when too large."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in IMAGE_TYPES:
                return None
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ApiError(422, "too_many_pixels", _("The image has too many pixels."))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return None
    content_type, extension = IMAGE_TYPES[image.format]
    return Content(content_type, extension, width, height)


def check_content(kind: str, data: bytes) -> Content:
    """What the file is, checked against its kind.

    Raises ApiError 413 (over ``ATTACHMENT_MAX_BYTES``), 415 (not a JPEG/PNG/WebP image
    for a photo, not WebM/Ogg/MP4 audio for a voice note) or 422 (empty, unknown kind).
    """
    if kind not in KINDS:
        raise ApiError(
            422, "invalid", _("Unknown kind."), [{"field": "kind", "message": "|".join(KINDS)}]
        )
    if not data:
        raise ApiError(
            422, "invalid", _("The file is empty."), [{"field": "file", "message": "empty"}]
        )
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(data) > limit:
        raise ApiError(
            413, "too_large", _("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024))
        )
    content = sniff_audio(data) if kind == "voice" else sniff_image(data)
    if content is None:
        wanted = _("WebM, Ogg or MP4 audio") if kind == "voice" else _("a JPEG, PNG or WebP image")
        raise ApiError(415, "unsupported_type", _("This file is not %(wanted)s.", wanted=wanted))
    return content


def store_attachment(
    lead: Lead,
    *,
    kind: str,
    client_id: uuid.UUID,
    data: bytes,
    uploaded_by_id: int | None,
    duration_seconds: float | None = None,
) -> tuple[Attachment, bool]:
    """Keep an uploaded file for ``lead``; returns the attachment and whether it is new.

    Idempotent by ``client_id``: a retried upload answers with the stored attachment
    and stores nothing. Raises ApiError 409 when that ``client_id`` belongs to another
    lead's file, 410 when the lead was erased, and the errors of :func:`check_content`.
    """
    existing = db.session.scalar(select(Attachment).where(Attachment.client_id == client_id))
    if existing is not None:
        return _same_lead(existing, lead), False
    if lead.anonymized_at is not None:
        raise ApiError(410, "erased", _("This lead was erased; its files are not kept."))
    content = check_content(kind, data)
    key = f"{lead.id}/{client_id}.{content.extension}"
    get_storage().put(key, data)
    attachment = Attachment(
        client_id=client_id,
        lead_id=lead.id,
        kind=kind,
        content_type=content.content_type,
        size_bytes=len(data),
        storage_key=key,
        width=content.width,
        height=content.height,
        duration_seconds=_duration(kind, duration_seconds),
        uploaded_by_id=uploaded_by_id,
        ocr_status="pending" if kind in CARD_KINDS else None,
        card={},
    )
    try:
        with db.session.begin_nested():
            db.session.add(attachment)
    except IntegrityError:
        # The same upload arrived twice at once: the other request stored it (same key).
        existing = db.session.scalar(select(Attachment).where(Attachment.client_id == client_id))
        if existing is None:
            raise
        return _same_lead(existing, lead), False
    return attachment, True


def _same_lead(attachment: Attachment, lead: Lead) -> Attachment:
    if attachment.lead_id != lead.id:
        raise ApiError(409, "conflict", _("This client_id belongs to another lead's file."))
    return attachment


def _duration(kind: str, value: float | None) -> float | None:
    if kind != "voice" or value is None or not 0 <= value <= MAX_VOICE_SECONDS:
        return None
    return round(value, 1)


def lead_attachments(lead_id: int) -> list[Attachment]:
    return db.session.scalars(
        select(Attachment).where(Attachment.lead_id == lead_id).order_by(Attachment.id)
    ).all()


def get_attachment_or_404(lead: Lead, attachment_id: int) -> Attachment:
    """The lead's attachment; raises ApiError(404) for another lead's or a missing one."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.lead_id != lead.id:
        raise ApiError(404, "not_found", _("No such attachment."))
    return attachment


def attachment_json(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "client_id": str(attachment.client_id),
        "lead_id": attachment.lead_id,
        "kind": attachment.kind,
        "content_type": attachment.content_type,
        "size_bytes": attachment.size_bytes,
        "width": attachment.width,
        "height": attachment.height,
        "duration_seconds": attachment.duration_seconds,
        "created_at": attachment.created_at.isoformat() if attachment.created_at else None,
        "url": f"/api/v1/leads/{attachment.lead_id}/attachments/{attachment.id}",
        "ocr_status": attachment.ocr_status,
        "card": attachment.card or {},
    }


def export_attachments(lead_ids: Sequence[int]) -> list[dict]:
    """The person's files for a privacy export: each with its metadata, OCR text and bytes."""
    if not lead_ids:
        return []
    storage = get_storage()
    rows = db.session.scalars(
        select(Attachment).where(Attachment.lead_id.in_(lead_ids)).order_by(Attachment.id)
    ).all()
    exported = []
    for attachment in rows:
        try:
            data = base64.b64encode(storage.read(attachment.storage_key)).decode()
        except FileNotFoundError:
            data = None
        exported.append(
            {**attachment_json(attachment), "ocr_text": attachment.ocr_text, "content_base64": data}
        )
    return exported


def erase_lead_attachments(lead_ids: Sequence[int]) -> int:
    """Delete the attachments of these leads: rows now, files once the caller commits.

    Returns how many attachments were deleted. A rollback keeps the files.
    """
    if not lead_ids:
        return 0
    keys = db.session.scalars(
        select(Attachment.storage_key).where(Attachment.lead_id.in_(list(lead_ids)))
    ).all()
    if not keys:
        return 0
    db.session.execute(
        delete(Attachment)
        .where(Attachment.lead_id.in_(list(lead_ids)))
        .execution_options(synchronize_session="fetch")
    )
    after_commit(partial(_delete_files, list(keys)))
    db.session.flush()
    return len(keys)


def _delete_files(keys: Sequence[str]) -> None:
    storage = get_storage()
    for key in keys:
        storage.delete(key)
