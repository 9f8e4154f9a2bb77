"""The office workspace: the queue and lead pages, and the JSON API beside each action.

Views parse input with the schemas, call one service, commit, and shape the reply. The
HTML forms post to ``/office/leads/<id>/<action>`` and reuse the API's schemas and
services, so a form and a fetch call behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import ValidationError

from backend.api.spec import validated
from backend.auth.access import roles_required
from backend.db_types import utcnow
from backend.errors import ApiError, validation_fields
from backend.extensions import db
from backend.leads.queries import get_lead_or_404
from backend.workspace import queries, services
from backend.workspace.schemas import (
    FEEDBACK_REASONS,
    AssignIn,
    ContactIn,
    FeedbackIn,
    FeedbackOut,
    HandoverIn,
    LeadStateOut,
    OrderIn,
    OrderOut,
    QueueOut,
    QueueQuery,
    StatusIn,
    TeamLoadOut,
    TouchCreatedOut,
    TouchIn,
)

bp = Blueprint("workspace", __name__)

READERS = ("office_rep", "office_manager", "marketing", "admin")
WORKERS = ("office_rep", "office_manager")
MANAGERS = ("office_manager", "admin")


# --------------------------------------------------------------------------- pages


@bp.get("/office")
@roles_required(*READERS)
def queue_page():
    """The office's queue by urgency, with filters, team load and the monthly order."""
    try:
        filters = QueueQuery.model_validate(request.args.to_dict())
    except ValidationError:
        flash("Some filters were not understood and were reset.", "error")
        filters = QueueQuery()
    office = queries.office_for(current_user, filters.office)
    page = queries.queue_page(office, current_user, filters)
    manager = current_user.role in MANAGERS
    return render_template(
        "workspace/queue.html",
        page=page,
        items=[queries.queue_item(lead, office, page.now) for lead in page.leads],
        filters=filters,
        events=queries.office_events(office),
        order=queries.order_status(office, page.now),
        team=queries.team_load(office, page.now) if manager else None,
        manager=manager,
    )


@bp.get("/office/leads/<int:lead_id>")
@roles_required(*READERS)
def lead_page(lead_id: int):
    """One lead with its capture, routing history, event brief, autoresponder and touches."""
    lead = get_lead_or_404(lead_id, current_user)
    office = lead.office
    now = utcnow()
    return render_template(
        "workspace/lead.html",
        lead=lead,
        sla=queries.sla_view(lead, office, now) if office else None,
        allowed=services.TRANSITIONS.get(lead.status, ()),
        reasons=FEEDBACK_REASONS,
        may_work=current_user.role in WORKERS,
        manager=current_user.role in MANAGERS,
        **queries.lead_page_data(lead),
    )


def _local_time(value: str, lead) -> str | datetime:
    """A ``datetime-local`` form value is the office's wall-clock time."""
    if not value:
        return value
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None and lead.office is not None:
        parsed = parsed.replace(tzinfo=queries.office_zone(lead.office))
    return parsed


def _form_touch(lead, form):
    data = TouchIn.model_validate({**form, "at": _local_time(form.get("at", ""), lead)})
    services.log_touch(lead, current_user, **data.model_dump())
    return f"{data.kind.title()} logged."


def _form_status(lead, form):
    data = StatusIn.model_validate(form)
    services.change_status(lead, current_user, **data.model_dump())
    return f"Marked {data.status}."


def _form_handover(lead, form):
    data = HandoverIn.model_validate(form)
    services.hand_over(lead, current_user, **data.model_dump())
    return f"Handed over to {data.office_code}."


def _form_contact(lead, form):
    data = ContactIn.model_validate(form)
    changed = services.fix_contact(lead, current_user, data.model_dump(exclude_none=True))
    return "Contact data fixed: " + ", ".join(changed) + "."


def _form_feedback(lead, form):
    data = FeedbackIn.model_validate(form)
    services.record_feedback(lead, current_user, **data.model_dump())
    return "Thanks: quality feedback recorded."


def _form_assign(lead, form):
    data = AssignIn.model_validate(form)
    services.assign(lead, current_user, user_id=data.user_id)
    return "Lead assigned."


FORM_ACTIONS: dict[str, Callable] = {
    "claim": lambda lead, form: services.claim(lead, current_user) and "Lead claimed.",
    "unclaim": lambda lead, form: services.unclaim(lead, current_user) and "Claim released.",
    "touch": _form_touch,
    "status": _form_status,
    "handover": _form_handover,
    "contact": _form_contact,
    "feedback": _form_feedback,
    "assign": _form_assign,
}


def _rollback():
    db.session.rollback()
    db.session.info.pop(services.TO_ENQUEUE, None)


@bp.post("/office/leads/<int:lead_id>/<action>")
@roles_required(*WORKERS, "admin")
def lead_form_action(lead_id: int, action: str):
    """Every form on the lead page posts here; errors come back as a message on the page."""
    lead = get_lead_or_404(lead_id, current_user)
    handler = FORM_ACTIONS.get(action)
    if handler is None:
        raise ApiError(404, "not_found", "No such action.")
    if current_user.role == "admin" and action != "assign":
        flash("Admins may read leads and assign them, not work them.", "error")
        return redirect(url_for("workspace.lead_page", lead_id=lead_id))
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        message = handler(lead, form)
        services.commit_and_enqueue()
        flash(message, "ok")
    except ValidationError as exc:
        _rollback()
        details = "; ".join(f"{f['field']}: {f['message']}" for f in validation_fields(exc))
        flash(f"Not saved — {details}", "error")
    except ApiError as exc:
        _rollback()
        flash(f"Not saved — {exc.message}", "error")
    if action == "handover" and current_user.role != "admin":
        return redirect(url_for("workspace.queue_page"))
    return redirect(url_for("workspace.lead_page", lead_id=lead_id))


