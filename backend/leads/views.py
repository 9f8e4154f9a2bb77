"""The capture API: one lead, a batch from a phone, and reading leads back."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from backend.api.spec import validated
from backend.auth.access import ANY_SIGNED_IN, roles_required
from backend.errors import ApiError
from backend.leads.capture import REJECTED, capture_batch
from backend.leads.queries import (
    event_leads_page,
    get_event_or_404,
    get_lead_or_404,
    last_decisions,
    lead_detail_json,
    lead_json,
)
from backend.leads.schemas import (
    CaptureReplyOut,
    LeadDetailOut,
    LeadIn,
    LeadListOut,
    LeadListQuery,
    LeadOut,
    RawJson,
    SyncEnvelope,
    SyncIn,
    SyncOut,
)
from backend.ratelimit import limit
from backend.transaction import reads_alone

bp = Blueprint("leads", __name__, url_prefix="/api/v1")

CAPTURE_ROLES = ("staff", "marketing", "admin")


@bp.post("/events/<int:event_id>/leads")
@reads_alone
@roles_required(*CAPTURE_ROLES)
@validated(
    body=LeadIn,
    parse_body=RawJson,
    response=LeadOut,
    status=201,
    extra_responses={200: CaptureReplyOut},
)
def capture_lead(event_id: int, body: RawJson):
    """Store one captured lead: 201 when new, 200 with the same lead on a replay or merge.

    A replay or merge into a lead the caller may not read answers only ``client_id``,
    ``result``, ``event_id`` and the caller's own fields (``LeadReplayOut``); a
    ``client_id`` already used in another event is a 409 ``client_id_conflict``."""
    [result] = capture_batch([body.root], user=current_user, event_id=event_id)
    if result.status == REJECTED:
        code = (result.errors[0].get("code") if result.errors else None) or {
            403: "forbidden", 404: "not_found"
        }.get(result.http_status, "invalid")  # fmt: skip
        message = result.errors[0]["message"] if result.errors else "invalid lead"
        raise ApiError(result.http_status, code, message, result.errors)
    return result.reply, result.http_status


@bp.post("/sync")
@reads_alone
@limit("sync", per_minute=120)  # counted once per request (roles_required may run it again)
@roles_required(*CAPTURE_ROLES)
@validated(body=SyncIn, parse_body=SyncEnvelope, response=SyncOut)
def sync(body: SyncEnvelope):
    """A batch of up to 500 leads from one phone: one result per lead, in order."""
    results = capture_batch(body.leads, user=current_user)
    return {
        "results": [
            {
                "client_id": r.client_id,
                "status": r.status,
                "lead_id": None if r.hidden else r.lead_id,
                "office": r.reply["office"] if r.reply and not r.hidden else None,
                "routing": r.reply["routing"] if r.reply and not r.hidden else None,
                "flags": r.reply["flags"] if r.reply and not r.hidden else [],
                "errors": r.errors,
            }
            for r in results
        ]
    }


@bp.get("/events/<int:event_id>/leads")
@roles_required("staff", "marketing", "admin")
@validated(query=LeadListQuery, response=LeadListOut)
def event_leads(event_id: int, query: LeadListQuery):
    """The event's leads, newest first (staff see their own captures)."""
    event = get_event_or_404(event_id, current_user)
    leads, total = event_leads_page(
        event, current_user,
        status=query.status, rating=query.rating, office_code=query.office,
        page=query.page, per_page=query.per_page,
    )  # fmt: skip
    decisions = last_decisions([lead.id for lead in leads])
    return {
        "items": [lead_json(lead, decisions.get(lead.id)) for lead in leads],
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
    }


@bp.get("/leads/<int:lead_id>")
@roles_required(ANY_SIGNED_IN)
@validated(response=LeadDetailOut)
def lead_detail(lead_id: int):
    """The stored lead with its flags, routing history and touches."""
    return lead_detail_json(get_lead_or_404(lead_id, current_user))
