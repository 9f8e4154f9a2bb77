"""The office workspace: the queue and lead pages, and the JSON API beside each action.

Views parse input with the schemas, call one service and shape the reply; the request
commits (``backend.transaction``). The HTML forms post to ``/office/leads/<id>/<action>``
and reuse the API's schemas and services, so a form and a fetch call behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError

from backend.api.spec import ErrorOut, validated
from backend.auth.access import roles_required
from backend.db_types import utcnow
from backend.errors import ApiError, validation_fields
from backend.extensions import db
from backend.formatting import money_field
from backend.i18n import format_datetime_in, label
from backend.leads.corrections import correct_capture
from backend.leads.queries import form_captures_context, get_lead_or_404
from backend.transaction import rollback
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
    ReopenIn,
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
        flash(_("Some filters were not understood and were reset."), "error")
        filters = QueueQuery()
    office = queries.office_for(current_user, filters.office)
    page = queries.queue_page(office, current_user, filters)
    manager = current_user.role in MANAGERS
    return render_template(
        "workspace/queue.html",
        page=page,
        items=[queries.queue_item(lead, office, page.now, page.awaiting) for lead in page.leads],
        filters=filters,
        events=queries.office_events(office),
        queue_order=queries.QUEUE_ORDER,
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
        next_step=queries.next_step_view(lead, office, now),
        allowed=services.TRANSITIONS.get(lead.status, ()),
        may_reopen=lead.status in ("won", "lost")
        and current_user.role in WORKERS
        and (current_user.role in MANAGERS or services.closed_by(lead) == current_user.id),
        reasons=FEEDBACK_REASONS,
        may_work=current_user.role in WORKERS,
        manager=current_user.role in MANAGERS,
        **queries.lead_page_data(lead),
        **form_captures_context(lead.id),
    )


def _local_time(value: str, lead) -> str | datetime:
    """A ``datetime-local`` form value is the office's wall-clock time."""
    if not value:
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value  # not a time: the schema turns it into a form error
    if parsed.tzinfo is None and lead.office is not None:
        parsed = parsed.replace(tzinfo=queries.office_zone(lead.office))
    return parsed


# Form fields by the names the reader knows them by (flash messages, validation errors).
CONTACT_FIELDS = {
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "company": _l("Company"),
    "job_title": _l("Job title"),
    "kind": _l("Kind"),
    "outcome": _l("Outcome"),
    "note": _l("Note"),
    "at": _l("When"),
    "status": _l("New status"),
    "deal_value": _l("Deal value"),
    "deal_currency": _l("Currency"),
    "lost_reason": _l("Lost reason"),
    "office_code": _l("Office"),
    "reason": _l("Reason"),
    "verdict": _l("Verdict"),
    "user_id": _l("Rep"),
    "next_step": _l("Next step"),
    "next_step_at": _l("Next step when"),
}

# The services raise English ``ApiError`` messages for the JSON API; the lead page shows the
# same refusal in the reader's language, keyed by the error's stable code (or its text when
# one code covers several cases).
PAGE_ERRORS = {
    "touch_in_future": _l("A touch cannot be logged in the future."),
    "next_step_in_past": _l("The next step must lie in the future."),
    "deal_value_required": _l("A won lead needs a deal value above zero."),
    "lost_reason_required": _l("Say why the lead was lost."),
    "same_office": _l("The lead is already with that office."),
    "nothing_changed": _l("Nothing to change: the fields are as stored."),
    "feedback_not_requested": _l("Feedback was not requested for this lead."),
    "reason_required": _l("Say why the lead is bad."),
    "feedback_exists": _l("This lead already has its quality feedback."),
    "invalid_assignee": _l("Assign the lead to a member of its office."),
    "not_closed": _l("Only a won or lost lead can be reopened."),
    "Only the rep who closed the lead or a manager may reopen it.": _l(
        "Only the rep who closed the lead or a manager may reopen it."
    ),
    "Give the touch time with its time zone.": _l("Give the touch time with its time zone."),
    "Only the rep who claimed it or a manager may release it.": _l(
        "Only the rep who claimed it or a manager may release it."
    ),
    "Only a manager may assign leads.": _l("Only a manager may assign leads."),
}


def page_error(exc: ApiError, lead, form: dict) -> str:
    """The refusal behind ``exc`` as the lead page says it, in the reader's language."""
    if exc.code == "already_claimed" and lead.claimed_by is not None:
        return _("%(name)s has already claimed this lead.", name=lead.claimed_by.name)
    if exc.code == "touch_before_arrival":
        zone = lead.office.timezone if lead.office else "UTC"
        arrived = format_datetime_in(lead.received_at, zone) + " " + zone
        return _("A touch cannot be earlier than the lead's arrival (%(time)s).", time=arrived)
    if exc.code == "invalid_transition":
        allowed = services.TRANSITIONS.get(lead.status, ())
        return _(
            "A %(status)s lead cannot become %(target)s; allowed: %(options)s.",
            status=label(lead.status, "status"),
            target=label(form.get("status"), "status"),
            options=", ".join(label(s, "status") for s in allowed) or _("none: it is final"),
        )
    if exc.code == "not_found" and "office_code" in form:
        return _("No office %(code)s.", code=form["office_code"])
    message = PAGE_ERRORS.get(exc.code) or PAGE_ERRORS.get(exc.message)
    return str(message) if message is not None else exc.message


