"""Reading the office workspace: the queue by what to do now, team load, the monthly order,
a lead's page.

The queue answers "what now?" in three groups (``QUEUE_ORDER`` says it on the page):

1. untouched leads (new, no touch: the SLA clock runs), escalated ones first, then by SLA
   due time (so overdue ones come first), hot before warm before cold when due together;
2. touched leads whose next step is due, by its time;
3. the rest, newest first.

Within one office the SLA due time only grows with the arrival time, except that every
arrival on a non-working day starts its clock at the next working midnight: those are
due together. The order sorts by that clock start (a short CASE over the non-working
spans of the last month), so it stays one SQL query over the office's open leads.
Pages of 100 rows keep the render time flat however long the queue grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import joinedload

from backend.audit.models import AuditEntry
from backend.auth.models import OFFICE_ROLES, User
from backend.db_types import UTCDateTime, utcnow
from backend.errors import ApiError
from backend.events.content import brief_in, question_labels
from backend.extensions import db
from backend.i18n import format_datetime_in, label
from backend.leads.models import (
    ESCALATION_ESCALATED,
    OPEN_STATUSES,
    Lead,
    QualityFeedback,
    Touch,
)
from backend.leads.queries import routing_history
from backend.messaging.models import Message
from backend.offices.models import Office
from backend.sla import sla_state, working_start_before

RATING_ORDER = {"hot": 0, "warm": 1, "cold": 2}
UNRATED = 3
QUEUE_ORDER = _l(
    "Order: untouched leads by SLA due time (escalated and overdue first; hot before warm "
    "before cold when due together), then leads whose next step is due, then the rest, "
    "newest first."
)
# Untouched open leads older than this are marked stale by the sweep (30 days).
CLOCK_LOOKBACK = timedelta(days=32)


def office_zone(office: Office) -> ZoneInfo:
    try:
        return ZoneInfo(office.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def office_for(user: User, code: str | None = None) -> Office:
    """The office whose workspace the user sees: their own, or (marketing, admin) any by code.

    Raises ApiError(404) when there is no such office, or the user has none.
    """
    if user.role in OFFICE_ROLES:
        if user.office is None:
            raise ApiError(404, "not_found", "You are not a member of any office.")
        if code and code != user.office.code:
            raise ApiError(404, "not_found", "No such office.")
        return user.office
    query = select(Office).order_by(Office.code).limit(1)
    if code:
        query = select(Office).where(Office.code == code)
    office = db.session.scalar(query)
    if office is None:
        raise ApiError(404, "not_found", "No such office.")
    return office


def overdue_cutoff(office: Office, now: datetime) -> datetime:
    """The latest arrival time whose SLA has run out by ``now``.

    A lead routed at or before it (and still untouched and new) is overdue: the sweep's
    own ``working_start_before``, so the database counts overdue leads instead of each
    one being checked in Python.
    """
    return working_start_before(
        now, timedelta(hours=office.sla), office.timezone, office.working_days
    )


def _overdue_clause(cutoff: datetime):
    return and_(Lead.status == "new", Lead.first_touch_at.is_(None), Lead.routed_at <= cutoff)


def queue_select(office: Office, user: User, filters) -> Select:
    """The filtered queue as a query (without order): open leads unless a status is asked."""
    query = select(Lead).where(Lead.office_id == office.id)
    if filters.status:
        query = query.where(Lead.status == filters.status)
    else:
        query = query.where(Lead.status.in_(OPEN_STATUSES))
    if filters.event:
        query = query.where(Lead.event_id == filters.event)
    if filters.rating == "unrated":
        query = query.where(Lead.rating.is_(None))
    elif filters.rating:
        query = query.where(Lead.rating == filters.rating)
    if filters.mine:
        query = query.where(Lead.claimed_by_id == user.id)
    if filters.unclaimed:
        query = query.where(Lead.claimed_by_id.is_(None))
    if filters.since:
        query = query.where(Lead.routed_at > filters.since)
    return query


def closed_spans(office: Office, now: datetime) -> list[tuple[datetime, datetime]]:
    """The office's non-working days of the last month as UTC [start, end) spans, merged.

    An SLA clock that starts inside a span starts at its end (the next working midnight).
    """
    zone = office_zone(office)
    days = {int(c) for c in office.working_days or "" if c in "1234567"} or set(range(1, 8))
    if len(days) == 7:
        return []
    spans: list[tuple[datetime, datetime]] = []
    day = (now - CLOCK_LOOKBACK).astimezone(zone).date()
    last = now.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() not in days:
            start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        day += timedelta(days=1)
    return spans


def clock_start(office: Office, now: datetime):
    """SQL: when the lead's SLA clock started (its arrival, or the end of the non-working
    span it arrived in). Sorting by it sorts by SLA due time within the office."""
    spans = closed_spans(office, now)
    if not spans:
        return Lead.routed_at
    return case(
        *[
            (and_(Lead.routed_at >= start, Lead.routed_at < end), literal(end, UTCDateTime))
            for start, end in spans
        ],
        else_=Lead.routed_at,
    )


def queue_order(office: Office, now: datetime) -> tuple:
    """The ORDER BY of the queue (see the module docstring)."""
    untouched = and_(Lead.first_touch_at.is_(None), Lead.status == "new")
    step_due = and_(Lead.next_step_at.is_not(None), Lead.next_step_at <= now)
    group = case((untouched, 0), (step_due, 1), else_=2)
    escalated = case((and_(untouched, Lead.escalation_level >= ESCALATION_ESCALATED), 0), else_=1)
    rating = case((untouched, case(RATING_ORDER, value=Lead.rating, else_=UNRATED)), else_=0)
    return (
        group,
        escalated,
        case((untouched, clock_start(office, now))).asc(),
        rating,
        case((untouched, Lead.routed_at)).asc(),
        case((and_(~untouched, step_due), Lead.next_step_at)).asc(),
        case((~untouched, Lead.routed_at)).desc(),
        Lead.id.asc(),
    )


def page_statement(base: Select, page: int, per_page: int, order: tuple) -> Select:
    """One page of the queue in one statement.

    The inner query picks the page's ids in queue order from narrow rows; the outer one
    loads just those leads with their event, office and claimer.
    """
    page_ids = (
        base.with_only_columns(Lead.id)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return (
        select(Lead)
        .options(joinedload(Lead.claimed_by).lazyload(User.office))
        .where(Lead.id.in_(page_ids.scalar_subquery()))
        .order_by(*order)
    )


@dataclass
class QueuePage:
    office: Office
    now: datetime
    leads: list[Lead]
    total: int
    unclaimed: int
    overdue: int
    page: int
    per_page: int

    awaiting: set[int] = field(default_factory=set)

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def queue_page(office: Office, user: User, filters, now: datetime | None = None) -> QueuePage:
    """One page of the office's queue by urgency, with counts over all the filtered leads."""
    now = now or utcnow()
    base = queue_select(office, user, filters)
    order = queue_order(office, now)
    leads = db.session.scalars(page_statement(base, filters.page, filters.per_page, order)).all()
    counted = base.with_only_columns(
        func.count(),
        func.coalesce(func.sum(case((Lead.claimed_by_id.is_(None), 1), else_=0)), 0),
        func.coalesce(
            func.sum(case((_overdue_clause(overdue_cutoff(office, now)), 1), else_=0)), 0
        ),
    )
    total, unclaimed, overdue = db.session.execute(counted).one()
    return QueuePage(
        office, now, list(leads), int(total), int(unclaimed), int(overdue),
        filters.page, filters.per_page, awaiting_verdict(leads),
    )  # fmt: skip


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return gettext("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return gettext("%(minutes)s min", minutes=minutes)


def sla_view(lead: Lead, office: Office, now: datetime) -> dict:
    """The SLA clock as the queue shows it: working time left or overdue, due in local time."""
    state = sla_state(lead, office, now)
    due_local = None
    if state["due_at"] is not None:
        local = state["due_at"].astimezone(office_zone(office))
        due_local = format_datetime_in(local, local.tzinfo, "EEE dd MMM HH:mm") + " "
        due_local += office.timezone or "UTC"
    # Labels and the due time come in the page's language (English outside a request).
    if state["due_at"] is None:
        label = gettext("touched") if lead.first_touch_at else "—"
    elif state["overdue"]:
        label = gettext("overdue %(time)s", time=_duration(state["remaining_seconds"]))
    else:
        label = gettext("%(time)s left", time=_duration(state["remaining_seconds"]))
    return {
        "due_at": state["due_at"],
        "due_local": due_local,
        "remaining_seconds": state["remaining_seconds"],
        "overdue": state["overdue"],
        "label": label,
    }


def next_step_view(lead: Lead, office: Office | None, now: datetime) -> dict | None:
    """The lead's next step as the queue shows it: "next: call back Tue 10:00 (zone)"."""
    if not lead.next_step or lead.next_step_at is None:
        return None
    zone = office.timezone if office else "UTC"
    when = format_datetime_in(lead.next_step_at, zone, "EEE HH:mm")
    if abs(lead.next_step_at - now) > timedelta(days=6):
        when = format_datetime_in(lead.next_step_at, zone, "EEE d MMM HH:mm")
    when += " (" + (zone or "UTC") + ")"
    step = label(lead.next_step, "next_step")
    return {
        "kind": lead.next_step,
        "at": lead.next_step_at,
        "due": lead.next_step_at <= now,
        "label": gettext("next: %(step)s %(time)s", step=step, time=when),
    }


def user_ref(user: User | None) -> dict | None:
    return {"id": user.id, "name": user.name or user.email} if user else None


def awaiting_verdict(leads) -> set[int]:
    """The ids among ``leads`` whose quality feedback was asked for and is not in yet."""
    asked = [lead.id for lead in leads if lead.feedback_requested]
    if not asked:
        return set()
    given = set(
        db.session.scalars(
            select(QualityFeedback.lead_id).where(QualityFeedback.lead_id.in_(asked))
        )
    )
    return set(asked) - given


def queue_item(lead: Lead, office: Office, now: datetime, awaiting: set[int] | None = None) -> dict:
    """One row of the queue; ``awaiting`` (from ``awaiting_verdict``) says which leads still
    wait for their quality verdict (every sampled one when not given)."""
    age = int((now - lead.received_at).total_seconds())
    flags = list(lead.flags or [])
    if lead.feedback_requested and (awaiting is None or lead.id in awaiting):
        flags.append("feedback_requested")
    return {
        "id": lead.id,
        "name": lead.full_name or lead.email or lead.phone or gettext("Lead %(id)s", id=lead.id),
        "company": lead.company,
        "event": {"id": lead.event.id, "name": lead.event.name},
        "rating": lead.rating,
        "status": lead.status,
        "escalation_level": lead.escalation_level,
        "escalated": lead.escalation_level >= ESCALATION_ESCALATED,
        "received_at": lead.received_at,
        "routed_at": lead.routed_at,
        "age_seconds": age,
        "age_label": _duration(age),
        "sla": sla_view(lead, office, now),
        "next_step": next_step_view(lead, office, now),
        "flags": flags,
        "claimed_by": user_ref(lead.claimed_by),
        "url": f"/office/leads/{lead.id}",
    }


def queue_json(page: QueuePage) -> dict:
    return {
        "office": page.office.as_ref(),
        "now": page.now,
        "items": [queue_item(lead, page.office, page.now, page.awaiting) for lead in page.leads],
        "page": page.page,
        "per_page": page.per_page,
        "counts": {"total": page.total, "unclaimed": page.unclaimed, "overdue": page.overdue},
    }


def team_load(office: Office, now: datetime | None = None) -> list[dict]:
    """Open leads and overdue leads per member of the office, then the unclaimed ones."""
    now = now or utcnow()
    overdue = func.coalesce(
        func.sum(case((_overdue_clause(overdue_cutoff(office, now)), 1), else_=0)), 0
    )
    rows = db.session.execute(
        select(Lead.claimed_by_id, func.count(), overdue)
        .where(Lead.office_id == office.id, Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.claimed_by_id)
    ).all()
    counts = {user_id: (int(n), int(late)) for user_id, n, late in rows}
    members = db.session.scalars(
        select(User)
        .where(User.office_id == office.id, User.role.in_(OFFICE_ROLES), User.active.is_(True))
        .order_by(User.name)
    ).all()
    load = [
        {
            "user": user_ref(member),
            "role": member.role,
            "open": counts.get(member.id, (0, 0))[0],
            "overdue": counts.get(member.id, (0, 0))[1],
        }
        for member in members
    ]
    # Leads still claimed by someone who left the office count too.
    known = {m.id for m in members} | {None}
    for user_id, (n, late) in counts.items():
        if user_id not in known:
            load.append({"user": user_ref(db.session.get(User, user_id)), "role": None,
                         "open": n, "overdue": late})  # fmt: skip
    unclaimed = counts.get(None, (0, 0))
    load.append({"user": None, "role": None, "open": unclaimed[0], "overdue": unclaimed[1]})
    return load


def month_start(office: Office, now: datetime) -> datetime:
    local = now.astimezone(office_zone(office))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def order_status(office: Office, now: datetime | None = None) -> dict:
    """Ordered vs received this month (the office's calendar month, in its time zone)."""
    now = now or utcnow()
    start = month_start(office, now)
    received = db.session.scalar(
        select(func.count())
        .select_from(Lead)
        .where(Lead.office_id == office.id, Lead.routed_at >= start)
    )
    return {
        "office": office.as_ref(),
        "month": start.strftime("%Y-%m"),
        "monthly_lead_order": office.monthly_lead_order,
        "received_this_month": int(received or 0),
    }


def office_events(office: Office) -> list[tuple[int, str]]:
    """Every event this office has leads from (open or not), for the queue's filter."""
    from backend.events.models import Event

    rows = db.session.execute(
        select(Event.id, Event.name)
        .where(Event.id.in_(select(Lead.event_id).where(Lead.office_id == office.id).distinct()))
        .order_by(Event.name)
    ).all()
    return [(row.id, row.name) for row in rows]


def office_members(office_id: int | None) -> list[User]:
    return db.session.scalars(
        select(User)
        .where(User.office_id == office_id, User.role.in_(OFFICE_ROLES), User.active.is_(True))
        .order_by(User.name)
    ).all()


def is_mobile(e164: str | None) -> bool:
    """Whether a stored (E.164) number is a mobile one, so messengers can reach it."""
    import phonenumbers

    if not e164:
        return False
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)  # fmt: skip