@bp.post("/office/order")
@roles_required(*MANAGERS)
def order_form():
    """The manager's monthly lead order form."""
    office = queries.office_for(current_user, request.form.get("office") or None)
    try:
        data = OrderIn.model_validate(
            {"monthly_lead_order": request.form.get("monthly_lead_order")}
        )
        services.set_monthly_order(office.code, current_user, data.monthly_lead_order)
        db.session.commit()
        flash("Monthly lead order saved.", "ok")
    except ValidationError:
        flash("Not saved — the order must be a whole number of leads.", "error")
    return redirect(url_for("workspace.queue_page", office=request.form.get("office") or None))


# --------------------------------------------------------------------------- JSON API


@bp.get("/api/v1/queue")
@roles_required(*READERS)
@validated(query=QueueQuery, response=QueueOut)
def api_queue(query: QueueQuery):
    """The office's open leads by urgency: escalated, then hot/warm/cold/unrated, oldest first."""
    office = queries.office_for(current_user, query.office)
    return queries.queue_json(queries.queue_page(office, current_user, query))


@bp.get("/api/v1/office/team")
@roles_required(*MANAGERS)
@validated(response=TeamLoadOut)
def api_team():
    """Open and overdue leads per member of the office (managers)."""
    office = queries.office_for(current_user, request.args.get("office"))
    return {"office": office.as_ref(), "reps": queries.team_load(office)}


def _lead_state(lead):
    services.commit_and_enqueue()
    return queries.lead_state_json(lead)


@bp.post("/api/v1/leads/<int:lead_id>/claim")
@roles_required(*WORKERS)
@validated(response=LeadStateOut)
def api_claim(lead_id: int):
    """Claim the lead (409 when another rep holds it)."""
    return _lead_state(services.claim(get_lead_or_404(lead_id, current_user), current_user))


@bp.post("/api/v1/leads/<int:lead_id>/unclaim")
@roles_required(*WORKERS)
@validated(response=LeadStateOut)
def api_unclaim(lead_id: int):
    """Release the claim (its holder or a manager)."""
    return _lead_state(services.unclaim(get_lead_or_404(lead_id, current_user), current_user))


@bp.post("/api/v1/leads/<int:lead_id>/touches")
@roles_required(*WORKERS)
@validated(body=TouchIn, response=TouchCreatedOut, status=201)
def api_touch(lead_id: int, body: TouchIn):
    """Log a touch; the first one stops the SLA clock. `at` may be past, never future."""
    lead = get_lead_or_404(lead_id, current_user)
    touch = services.log_touch(lead, current_user, **body.model_dump())
    db.session.commit()
    return {"touch": queries.touch_json(touch), "lead": queries.lead_state_json(lead)}, 201


@bp.patch("/api/v1/leads/<int:lead_id>")
@roles_required(*WORKERS)
@validated(body=StatusIn, response=LeadStateOut)
def api_status(lead_id: int, body: StatusIn):
    """Move the lead: new→contacted→qualified→won/lost (won needs a value, lost a reason)."""
    lead = get_lead_or_404(lead_id, current_user)
    return _lead_state(services.change_status(lead, current_user, **body.model_dump()))


@bp.post("/api/v1/leads/<int:lead_id>/handover")
@roles_required(*WORKERS)
@validated(body=HandoverIn, response=LeadStateOut)
def api_handover(lead_id: int, body: HandoverIn):
    """Hand the lead to another office with a reason (a new routing decision)."""
    lead = get_lead_or_404(lead_id, current_user)
    services.hand_over(lead, current_user, **body.model_dump())
    return _lead_state(lead)


@bp.patch("/api/v1/leads/<int:lead_id>/contact")
@roles_required(*WORKERS)
@validated(body=ContactIn, response=LeadStateOut)
def api_contact(lead_id: int, body: ContactIn):
    """Fix contact data; the original capture is kept and the change recorded."""
    lead = get_lead_or_404(lead_id, current_user)
    services.fix_contact(lead, current_user, body.model_dump(exclude_none=True))
    return _lead_state(lead)


@bp.post("/api/v1/leads/<int:lead_id>/feedback")
@roles_required(*WORKERS)
@validated(body=FeedbackIn, response=FeedbackOut, status=201)
def api_feedback(lead_id: int, body: FeedbackIn):
    """Quality feedback on a sampled lead: good or bad with a reason, once (409 after)."""
    lead = get_lead_or_404(lead_id, current_user)
    feedback = services.record_feedback(lead, current_user, **body.model_dump())
    db.session.commit()
    return queries.feedback_json(feedback), 201


@bp.post("/api/v1/leads/<int:lead_id>/assign")
@roles_required(*MANAGERS)
@validated(body=AssignIn, response=LeadStateOut)
def api_assign(lead_id: int, body: AssignIn):
    """A manager assigns the lead to a member of its office."""
    lead = get_lead_or_404(lead_id, current_user)
    return _lead_state(services.assign(lead, current_user, user_id=body.user_id))


@bp.put("/api/v1/offices/<code>/order")
@roles_required(*MANAGERS)
@validated(body=OrderIn, response=OrderOut)
def api_order(code: str, body: OrderIn):
    """Set the office's monthly lead order (its manager, or an admin)."""
    office = services.set_monthly_order(code, current_user, body.monthly_lead_order)
    db.session.commit()
    return queries.order_status(office)
