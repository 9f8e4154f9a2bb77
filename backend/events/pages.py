"""Event page actions (marketing, admin): replace a QR code, take staff off the booth."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _

from backend.auth.access import roles_required
from backend.errors import ApiError
from backend.events.services import remove_staff, rotate_token
from backend.reports.views import MARKETING, event_or_404

bp = Blueprint("event_pages", __name__)


@bp.post("/events/<int:event_id>/qr/<any(join, visitor):kind>/rotate")
@roles_required(*MARKETING)
def rotate_qr(event_id: int, kind: str):
    """Replace the join or visitor QR code; the old one shows "this code was replaced"."""
    rotate_token(event_or_404(event_id), kind)
    message = (
        _("The visitor QR code was replaced: print the new one.")
        if kind == "visitor"
        else _("The staff QR code was replaced: staff who joined stay on the event.")
    )
    flash(message, "info")
    return redirect(url_for("reports.event_qr", event_id=event_id))


@bp.post("/events/<int:event_id>/staff/<int:user_id>/remove")
@roles_required(*MARKETING)
def remove_staff_member(event_id: int, user_id: int):
    """Take a staff member off the event's booth."""
    event = event_or_404(event_id)
    try:
        user = remove_staff(event, user_id)
    except ApiError:
        flash(_("That person is not staff of this event."), "error")
    else:
        flash(_("%(name)s no longer staffs %(event)s.", name=user.name, event=event.name), "info")
    return redirect(url_for("reports.event_report_page", event_id=event_id))
