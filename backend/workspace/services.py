"""Working a lead: claim, touch, move through the pipeline, hand over, fix, rate, assign.

Plain functions taking the lead (already loaded through ``get_lead_or_404``, so the
caller may see it), the acting user and the data. They check what they accept, raise
``ApiError`` with a clear message, flush, and leave the commit to the caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.audit.services import record
from backend.auth.models import OFFICE_ROLES, User
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.models import Lead, QualityFeedback, RoutingDecision, Touch
from backend.leads.normalize import normalize_email, normalize_phone
from backend.messaging.planning import insert_messages, plan_lead_won
from backend.messaging.sending import enqueue_messages
from backend.offices.models import Office
from backend.routing.engine import Decision, ResolvedLocation
from backend.routing.geo import distance_km
from backend.routing.services import apply_decision, build_index
from backend.telegram.services import won_rows
from backend.transaction import after_commit

# Where a lead may go from each status. Won and lost are final; a stale lead is revived
# by contacting it.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("contacted", "qualified", "lost"),
    "contacted": ("qualified", "lost"),
    "qualified": ("won", "lost"),
    "stale": ("contacted",),
    "won": (),
    "lost": (),
}
# A browser clock running a little fast must not make "just now" a future touch.
CLOCK_SKEW = timedelta(minutes=2)
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "company", "job_title")
MANAGER_ROLES = ("office_manager", "admin")
CENT = Decimal("0.01")


def claim(lead: Lead, user: User) -> Lead:
    """Claim the lead for ``user``. Raises 409 when someone else holds it.

    A conditional UPDATE decides between two reps claiming at the same moment.
    """
    now = utcnow()
    result = db.session.execute(
        update(Lead)
        .where(
            Lead.id == lead.id,
            or_(Lead.claimed_by_id.is_(None), Lead.claimed_by_id == user.id),
        )
        .values(claimed_by_id=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(lead)
    if result.rowcount == 0:
        holder = lead.claimed_by.name if lead.claimed_by else "someone else"
        raise ApiError(409, "already_claimed", f"{holder} has already claimed this lead.")
    return lead


def unclaim(lead: Lead, user: User) -> Lead:
    """Release the claim. Only its holder or a manager may; raises 403 otherwise."""
    if lead.claimed_by_id is None:
        return lead
    if lead.claimed_by_id != user.id and user.role not in MANAGER_ROLES:
        raise ApiError(403, "forbidden", "Only the rep who claimed it or a manager may release it.")
    lead.claimed_by_id = None
    lead.claimed_at = None
    db.session.flush()
    return lead


def log_touch(
    lead: Lead,
    user: User,
    *,
    kind: str,
    outcome: str = "",
    note: str = "",
    at: datetime | None = None,
    next_step: str | None = None,
    next_step_at: datetime | None = None,
    now: datetime | None = None,
) -> Touch:
    """Record a call, e-mail, meeting, message or note.

    ``at`` defaults to now and may lie in the past, but not before the lead arrived nor
    in the future (422). The first touch sets ``first_touch_at`` (stopping the SLA clock);
    a first real contact (anything but a note) moves a new lead to contacted. A touch
    with a next step (what and when) sets the lead's next step; a contact without one
    clears it (the step was done), a note leaves it.
    """
    now = now or utcnow()
    at = at or now
    if at.tzinfo is None:
        raise ApiError(422, "invalid", "Give the touch time with its time zone.",
                       [{"field": "at", "message": "needs a time zone"}])  # fmt: skip
    if at > now + CLOCK_SKEW:
        raise ApiError(422, "touch_in_future", "A touch cannot be logged in the future.",
                       [{"field": "at", "message": "is in the future"}])  # fmt: skip
    if at < lead.received_at:
        arrived = lead.received_at.strftime("%Y-%m-%d %H:%M UTC")
        raise ApiError(
            422, "touch_before_arrival",
            f"A touch cannot be earlier than the lead's arrival ({arrived}).",
            [{"field": "at", "message": f"is before the lead arrived ({arrived})"}],
        )  # fmt: skip
    if next_step_at is not None and next_step_at < now - CLOCK_SKEW:
        raise ApiError(422, "next_step_in_past", "The next step must lie in the future.",
                       [{"field": "next_step_at", "message": "is in the past"}])  # fmt: skip
    at = min(at, now)
    touch = Touch(lead=lead, user_id=user.id, kind=kind, outcome=outcome, note=note, at=at)
    db.session.add(touch)
    if lead.first_touch_at is None or at < lead.first_touch_at:
        lead.first_touch_at = at
    if kind != "note" and lead.status == "new":
        lead.status = "contacted"
        lead.status_changed_at = now
    if lead.claimed_by_id is None:
        lead.claimed_by_id, lead.claimed_at = user.id, now
    if next_step is not None:
        lead.next_step, lead.next_step_at = next_step, next_step_at
    elif kind != "note":
        lead.next_step, lead.next_step_at = None, None
    db.session.flush()
    return touch


def change_status(
    lead: Lead,
    user: User,
    *,
    status: str,
    deal_value: Decimal | None = None,
    deal_currency: str | None = None,
    lost_reason: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Move the lead along the pipeline; an invalid jump is refused (422) naming the allowed ones.

    Won needs a deal value above zero (the currency defaults to the event's); lost needs
    a reason. Winning queues the win announcement.
    """
    now = now or utcnow()
    allowed = TRANSITIONS.get(lead.status, ())
    if status not in allowed:
        options = ", ".join(allowed) if allowed else "none: it is final"
        raise ApiError(
            422, "invalid_transition",
            f"A {lead.status} lead cannot become {status}; allowed: {options}.",
            [{"field": "status", "message": f"allowed from {lead.status}: {options}"}],
        )  # fmt: skip
    if status == "won":
        if deal_value is None or deal_value <= 0:
            raise ApiError(422, "deal_value_required", "A won lead needs a deal value above zero.",
                           [{"field": "deal_value", "message": "must be above zero"}])  # fmt: skip
        # In cents, as the column stores it: the lead.won webhook is rendered from this
        # object before the row is read back, and must say 12500.00 like the others.
        lead.deal_value = Decimal(deal_value).quantize(CENT)
        lead.deal_currency = (deal_currency or lead.event.currency or "EUR").upper()
        lead.won_at = now
    if status == "lost":
        if not (lost_reason or "").strip():
            raise ApiError(422, "lost_reason_required", "Say why the lead was lost.",
                           [{"field": "lost_reason", "message": "is required"}])  # fmt: skip
        lead.lost_reason = lost_reason.strip()
    previous = lead.status
    if status in ("won", "lost"):
        lead.status_before_close = previous  # where a reopened lost lead goes back to
    lead.status = status
    lead.status_changed_at = now
    record("lead.status", user=user, target=lead, detail={"from": previous, "to": status})
    db.session.flush()
    if status == "won":
        _announce_win(lead)
    return lead


