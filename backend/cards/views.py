"""Reading a business card for the phone, while the visitor is still at the stand."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from backend.attachments.views import allow_large_upload
from backend.auth.access import roles_required
from backend.cards import services
from backend.errors import ApiError
from backend.leads.queries import get_event_or_404, get_lead_or_404
from backend.ratelimit import limit
from backend.transaction import rollback

bp = Blueprint("cards", __name__, url_prefix="/api/v1")
bp.before_request(allow_large_upload)
# The lead page's forms (HTML, CSRF-protected), next to the workspace's own.
office_bp = Blueprint("cards_office", __name__)

# Lead fields by the names the office knows them by.
FIELD_LABELS = {
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "company": _l("Company"),
    "job_title": _l("Job title"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "website": _l("Website"),
    "city": _l("City"),
    "country": _l("Country"),
}


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
    from backend.attachments.services import check_content
    from backend.attachments.views import form_file

    data = form_file()
    check_content("card_front", data)
    return services.read_card(data, region=region)


@office_bp.app_template_global("lead_attachments")
def lead_attachments(lead) -> dict:
    """What the lead page shows of a lead's files: images, voice notes, fields from cards."""
    from backend.attachments.services import attachment_json
    from backend.attachments.services import lead_attachments as stored

    items = [attachment_json(a) | {"ocr_text": a.ocr_text} for a in stored(lead.id)]
    return {
        "images": [a for a in items if a["kind"] != "voice"],
        "voice": [a for a in items if a["kind"] == "voice"],
        "cards": [a for a in items if a["kind"] in ("card_front", "card_back")],
        "labels": FIELD_LABELS,
        "field_value": lambda name: getattr(lead, name, ""),
    }


@office_bp.post("/office/leads/<int:lead_id>/cards/<int:attachment_id>/confirm")
@roles_required("office_rep", "office_manager")
def confirm_card(lead_id: int, attachment_id: int):
    """The office checked the fields read from a card: keep or correct them."""
    from backend.attachments.services import get_attachment_or_404

    lead = get_lead_or_404(lead_id, current_user)
    attachment = get_attachment_or_404(lead, attachment_id)
    changes = {k: v for k, v in request.form.items() if k in FIELD_LABELS}
    try:
        changed = services.confirm_card_fields(lead, attachment, changes)
    except ApiError as exc:
        rollback()  # answered with a redirect, which commits: no field half-corrected
        flash(_("Not saved — %(reason)s", reason=exc.message), "error")
    else:
        if changed:
            fields = ", ".join(str(FIELD_LABELS[name]) for name in changed)
            flash(_("Fields from the card corrected: %(fields)s.", fields=fields), "ok")
        else:
            flash(_("Fields from the card confirmed."), "ok")
    return redirect(url_for("workspace.lead_page", lead_id=lead_id) + "#attachments")
