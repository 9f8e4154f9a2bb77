"""Reading a business card for the phone, while the visitor is still at the stand."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from backend.attachments.views import allow_large_upload
from backend.auth.access import roles_required
from backend.cards import services
from backend.errors import ApiError
from backend.leads.queries import get_event_or_404
from backend.ratelimit import limit

bp = Blueprint("cards", __name__, url_prefix="/api/v1")
bp.before_request(allow_large_upload)


@bp.post("/cards/read")
@roles_required("staff", "marketing", "admin")
@limit("cards", per_minute=30)
def read_card():
    """OCR a card photo (``file``, optional ``event_id``): fields, confidence and raw text."""
    region = None
    event_id = request.form.get("event_id", "").strip()
    if event_id:
        if not event_id.isdigit() or int(event_id) > 2**31 - 1:
            raise ApiError(
                422,
                "invalid",
                _("event_id must be a number."),
                [{"field": "event_id", "message": "not a number"}],
            )
        region = services.event_region(get_event_or_404(int(event_id), current_user))
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            422,
            "invalid",
            _("Attach the file as 'file'."),
            [{"field": "file", "message": "required"}],
        )
    from backend.attachments.services import check_content

    data = upload.read()
    check_content("card_front", data)
    return services.read_card(data, region=region)
