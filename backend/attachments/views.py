"""The attachment API: upload a file for a lead, list a lead's files, fetch one."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from backend.attachments import services
from backend.attachments.storage import get_storage
from backend.auth.access import ANY_SIGNED_IN, roles_required
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.queries import get_lead_or_404
from backend.ratelimit import limit

bp = Blueprint("attachments", __name__, url_prefix="/api/v1")
# Multipart framing around the file; the file itself is checked against the real limit.
MULTIPART_SLACK = 64 * 1024


def allow_large_upload() -> None:
    """Photos and voice notes may exceed the API's usual body limit, up to their own."""
    request.max_content_length = current_app.config["ATTACHMENT_MAX_BYTES"] + MULTIPART_SLACK


bp.before_request(allow_large_upload)


def form_file() -> bytes:
    """The bytes of the multipart field ``file``; ApiError(422) in the reader's language
    when the request has none."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            422,
            "invalid",
            _("Attach the file as 'file'."),
            [{"field": "file", "message": "required"}],
        )
    return upload.read()


def _client_id() -> uuid.UUID:
    try:
        return uuid.UUID(request.form.get("client_id", ""))
    except ValueError:
        raise ApiError(
            422, "invalid", _("client_id must be a UUID."),
            [{"field": "client_id", "message": "not a UUID"}],
        ) from None  # fmt: skip


def _duration() -> float | None:
    try:
        return float(request.form["duration_seconds"])
    except (KeyError, ValueError):
        return None


def _lead_for_upload(lead_id: int):
    """The lead if the user may read it, or if a capture of theirs was merged into it.

    A booth worker's second scan of a person may have been folded into a colleague's
    lead; their phone then sends its card photo to that lead and must not be refused.
    """
    from sqlalchemy import select

    from backend.leads.models import Lead, MergedCapture

    try:
        return get_lead_or_404(lead_id, current_user)
    except ApiError:
        merged = db.session.scalar(
            select(MergedCapture.id).where(
                MergedCapture.lead_id == lead_id, MergedCapture.captured_by_id == current_user.id
            )
        )
        if merged is None:
            raise
        return db.session.get(Lead, lead_id)


@bp.post("/leads/<int:lead_id>/attachments")
@roles_required(ANY_SIGNED_IN)
@limit("attachments", per_minute=120)
def upload(lead_id: int):
    """Store a card photo, photo or voice note for the lead: 201 when new, 200 on a retry."""
    lead = _lead_for_upload(lead_id)
    kind = request.form.get("kind", "")
    client_id = _client_id()
    attachment, created = services.store_attachment(
        lead,
        kind=kind,
        client_id=client_id,
        data=form_file(),
        uploaded_by_id=current_user.id,
        duration_seconds=_duration(),
    )
    if created and attachment.is_card:
        from backend.cards.services import enqueue_card_reading

        enqueue_card_reading(attachment.id)  # once the upload has committed
    return services.attachment_json(attachment), 201 if created else 200


@bp.get("/leads/<int:lead_id>/attachments")
@roles_required(ANY_SIGNED_IN)
def list_attachments(lead_id: int):
    """The lead's attachments, oldest first, with what was read from card photos."""
    lead = get_lead_or_404(lead_id, current_user)
    return {"items": [services.attachment_json(a) for a in services.lead_attachments(lead.id)]}


@bp.get("/leads/<int:lead_id>/attachments/<int:attachment_id>")
@roles_required(ANY_SIGNED_IN)
def download(lead_id: int, attachment_id: int):
    """The attachment's bytes, for those who may read the lead."""
    lead = get_lead_or_404(lead_id, current_user)
    attachment = services.get_attachment_or_404(lead, attachment_id)
    path = get_storage().path(attachment.storage_key)
    if not path.is_file():
        raise ApiError(404, "not_found", _("No such attachment."))
    response = send_file(path, mimetype=attachment.content_type, max_age=0, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
