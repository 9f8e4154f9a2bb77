"""Reading leads: who may see which, and their JSON shapes."""

from __future__ import annotations

from functools import lru_cache

from flask import has_request_context
from flask_babel import get_locale
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from backend.auth.models import OFFICE_ROLES, User
from backend.errors import ApiError
from backend.events.models import Event
from backend.extensions import db
from backend.i18n import offices_in_reader_words, reason_text, routing_reason
from backend.leads.models import Lead, RoutingDecision, Touch
from backend.offices.models import Office, office_names, reader_language
from backend.routing.reasons import REASONS


def visible_leads(user: User) -> Select:
    """Leads the user may see: all for admin/marketing, their office's for office roles,
    their own captures for staff."""
    query = select(Lead)
    if user.role in ("admin", "marketing"):
        return query
    if user.role in OFFICE_ROLES:
        return query.where(Lead.office_id == user.office_id)
    return query.where(Lead.captured_by_id == user.id)


def get_lead_or_404(lead_id: int, user: User) -> Lead:
    """The lead if the user may see it; another office's lead is a 404, not a 403."""
    lead = db.session.scalar(visible_leads(user).where(Lead.id == lead_id))
    if lead is None:
        raise ApiError(404, "not_found", "No such lead.")
    return lead


def get_event_or_404(event_id: int, user: User) -> Event:
    """The event if the user may read it (staff: only events they staff)."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise ApiError(404, "not_found", "No such event.")
    if user.role == "staff" and event not in user.events:
        raise ApiError(404, "not_found", "No such event.")
    return event


def last_decisions(lead_ids: list[int]) -> dict[int, RoutingDecision]:
    """The latest routing decision of each lead, in one query."""
    if not lead_ids:
        return {}
    latest = (
        select(func.max(RoutingDecision.id))
        .where(RoutingDecision.lead_id.in_(lead_ids))
        .group_by(RoutingDecision.lead_id)
    )
    rows = db.session.scalars(select(RoutingDecision).where(RoutingDecision.id.in_(latest)))
    return {row.lead_id: row for row in rows}


# A hand-over's reason is what a rep typed: each is one of a kind, and erasing the lead
# must not leave it in the process (``erase_routing_reasons``). Not remembered.
_NOT_REMEMBERED = frozenset({"handover"})


def reason_display(decision) -> str:
    """``routing_reason`` remembered by the process: pages and batches repeat a few
    reasons, and each rendering formats its distances per the locale. A recompiled
    catalogue is seen here after a restart; a renamed office at once (its name is put
    into the reader's words before the reason is looked up)."""
    code = getattr(decision, "reason_code", "") or ""
    if code not in REASONS:  # an earlier version's text, naming its office as it was
        return _office_named(decision, routing_reason(decision))
    params = offices_in_reader_words(decision.reason_params)
    if code in _NOT_REMEMBERED or not has_request_context():
        return reason_text(code, params)
    # Each value's type is in the key: 3 and 3.0 (or 1 and True) are one key to a dict but
    # not one text ("3/5", "3.0/5").
    key = tuple(sorted((name, type(value), value) for name, value in (params or {}).items()))
    try:
        return _reason_in(str(get_locale()), code, key)
    except TypeError:  # a parameter that is not hashable (never written by the router)
        return reason_text(code, params)


@lru_cache(maxsize=4096)
def _reason_in(locale: str, code: str, params: tuple) -> str:
    # Called only while ``locale`` is the request's: the catalogues never change in a process.
    return reason_text(code, {name: value for name, _type, value in params})


def routing_json(decision: RoutingDecision | None) -> dict | None:
    """The decision as the API shows it: ``reason`` in English, ``reason_display`` in the
    request's language (naming the office by its name in that language)."""
    if decision is None:
        return None
    return {
        "method": decision.method,
        "distance_km": decision.distance_km,
        "reason": decision.reason,
        "reason_code": decision.reason_code,
        "reason_params": decision.reason_params,
        "reason_display": reason_display(decision),
    }


def _office_named(decision, text: str) -> str:
    """``text`` with the office's own name swapped for its name in the reader's language:
    for a reason stored as text only. ``decision`` is a stored RoutingDecision or the
    engine's fresh one."""
    office = getattr(decision, "office", None)
    code = office.code if office is not None else getattr(decision, "office_code", None)
    name = office.name if office is not None else getattr(decision, "office_name", None)
    local = office_names().get(code, {}).get(reader_language() or "") if code else None
    return text.replace(name, local) if name and local and local != name else text


def lead_json(lead: Lead, decision: RoutingDecision | None, result: str | None = None) -> dict:
    """The lead as the API shows it. Capture passes the row it has just written (not yet
    an ORM object) and the engine's decision, which carries the office's code and name."""
    office = getattr(lead, "office", None)
    return {
        "id": lead.id,
        "client_id": str(lead.client_id),
        "event_id": lead.event_id,
        "result": result,
        "status": lead.status,
        "office": office.as_ref() if office else None,
        "routing": routing_json(decision),
        "flags": list(lead.flags or []),
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "company": lead.company,
        "job_title": lead.job_title,
        "city": lead.city,
        "country": lead.country,
        "rating": lead.rating,
        "source": lead.source,
        "language": lead.language,
        "captured_at": lead.captured_at,
        "received_at": lead.received_at,
    }


def routing_history(lead_id: int) -> list[RoutingDecision]:
    """Every routing decision of a lead, oldest first."""
    return list(
        db.session.scalars(
            select(RoutingDecision)
            .where(RoutingDecision.lead_id == lead_id)
            .order_by(RoutingDecision.id)
        )
    )


def lead_detail_json(lead: Lead) -> dict:
    decisions = routing_history(lead.id)
    touches = db.session.scalars(
        select(Touch)
        .options(selectinload(Touch.user))
        .where(Touch.lead_id == lead.id)
        .order_by(Touch.at)
    ).all()
    data = lead_json(lead, decisions[-1] if decisions else None)
    data.update(
        postal_code=lead.postal_code,
        notes=lead.notes,
        answers=lead.answers or {},
        badge_raw=lead.badge_raw,
        badge_id=lead.badge_id,
        consent={
            "contact": lead.consent_contact,
            "marketing": lead.consent_marketing,
            "text": lead.consent_text,
        },
        deal_value=lead.deal_value,
        deal_currency=lead.deal_currency,
        lost_reason=lead.lost_reason,
        first_touch_at=lead.first_touch_at,
        routed_at=lead.routed_at,
        escalation_level=lead.escalation_level,
        feedback_requested=lead.feedback_requested,
        claimed_by=lead.claimed_by.name if lead.claimed_by else None,
        captured_by=lead.captured_by.name if lead.captured_by else None,
        routing_history=[
            {
                "office": d.office.as_ref(),
                "method": d.method,
                "distance_km": d.distance_km,
                "reason": d.reason,
                "reason_code": d.reason_code,
                "reason_params": d.reason_params,
                "reason_display": reason_display(d),
                "location_label": d.location_label,
                "location_source": d.location_source,
                "at": d.at,
            }
            for d in decisions
        ],
        touches=[
            {
                "id": t.id,
                "kind": t.kind,
                "outcome": t.outcome,
                "note": t.note,
                "at": t.at,
                "user": t.user.name if t.user else None,
            }
            for t in touches
        ],
    )
    return data


def event_leads_page(event: Event, user: User, *, status, rating, office_code, page, per_page):
    """One page of an event's leads the user may see, newest first, and the total."""
    query = visible_leads(user).where(Lead.event_id == event.id)
    if status:
        query = query.where(Lead.status == status)
    if rating:
        query = query.where(Lead.rating == rating)
    if office_code:
        query = query.join(Office, Lead.office_id == Office.id).where(Office.code == office_code)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    leads = db.session.scalars(
        query.order_by(Lead.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return leads, total


def form_captures_context(lead_id: int) -> dict:
    """What the visitor wrote on the public form when they were already stored (kept
    beside the lead, never applied to it), oldest first, and the labels of its fields."""
    from flask_babel import lazy_gettext as _l

    from backend.leads.models import CAPTURE_FORM, MergedCapture

    captures = db.session.scalars(
        select(MergedCapture)
        .where(MergedCapture.lead_id == lead_id, MergedCapture.kind == CAPTURE_FORM)
        .order_by(MergedCapture.id)
    ).all()
    fields = (
        ("first_name", _l("First name")), ("last_name", _l("Last name")),
        ("email", _l("E-mail")), ("phone", _l("Phone")), ("company", _l("Company")),
        ("job_title", _l("Job title")), ("city", _l("City")), ("notes", _l("Notes")),
    )  # fmt: skip
    return {"form_captures": captures, "form_fields": fields}
