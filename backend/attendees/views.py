"""Attendee lists: upload per event (API and the event's page), and the list for the booth app."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from backend.api.spec import ErrorOut, validated
from backend.attendees import services
from backend.attendees.models import Attendee
from backend.audit.services import record
from backend.auth.access import roles_required
from backend.errors import ApiError
from backend.events.models import Event
from backend.extensions import db
from backend.leads.queries import get_event_or_404

bp = Blueprint("attendees", __name__)
MARKETING = ("marketing", "admin")


class AttendeeOut(BaseModel):
    badge_id: str
    first_name: str
    last_name: str
    company: str
    job_title: str
    email: str
    phone: str
    country: str


class AttendeeListOut(BaseModel):
    event_id: int
    attendees: list[AttendeeOut]


class UploadOut(BaseModel):
    created: int
    updated: int
    matched_leads: int = Field(description="Leads saved with a badge id now on the list, filled")
    columns: dict[str, str] = Field(description="{CSV header: column} as read")


def _upload(event: Event) -> dict:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ApiError(422, "invalid", "Attach the CSV as the multipart field 'file'.",
                       [{"field": "file", "message": "missing"}])  # fmt: skip
    mapping = {}
    if request.form.get("mapping"):
        try:
            mapping = json.loads(request.form["mapping"])
        except ValueError:
            raise ApiError(
                422, "bad_mapping", 'mapping must be JSON: {"CSV header": "column"}'
            ) from None
        if not isinstance(mapping, dict):
            raise ApiError(422, "bad_mapping", "mapping must be a JSON object")
    rows, used = services.read_attendees(file.read(), mapping)
    counts = services.store_attendees(event.id, rows)
    record("event.attendees_uploaded", user=current_user, target=event,
           detail={**counts, "rows": len(rows), "columns": used})  # fmt: skip
    return {**counts, "columns": used}


@bp.post("/api/v1/events/<int:event_id>/attendees")
@roles_required(*MARKETING)
@validated(response=UploadOut, status=201, extra_responses={413: ErrorOut, 422: ErrorOut})
def api_upload(event_id: int):
    """Upload the organiser's attendee list (multipart `file`, CSV): a `badge_id` column and
    `first_name,last_name,company,job_title,email,phone,country`; other headers are matched
    by common names or by `mapping` (a form field, JSON `{"CSV header": "column"}`). Leads
    saved earlier with a badge id on the list get its contact details."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise ApiError(404, "not_found", "No such event.")
    return _upload(event), 201


@bp.get("/api/v1/events/<int:event_id>/attendees")
@roles_required("staff", *MARKETING)
@validated(response=AttendeeListOut)
def api_list(event_id: int):
    """The event's attendee list, for the booth app to fill the form from a badge id offline."""
    event = get_event_or_404(event_id, current_user)
    rows = db.session.scalars(db.select(Attendee).where(Attendee.event_id == event.id))
    return {"event_id": event.id, "attendees": [a.as_json() for a in rows]}


@bp.route("/events/<int:event_id>/attendees", methods=["GET", "POST"])
@roles_required(*MARKETING)
def attendees_page(event_id: int):
    """The event's attendee list page: how many, and an upload form."""
    event = db.session.get(Event, event_id) or abort(404)
    if request.method == "POST":
        try:
            counts = _upload(event)
        except ApiError as err:
            db.session.rollback()
            flash(_("The list was not read: %(message)s", message=err.message), "error")
        else:
            flash(
                _("%(created)s attendees added, %(updated)s updated, %(matched)s saved leads filled.",
                  created=counts["created"], updated=counts["updated"],
                  matched=counts["matched_leads"]),
                "info",
            )  # fmt: skip
        return redirect(url_for("attendees.attendees_page", event_id=event.id))
    return render_template(
        "attendees/page.html", event=event, count=services.attendee_count(event.id),
        columns=services.COLUMNS,
    )  # fmt: skip