def _form_touch(lead, form):
    data = TouchIn.model_validate(
        {
            **form,
            "at": _local_time(form.get("at", ""), lead),
            "next_step_at": _local_time(form.get("next_step_at", ""), lead),
        }
    )
    services.log_touch(lead, current_user, **data.model_dump())
    return _("%(kind)s logged.", kind=label(data.kind, "touch").capitalize())


def _form_status(lead, form):
    # Typed as people write it: "500 000", "500,000.50", "500 000,50".
    form = {**form, "deal_value": money_field(form.get("deal_value") or None)}
    data = StatusIn.model_validate(form)
    services.change_status(lead, current_user, **data.model_dump())
    return _("Marked %(status)s.", status=label(data.status, "status"))


def _form_handover(lead, form):
    data = HandoverIn.model_validate(form)
    services.hand_over(lead, current_user, **data.model_dump())
    return _("Handed over to %(office)s.", office=data.office_code)


def _form_contact(lead, form):
    data = ContactIn.model_validate(form)
    changed = services.fix_contact(lead, current_user, data.model_dump(exclude_none=True))
    fields = ", ".join(str(CONTACT_FIELDS.get(name, name)) for name in changed)
    return _("Contact data fixed: %(fields)s.", fields=fields)


def _form_feedback(lead, form):
    data = FeedbackIn.model_validate(form)
    services.record_feedback(lead, current_user, **data.model_dump())
    return _("Thanks: quality feedback recorded.")


def _form_reopen(lead, form):
    data = ReopenIn.model_validate(form)
    services.reopen(lead, current_user, reason=data.reason)
    return _("Reopened: the lead is %(status)s again.", status=label(lead.status, "status"))


def _form_assign(lead, form):
    data = AssignIn.model_validate(form)
    services.assign(lead, current_user, user_id=data.user_id)
    return _("Lead assigned.")


FORM_ACTIONS: dict[str, Callable] = {
    "claim": lambda lead, form: services.claim(lead, current_user) and _("Lead claimed."),
    "unclaim": lambda lead, form: services.unclaim(lead, current_user) and _("Claim released."),
    "touch": _form_touch,
    "status": _form_status,
    "handover": _form_handover,
    "contact": _form_contact,
    "feedback": _form_feedback,
    "assign": _form_assign,
    "reopen": _form_reopen,
}


@bp.post("/office/leads/<int:lead_id>/<action>")
@roles_required(*WORKERS, "admin")
def lead_form_action(lead_id: int, action: str):
    """Every form on the lead page posts here; errors come back as a message on the page."""
    lead = get_lead_or_404(lead_id, current_user)
    handler = FORM_ACTIONS.get(action)
    if handler is None:
        raise ApiError(404, "not_found", "No such action.")
    if current_user.role == "admin" and action != "assign":
        flash(_("Admins may read leads and assign them, not work them."), "error")
        return redirect(url_for("workspace.lead_page", lead_id=lead_id))
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        message = handler(lead, form)
        flash(message, "ok")
    except ValidationError as exc:
        rollback()  # the page answers with a redirect: nothing half-done may stay
        details = "; ".join(
            f"{CONTACT_FIELDS.get(f['field'], f['field'])}: {f['message']}"
            for f in validation_fields(exc)
        )
        flash(_("Not saved — %(reason)s", reason=details), "error")
    except ApiError as exc:
        rollback()
        flash(_("Not saved — %(reason)s", reason=page_error(exc, lead, form)), "error")
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
        flash(_("Monthly lead order saved."), "ok")
    except ValidationError:
        flash(_("Not saved — the order must be a whole number of leads."), "error")
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
    # The lead as stored: a service may have changed a key whose relationship (the
    # office of a hand-over) still holds the object loaded before.
    db.session.flush()
    db.session.expire(lead)
    return queries.lead_state_json(lead)


@bp.post("/api/v1/leads/<int:lead_id>/claim")
@roles_required(*WORKERS)
@validated(response=LeadStateOut, extra_responses={409: ErrorOut})
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
@roles_required(*WORKERS, "staff")
@validated(body=ContactIn, response=LeadStateOut)
def api_contact(lead_id: int, body: ContactIn):
    """Fix contact data; the original capture is kept and the change recorded. The staff
    member who captured the lead may also correct rating, answers and notes, until the office
    first touches it; after that the correction reaches the office as a note."""
    lead = get_lead_or_404(lead_id, current_user)
    if current_user.role == "staff":
        correct_capture(lead, current_user, body.model_dump(exclude_none=True))
    else:
        services.fix_contact(lead, current_user, body.model_dump(exclude_none=True))
    return _lead_state(lead)


@bp.post("/api/v1/leads/<int:lead_id>/feedback")
@roles_required(*WORKERS)
@validated(body=FeedbackIn, response=FeedbackOut, status=201, extra_responses={409: ErrorOut})
def api_feedback(lead_id: int, body: FeedbackIn):
    """Quality feedback on a sampled lead: good or bad with a reason, once (409 after)."""
    lead = get_lead_or_404(lead_id, current_user)
    feedback = services.record_feedback(lead, current_user, **body.model_dump())
    return queries.feedback_json(feedback), 201


@bp.post("/api/v1/leads/<int:lead_id>/reopen")
@roles_required(*WORKERS)
@validated(body=ReopenIn, response=LeadStateOut)
def api_reopen(lead_id: int, body: ReopenIn):
    """Reopen a won or lost lead with a reason (the rep who closed it or a manager): won goes
    back to qualified, lost to the status it had before; audited."""
    lead = get_lead_or_404(lead_id, current_user)
    return _lead_state(services.reopen(lead, current_user, reason=body.reason))


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
    return queries.order_status(office)