def closed_by(lead: Lead) -> int | None:
    """The id of the user who last marked the lead won or lost (from the audit log)."""
    from backend.audit.models import AuditEntry

    entries = db.session.execute(
        select(AuditEntry.user_id, AuditEntry.detail)
        .where(
            AuditEntry.action == "lead.status",
            AuditEntry.target_type == "lead",
            AuditEntry.target_id == str(lead.id),
        )
        .order_by(AuditEntry.id.desc())
    )
    for user_id, detail in entries:
        if (detail or {}).get("to") in ("won", "lost"):
            return user_id
    return None


def reopen(lead: Lead, user: User, *, reason: str, now: datetime | None = None) -> Lead:
    """Undo a close: won goes back to qualified (the deal value is cleared, so revenue and
    reports drop it), lost goes back to the status it had before. The rep who closed it or
    a manager may (403 otherwise); a lead that is not won or lost is refused (422).
    """
    now = now or utcnow()
    if lead.status not in ("won", "lost"):
        raise ApiError(422, "not_closed", "Only a won or lost lead can be reopened.",
                       [{"field": "status", "message": f"is {lead.status}"}])  # fmt: skip
    if user.role not in MANAGER_ROLES and closed_by(lead) != user.id:
        raise ApiError(
            403, "forbidden", "Only the rep who closed the lead or a manager may reopen it."
        )
    previous = lead.status
    detail = {"from": previous, "reason": reason.strip()[:300]}
    if previous == "won":
        target = "qualified"
        detail["deal_value"] = str(lead.deal_value) if lead.deal_value is not None else None
        detail["deal_currency"] = lead.deal_currency
        lead.deal_value, lead.deal_currency, lead.won_at = None, None, None
    else:
        before = lead.status_before_close
        target = before if before in ("new", "contacted", "qualified") else "contacted"
        detail["lost_reason"] = lead.lost_reason
        lead.lost_reason = None
    lead.status = target
    lead.status_before_close = None
    lead.status_changed_at = now
    detail["to"] = target
    record("lead.reopened", user=user, target=lead, detail=detail)
    db.session.flush()
    return lead


