"""Events API: create and edit (marketing, admin), read (staff: their events), staff, join,
and the public visitor form's endpoints."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select

from backend.api.spec import validated
from backend.auth.access import ANY_SIGNED_IN, PUBLIC, roles_required
from backend.auth.schemas import UserOut
from backend.auth.services import user_json
from backend.errors import ApiError
from backend.events.content import consent_texts, questions_view
from backend.events.models import Event
from backend.events.schemas import (
    EventIn,
    EventListOut,
    EventOut,
    EventPatch,
    JoinIn,
    JoinOut,
    PublicEventOut,
    StaffIn,
    VisitorThanksOut,
)
from backend.events.services import (
    add_staff,
    create_event,
    event_by_token,
    event_json,
    join_event,
    remove_staff,
    rotate_token,
    update_event,
)
from backend.extensions import db
from backend.leads.capture import REJECTED, capture_batch
from backend.leads.queries import get_event_or_404
from backend.leads.schemas import LeadIn, RawJson
from backend.offices.models import Office
from backend.ratelimit import limit

bp = Blueprint("events", __name__, url_prefix="/api/v1")

WRITERS = ("marketing", "admin")


def _can_see_tokens() -> bool:
    return current_user.role in WRITERS


@bp.get("/events")
@roles_required(ANY_SIGNED_IN)
@validated(response=EventListOut)
def list_events():
    """Events the user may read (staff: those they staff), newest first."""
    if current_user.role == "staff":
        events = sorted(current_user.events, key=lambda e: e.id, reverse=True)
    else:
        events = db.session.scalars(select(Event).order_by(Event.id.desc())).all()
    return {"items": [event_json(e, with_tokens=_can_see_tokens()) for e in events]}


@bp.post("/events")
@roles_required(*WRITERS)
@validated(body=EventIn, response=EventOut, status=201)
def post_event(body: EventIn):
    """Create an event."""
    event = create_event(body)
    return event_json(event, with_tokens=True), 201


@bp.get("/events/<int:event_id>")
@roles_required(ANY_SIGNED_IN)
@validated(response=EventOut)
def get_event(event_id: int):
    """One event with its brief and questions."""
    return event_json(get_event_or_404(event_id, current_user), with_tokens=_can_see_tokens())


@bp.patch("/events/<int:event_id>")
@roles_required(*WRITERS)
@validated(body=EventPatch, response=EventOut)
def patch_event(event_id: int, body: EventPatch):
    """Change an event's fields."""
    event = update_event(get_event_or_404(event_id, current_user), body)
    return event_json(event, with_tokens=True)


@bp.post("/events/<int:event_id>/staff")
@roles_required(*WRITERS)
@validated(body=StaffIn, response=UserOut)
def post_staff(event_id: int, body: StaffIn):
    """Assign a booth staff member to the event."""
    user = add_staff(get_event_or_404(event_id, current_user), body.user_id)
    return user_json(user)


@bp.delete("/events/<int:event_id>/staff/<int:user_id>")
@roles_required(*WRITERS)
@validated(response=None)
def delete_staff(event_id: int, user_id: int):
    """Take a staff member off the event's booth."""
    remove_staff(get_event_or_404(event_id, current_user), user_id)
    return {"ok": True}


@bp.post("/events/<int:event_id>/tokens/<kind>/rotate")
@roles_required(*WRITERS)
@validated(response=EventOut)
def post_rotate_token(event_id: int, kind: str):
    """Replace the event's ``join`` or ``visitor`` token: the old QR code then says it was
    replaced."""
    event = rotate_token(get_event_or_404(event_id, current_user), kind)
    return event_json(event, with_tokens=True)


@bp.post("/join")
@roles_required(ANY_SIGNED_IN)
@validated(body=JoinIn, response=JoinOut)
def join(body: JoinIn):
    """Join the event of a staff QR code; the user becomes its booth staff."""
    event = join_event(current_user, body.token)
    return {"event": event_json(event)}


@bp.get("/public/visitor/<token>")
@roles_required(PUBLIC)
@validated(response=PublicEventOut)
def public_event(token: str):
    """What the visitor form needs to show: event name, consent text, questions."""
    event = event_by_token(Event.visitor_token, token)
    return {
        "event": {
            "name": event.name,
            "venue_country": event.venue_country,
            "consent_text": event.consent_text,
            "consent_texts": consent_texts(event),
            "questions": questions_view(event),
            "language": event.language,
        }
    }


@bp.post("/public/visitor/<token>/leads")
@roles_required(PUBLIC)
@limit("visitor_form", per_minute=20)
@validated(body=LeadIn, parse_body=RawJson, response=VisitorThanksOut, status=201)
def public_capture(token: str, body: RawJson):
    """A visitor registers on their own phone; bots that fill the honeypot are refused.

    The reply is the same for a person already stored and a new one (the office the
    submitted address routes to): the form is no way to learn who is known."""
    event = event_by_token(Event.visitor_token, token)
    payload = body.root
    if isinstance(payload, dict) and str(payload.get("website") or "").strip():
        raise ApiError(422, "rejected", "This form could not be accepted.")
    [result] = capture_batch([payload], user=None, event_id=event.id, source_override="kiosk")
    if result.status == REJECTED:
        message = result.errors[0]["message"] if result.errors else "invalid"
        raise ApiError(422, "invalid", message, result.errors)
    office = db.session.get(Office, result.office_id) if result.office_id else None
    card = (
        {"name": office.name, "email": office.email, "phone": office.phone, "city": office.city}
        if office
        else None
    )
    return {"office": card}, 201