def contact_actions(lead: Lead) -> list[dict]:
    """The lead page's big contact buttons: call, mail, and WhatsApp and Telegram when the
    visitor gave a mobile number."""
    actions = []
    number = lead.phone_normalized or lead.phone
    if number:
        actions.append({"kind": "call", "href": f"tel:{number}", "label": gettext("Call")})
    if lead.email:
        actions.append({"kind": "mail", "href": f"mailto:{lead.email}", "label": gettext("E-mail")})
    if is_mobile(lead.phone_normalized):
        digits = lead.phone_normalized.lstrip("+")
        actions.append({"kind": "whatsapp", "href": f"https://wa.me/{digits}", "label": "WhatsApp"})
        actions.append({"kind": "telegram", "href": f"https://t.me/+{digits}", "label": "Telegram"})
    return actions


def lead_page_data(lead: Lead) -> dict:
    """Everything the lead page shows beside the lead itself, in a few queries."""
    decisions = routing_history(lead.id)
    touches = db.session.scalars(
        select(Touch)
        .options(joinedload(Touch.user))
        .where(Touch.lead_id == lead.id)
        .order_by(Touch.at.desc(), Touch.id.desc())
    ).all()
    autoresponders = db.session.scalars(
        select(Message)
        .where(Message.lead_id == lead.id, Message.kind == "autoresponder")
        .order_by(Message.id)
    ).all()
    feedback = db.session.scalar(select(QualityFeedback).where(QualityFeedback.lead_id == lead.id))
    contact_changes = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "lead.contact_fixed",
            AuditEntry.target_type == "lead",
            AuditEntry.target_id == str(lead.id),
        )
        .order_by(AuditEntry.id)
    ).all()
    reader = str(get_locale() or "")
    questions = question_labels(lead.event, reader)
    answers = [(questions.get(key) or key, value) for key, value in (lead.answers or {}).items()]
    return {
        "decisions": decisions,
        "touches": touches,
        "autoresponders": autoresponders,
        "feedback": feedback,
        "contact_changes": contact_changes,
        "answers": answers,
        "brief": brief_in(lead.event, reader),
        "contact_actions": contact_actions(lead),
        "members": office_members(lead.office_id),
        "offices": db.session.scalars(
            select(Office).where(Office.id != lead.office_id).order_by(Office.name)
        ).all(),
    }