def _announce_win(lead: Lead) -> None:
    """Write the lead.won webhook rows and the "won in the office" notices for its reps
    (messaging room); the workers are woken once the request has committed."""
    ids = plan_lead_won(lead)
    ids += insert_messages(won_rows(lead))
    if ids:
        after_commit(partial(enqueue_messages, ids))


def _last_location(lead: Lead) -> ResolvedLocation | None:
    last = db.session.scalar(
        select(RoutingDecision)
        .where(RoutingDecision.lead_id == lead.id, RoutingDecision.latitude.is_not(None))
        .order_by(RoutingDecision.id.desc())
        .limit(1)
    )
    if last is None:
        return None
    return ResolvedLocation(
        last.latitude, last.longitude, last.location_label, last.location_source, None, None
    )


def hand_over(lead: Lead, user: User, *, office_code: str, reason: str) -> RoutingDecision:
    """Send the lead to another office with a reason: a new routing decision, claim cleared.

    Raises 404 for an unknown office and 422 for the lead's own office.
    """
    target = db.session.scalar(select(Office).where(Office.code == office_code))
    if target is None:
        raise ApiError(404, "not_found", f"No office {office_code}.",
                       [{"field": "office_code", "message": "unknown office"}])  # fmt: skip
    if target.id == lead.office_id:
        raise ApiError(422, "same_office", "The lead is already with that office.",
                       [{"field": "office_code", "message": "is the lead's office"}])  # fmt: skip
    source = lead.office.name if lead.office else "no office"
    location = _last_location(lead)
    distance = (
        distance_km(location.latitude, location.longitude, target.latitude, target.longitude)
        if location
        else None
    )
    decision = Decision(
        office_id=target.id,
        office_code=target.code,
        office_name=target.name,
        method="handover",
        distance_km=distance,
        location=location,
        reason_code="handover",
        reason_params={"source": source, "user": user.name or user.email, "text": reason.strip()},
        flags=(),
    )
    row = apply_decision(lead, decision, build_index(), decided_by_id=user.id)
    lead.claimed_by_id = None
    lead.claimed_at = None
    record(
        "lead.handover", user=user, target=lead,
        detail={"from": source, "to": target.code, "reason": reason.strip()[:300]},
    )  # fmt: skip
    db.session.flush()
    return row