def lead_state_json(lead: Lead) -> dict:
    return {
        "id": lead.id,
        "status": lead.status,
        "office": lead.office.as_ref() if lead.office else None,
        "claimed_by": user_ref(lead.claimed_by),
        "claimed_at": lead.claimed_at,
        "first_touch_at": lead.first_touch_at,
        "status_changed_at": lead.status_changed_at,
        "deal_value": lead.deal_value,
        "deal_currency": lead.deal_currency,
        "lost_reason": lead.lost_reason,
        "won_at": lead.won_at,
        "next_step": lead.next_step,
        "next_step_at": lead.next_step_at,
        **{name: getattr(lead, name) or "" for name in (
            "first_name", "last_name", "email", "phone", "company", "job_title")},
        "flags": list(lead.flags or []),
    }  # fmt: skip


def touch_json(touch: Touch) -> dict:
    return {
        "id": touch.id,
        "kind": touch.kind,
        "outcome": touch.outcome,
        "note": touch.note,
        "at": touch.at,
        "user": user_ref(touch.user),
    }


def feedback_json(feedback: QualityFeedback) -> dict:
    return {
        "lead_id": feedback.lead_id,
        "verdict": feedback.verdict,
        "reason": feedback.reason,
        "note": feedback.note,
        "at": feedback.at,
        "user": user_ref(db.session.get(User, feedback.user_id) if feedback.user_id else None),
    }