def fix_contact(lead: Lead, user: User, changes: dict) -> dict:
    """Correct contact fields; the first capture stays in ``lead.original`` and each change
    is written to the audit log. Returns ``{field: [old, new]}`` for what changed."""
    if not lead.original:
        lead.original = {name: getattr(lead, name) for name in CONTACT_FIELDS}
    changed: dict[str, list[str]] = {}
    flags = list(lead.flags or [])
    for name in CONTACT_FIELDS:
        if name not in changes or changes[name] is None:
            continue
        old, new = getattr(lead, name) or "", changes[name]
        if name == "email":
            new, lead.email_normalized, ok = normalize_email(new)
            flags = [f for f in flags if f != "bad_email"] + ([] if ok else ["bad_email"])
        elif name == "phone":
            region = lead.country if len(lead.country or "") == 2 else None
            new, lead.phone_normalized, ok = normalize_phone(new, region)
            flags = [f for f in flags if f != "bad_phone"] + ([] if ok else ["bad_phone"])
        if new != old:
            setattr(lead, name, new)
            changed[name] = [old, new]
    if not changed:
        raise ApiError(422, "nothing_changed", "Nothing to change: the fields are as stored.")
    lead.flags = flags
    record("lead.contact_fixed", user=user, target=lead, detail=changed)
    db.session.flush()
    return changed


def record_feedback(
    lead: Lead, user: User, *, verdict: str, reason: str | None = None, note: str = ""
) -> QualityFeedback:
    """Sales' one verdict on a sampled lead. Raises 422 when the lead was not sampled or a
    bad verdict has no reason, and 409 when the lead already has a verdict."""
    if not lead.feedback_requested:
        raise ApiError(422, "feedback_not_requested", "Feedback was not requested for this lead.")
    if verdict == "bad" and not reason:
        raise ApiError(422, "reason_required", "Say why the lead is bad.",
                       [{"field": "reason", "message": "is required for a bad lead"}])  # fmt: skip
    if db.session.scalar(select(QualityFeedback.id).where(QualityFeedback.lead_id == lead.id)):
        raise ApiError(409, "feedback_exists", "This lead already has its quality feedback.")
    feedback = QualityFeedback(
        lead_id=lead.id, user_id=user.id, verdict=verdict, reason=reason or "", note=note
    )
    try:
        with db.session.begin_nested():
            db.session.add(feedback)
            db.session.flush()
    except IntegrityError:
        raise ApiError(
            409, "feedback_exists", "This lead already has its quality feedback."
        ) from None
    return feedback


def assign(lead: Lead, manager: User, *, user_id: int) -> Lead:
    """A manager gives the lead to a member of the lead's office (403 for anyone else,
    422 for someone outside the office)."""
    if manager.role not in MANAGER_ROLES:
        raise ApiError(403, "forbidden", "Only a manager may assign leads.")
    rep = db.session.get(User, user_id)
    if (
        rep is None
        or not rep.active
        or rep.role not in OFFICE_ROLES
        or rep.office_id != lead.office_id
    ):
        raise ApiError(422, "invalid_assignee", "Assign the lead to a member of its office.",
                       [{"field": "user_id", "message": "not a member of the office"}])  # fmt: skip
    lead.claimed_by_id = rep.id
    lead.claimed_at = utcnow()
    record("lead.assigned", user=manager, target=lead, detail={"user_id": rep.id})
    db.session.flush()
    return lead


def set_monthly_order(office_code: str, user: User, value: int | None) -> Office:
    """Set how many leads the office wants per month: its manager or an admin.

    Raises 404 for an unknown office or another office's manager, 403 for other roles.
    """
    office = db.session.scalar(select(Office).where(Office.code == office_code))
    if office is None or (user.role == "office_manager" and user.office_id != office.id):
        raise ApiError(404, "not_found", "No such office.")
    if user.role not in MANAGER_ROLES:
        raise ApiError(403, "forbidden", "Only the office's manager may order leads.")
    previous = office.monthly_lead_order
    office.monthly_lead_order = value
    record("office.lead_order", user=user, target=office, detail={"from": previous, "to": value})
    db.session.flush()
    return office
