"""The periodic sweep: SLA ladder, stale leads, silence alerts, quality summaries, outbox.

Plain functions with an injected ``now``, safe to run any number of times and in
parallel: every ladder step is claimed with a conditional UPDATE on the lead (this
office stint has not reached step N), and every alert is a Message with a unique key
(per office stint for the ladder), inserted with ``ON CONFLICT DO NOTHING``, so two
sweeps never notify twice.
"""

from __future__ import annotations

import calendar
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import (
    JSON,
    BigInteger,
    Text,
    case,
    cast,
    column,
    func,
    literal,
    null,
    or_,
    select,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload

from backend.audit.services import record_system
from backend.db_bulk import in_values, on_postgresql
from backend.db_types import utcnow
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import (
    ESCALATION_ESCALATED,
    ESCALATION_REASSIGNED,
    ESCALATION_REMINDED,
    Lead,
    QualityFeedback,
    RoutingDecision,
)
from backend.messaging.models import RENDER, Message
from backend.messaging.planning import insert_messages
from backend.messaging.recipients import join_recipients, marketing_emails, office_staff_emails
from backend.messaging.rendering import office_languages, render_lead_mail
from backend.messaging.sending import JOB_TIMEOUT, enqueue_messages
from backend.messaging.webhooks import deferred_webhook_rows, webhook_rows, webhook_targets
from backend.offices.models import Office, default_sla_hours
from backend.routing.engine import METHOD_ESCALATION, OfficeIndex
from backend.routing.reasons import Reason
from backend.routing.services import build_index, reassign_to_next_nearest
from backend.sla import working_start_before

# (level, share of the office SLA) — highest first, so a lead the sweep reaches late
# gets the furthest step it is due for, once.
LADDER = (
    (ESCALATION_REASSIGNED, 2.0),
    (ESCALATION_ESCALATED, 1.0),
    (ESCALATION_REMINDED, 0.75),
)
# Automatic reassignments of one lead before the ladder stops and marketing decides.
MAX_AUTO_REASSIGNMENTS = 2
SILENCE = timedelta(hours=3)
EVENT_OPEN_HOURS = (9, 18)  # the stand's day, in the event's time zone
PENDING_GRACE = timedelta(minutes=1)
STUCK_AFTER = timedelta(seconds=JOB_TIMEOUT + 30)
BULK = 500


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- SLA ladder --------------------------------------------------------------------


def _ladder_groups(offices) -> dict[tuple, list[Office]]:
    """Offices with the same clock (zone, working days, SLA) share one cutoff per step."""
    groups: dict[tuple, list[Office]] = defaultdict(list)
    for office in offices:
        groups[(office.timezone or "UTC", office.working_days or "12345", office.sla)].append(
            office
        )
    return groups


def _step_conditions(level: int, cutoff: datetime, office_ids: list[int]) -> tuple:
    return (
        Lead.first_touch_at.is_(None),
        Lead.status == "new",
        Lead.routed_at <= cutoff,
        Lead.office_id.in_(office_ids),
        or_(Lead.ladder_step < level, Lead.ladder_routed_at != Lead.routed_at),
    )


def _step_values(level: int, now: datetime) -> dict:
    changes = {
        "ladder_step": level,
        "ladder_routed_at": Lead.routed_at,
        # Explicit: an UPDATE inside a CTE gets no onupdate default (reports read it).
        "updated_at": utcnow(),
        "escalation_level": case(
            (Lead.escalation_level < level, level), else_=Lead.escalation_level
        ),
    }
    if level >= ESCALATION_ESCALATED:
        changes["escalated_at"] = func.coalesce(Lead.escalated_at, now)
    return changes


def _cutoffs(fraction: float, now: datetime, offices):
    """(cutoff, office ids) per office clock: one ``routed_at <=`` range each."""
    for (tz_name, working_days, hours), group in _ladder_groups(offices).items():
        cutoff = working_start_before(now, timedelta(hours=hours * fraction), tz_name, working_days)
        yield cutoff, [o.id for o in group]


def claim_ladder_step(level: int, fraction: float, now: datetime, offices, dry_run=False):
    """Claim the untouched new leads now due for ``level`` at their current office.

    Returns (id, office_id, event_id, stint) rows, ``stint`` being the id of the routing
    decision that brought the lead to that office (0 if it has none): message keys carry
    it, so each office stint gets its own reminder, escalation and reassignment.

    One conditional UPDATE … RETURNING per office clock. A lead is due when this stint
    (``ladder_routed_at = routed_at``) has not reached ``level`` yet; a lead routed again
    since its last step has a new ``routed_at`` and so starts over. The condition makes
    the claim happen once even when sweeps overlap; the due leads are found by the
    ``ix_lead_sweep`` range on ``routed_at``.
    """
    claimed: list[tuple[int, int, int | None]] = []
    columns = (Lead.id, Lead.office_id, Lead.event_id)
    for cutoff, office_ids in _cutoffs(fraction, now, offices):
        conditions = _step_conditions(level, cutoff, office_ids)
        if dry_run:
            claimed.extend(
                tuple(row) for row in db.session.execute(select(*columns).where(*conditions))
            )
            continue
        statement = (
            db.update(Lead)
            .where(*conditions)
            .values(**_step_values(level, now))
            .returning(*columns)
            .execution_options(synchronize_session=False)
        )
        claimed.extend(tuple(row) for row in db.session.execute(statement))
    claimed.sort()
    stints = _stints([lead_id for lead_id, _, _ in claimed])
    return [(*row, stints.get(row[0], 0)) for row in claimed]


# Stand-ins for a lead's ids in message rows planned once per office, replaced in SQL.
_LEAD, _EVENT, _STINT = -90001, -90002, -90003
_TEMPLATE_TEXT = dict(
    kind="", channel="email", recipient="", subject="", body_text="", body_html=""
)


def _templates(rows: list[dict]) -> list[dict]:
    """Rows planned for the stand-in lead, as per-office templates: the key keeps
    ``{lead}`` and ``{stint}`` to fill in, lead and event ids come from each claim."""
    templates = []
    for row in rows:
        key = row["key"].replace(str(_LEAD), "{lead}").replace(str(_STINT), "{stint}")
        template = dict(
            office_id=row["office_id"],
            key=key,
            **{name: row.get(name, default) for name, default in _TEMPLATE_TEXT.items()},
            payload=json.dumps(row.get("payload") or {}),
        )
        rest = json.dumps({k: v for k, v in template.items() if k != "key"})
        if (
            row["lead_id"] != _LEAD
            or row.get("event_id") != _EVENT
            or "{lead}" not in key
            or str(_LEAD) in rest
            or str(_STINT) in rest
        ):
            raise ValueError(f"not a per-lead row: {row['key']}")
        templates.append(template)
    return templates


def claim_and_write(level: int, fraction: float, now: datetime, offices, templates):
    """PostgreSQL: claim a step and write its messages in one statement per office clock.

    ``WITH claimed AS (UPDATE … RETURNING …) INSERT INTO message SELECT … FROM claimed
    JOIN plan``: the rows never travel to Python and back (10,000 escalations are
    20,000 values to send otherwise). Same claim and same rows as
    ``claim_ladder_step`` with ``reminder_rows``/``escalation_rows``; returns
    (claimed rows, new message ids).
    """
    lead, message, decision = Lead.__table__, Message.__table__, RoutingDecision.__table__
    stint = func.coalesce(
        select(func.max(decision.c.id)).where(decision.c.lead_id == lead.c.id).scalar_subquery(),
        0,
    )
    text_columns = ("key", *_TEMPLATE_TEXT, "payload")
    plan = values(
        column("office_id", BigInteger), *(column(name, Text) for name in text_columns), name="plan"
    ).data([(t["office_id"], *(t[name] for name in text_columns)) for t in templates])
    claimed_rows: list[tuple] = []
    message_ids: list[int] = []
    for cutoff, office_ids in _cutoffs(fraction, now, offices):
        claimed = (
            db.update(lead)
            .where(*_step_conditions(level, cutoff, office_ids))
            .values(**_step_values(level, now))
            .returning(
                lead.c.id.label("lead_id"), lead.c.office_id, lead.c.event_id, stint.label("stint")
            )
            .cte("claimed")
        )
        key = func.replace(
            func.replace(plan.c.key, "{lead}", cast(claimed.c.lead_id, Text)),
            "{stint}",
            cast(claimed.c.stint, Text),
        )
        rows = (
            select(
                key, plan.c.kind, plan.c.channel, claimed.c.lead_id, plan.c.office_id,
                claimed.c.event_id, plan.c.recipient, plan.c.subject, plan.c.body_text,
                plan.c.body_html, cast(plan.c.payload, JSON), literal("pending"), literal(0),
                literal(""),
                literal(now, message.c.created_at.type),
            )
            .select_from(claimed.join(plan, plan.c.office_id == claimed.c.office_id))
            .order_by(claimed.c.lead_id)
        )  # fmt: skip
        names = (
            "key", "kind", "channel", "lead_id", "office_id", "event_id", "recipient", "subject",
            "body_text", "body_html", "payload", "status", "attempts", "last_error", "created_at",
        )  # fmt: skip
        written = (
            postgresql.insert(message)
            .from_select(names, rows)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(message.c.id)
            .cte("written")
        )
        none = cast(null(), BigInteger)
        statement = select(
            claimed.c.lead_id, claimed.c.office_id, claimed.c.event_id, claimed.c.stint, none
        ).union_all(select(none, none, none, none, written.c.id))
        for lead_id, office_id, event_id, stint_id, message_id in db.session.execute(statement):
            if message_id is None:
                claimed_rows.append((lead_id, office_id, event_id, stint_id))
            else:
                message_ids.append(message_id)
    return sorted(claimed_rows), sorted(message_ids)


def _stints(lead_ids: list[int]) -> dict[int, int]:
    """The routing decision that brought each lead to its current office, by lead id.

    A separate query: SQLite's RETURNING cannot hold a correlated subquery (SQLAlchemy
    drops the table names there, and ``id`` then means the decision's own id).
    """
    found: dict[int, int] = {}
    for start in range(0, len(lead_ids), 10_000):
        chunk = lead_ids[start : start + 10_000]
        found.update(
            db.session.execute(
                select(RoutingDecision.lead_id, func.max(RoutingDecision.id))
                .where(in_values(RoutingDecision.lead_id, chunk))
                .group_by(RoutingDecision.lead_id)
            ).all()
        )
    return found


def _load_leads(ids: list[int]) -> list[Lead]:
    leads: list[Lead] = []
    for start in range(0, len(ids), 2000):
        leads.extend(
            db.session.scalars(
                select(Lead)
                .where(Lead.id.in_(ids[start : start + 2000]))
                .options(selectinload(Lead.routing_decisions))
                .execution_options(populate_existing=True)
            ).unique()
        )
    return leads


def _sla_hours(office: Office | None) -> int:
    return office.sla if office else default_sla_hours()


def _lead_name(lead: Lead) -> str:
    return lead.full_name or lead.company or lead.email or f"lead {lead.id}"


def reminder_rows(claimed, offices: dict[int, Office], staff: dict[int, list[str]]) -> list[dict]:
    """Small rows (recipients per office), rendered by the delivery job."""
    recipients = {
        office_id: join_recipients([office.email], staff.get(office_id, []))
        for office_id, office in offices.items()
    }
    return [
        dict(
            key=f"sla_reminder:lead:{lead_id}:routing:{stint}",
            kind="sla_reminder",
            lead_id=lead_id,
            office_id=office_id,
            event_id=event_id,
            recipient=recipients[office_id],
            payload={RENDER: True, "percent": 75},
        )
        for lead_id, office_id, event_id, stint in claimed
        if recipients.get(office_id)
    ]


def escalation_rows(
    claimed, offices: dict[int, Office], managers: dict[int, list[str]]
) -> list[dict]:
    """The managers and marketing are told; the ``lead.escalated`` webhooks fire."""
    marketing = marketing_emails()
    recipients = {
        office_id: join_recipients(managers.get(office_id, []), marketing) for office_id in offices
    }
    targets = {office_id: webhook_targets(office) for office_id, office in offices.items()}
    rows = []
    for lead_id, office_id, event_id, stint in claimed:
        if recipients.get(office_id):
            rows.append(
                dict(
                    key=f"escalation:lead:{lead_id}:routing:{stint}",
                    kind="escalation",
                    lead_id=lead_id,
                    office_id=office_id,
                    event_id=event_id,
                    recipient=recipients[office_id],
                    payload={RENDER: True},
                )
            )
        hooks = deferred_webhook_rows(
            "lead.escalated", lead_id, event_id, offices.get(office_id), targets.get(office_id)
        )
        for row in hooks:
            row["key"] += f":routing:{stint}"  # escalated again at its next office
        rows.extend(hooks)
    return rows


def _next_office(lead: Lead, index: OfficeIndex, limit: int, now: datetime):
    """The escalation decision for a lead untouched for twice the SLA, or (None, why not).

    Never back to an office that had the lead (no ping-pong between two offices). The
    move happens at the sweep's clock, not the wall clock: with an injected ``now``
    (tests, ``sweep --now``) the new office's ladder counts on the same time line."""
    decisions = lead.routing_decisions
    moves = sum(1 for d in decisions if d.method == METHOD_ESCALATION)
    if moves >= limit:
        return None, Reason("reassign_limit", {"moves": moves})
    held = frozenset(d.office_id for d in decisions if d.office_id != lead.office_id)
    decision = reassign_to_next_nearest(lead, index, exclude_office_ids=held, at=now)
    return decision, Reason("no_office_left")


def reassign_leads(
    leads: list[Lead], stints: dict[int, int], now: datetime
) -> tuple[list[dict], list[int]]:
    """Move each lead to the next nearest office with room; both offices are told.

    Never back to an office that had the lead, and at most MAX_AUTO_REASSIGNMENTS times;
    a lead that stays is the marketing's to decide (they are told). Each move starts the
    new office's SLA clock at ``now`` and is written to the audit log.
    """
    index = build_index()
    limit = current_app.config.get("MAX_AUTO_REASSIGNMENTS", MAX_AUTO_REASSIGNMENTS)
    plans = []
    for lead in leads:
        from_office = lead.office
        decision, why_not = _next_office(lead, index, limit, now)
        to_office = db.session.get(Office, decision.office_id) if decision else None
        plans.append((lead, from_office, to_office, decision, why_not))
    db.session.flush()
    staff = office_staff_emails(
        [o.id for _, f, t, _, _ in plans for o in (f, t) if o is not None],
        roles=("office_manager", "office_rep"),
    )
    rows, moved = [], []
    marketing = marketing_emails()
    languages = office_languages([o.id for _, f, t, _, _ in plans for o in (f, t) if o is not None])
    for lead, from_office, to_office, decision, why_not in plans:
        reason = decision or why_not
        targets = [from_office] + ([to_office] if to_office else [])
        for office in targets:
            extra = [] if to_office else marketing
            recipients = join_recipients([office.email], staff.get(office.id, []), extra)
            if not recipients:
                continue
            # Each office reads the news in its own language.
            language = languages.get(office.id, "en")
            body = render_lead_mail(
                "reassigned", lead, language=language,
                from_office=from_office, to_office=to_office, reason=reason,
            )  # fmt: skip
            with force_locale(language):
                subject = (
                    gettext(
                        "Reassigned: %(lead)s from %(source)s to %(target)s",
                        lead=_lead_name(lead), source=from_office.name, target=to_office.name,
                    )
                    if to_office
                    else gettext(
                        "Not reassigned: %(lead)s stays at %(source)s",
                        lead=_lead_name(lead), source=from_office.name,
                    )
                )  # fmt: skip
            rows.append(
                dict(
                    key=f"reassigned:lead:{lead.id}:routing:{stints[lead.id]}:office:{office.id}",
                    kind="reassigned",
                    lead_id=lead.id,
                    office_id=office.id,
                    event_id=lead.event_id,
                    recipient=recipients,
                    subject=subject,
                    body_text=body,
                )
            )
        if to_office is not None:
            moved.append(lead.id)
            record_system(
                "lead.reassigned",
                target=lead,
                detail={
                    "from": from_office.code,
                    "to": to_office.code,
                    "routing_decision_id": decision.id,
                    "reason": reason.reason,
                },
            )
            for row in webhook_rows("lead.routed", lead, to_office):
                row["key"] += f":routing:{decision.id}"
                rows.append(row)
    return rows, moved


def _step_rows(level: int, claimed, offices: dict[int, Office]) -> list[dict]:
    """The messages of a reminder or escalation step for these claimed leads."""
    office_ids = {office_id for _, office_id, _, _ in claimed}
    if level == ESCALATION_REMINDED:
        return reminder_rows(claimed, offices, office_staff_emails(office_ids))
    managers = office_staff_emails(office_ids, roles=("office_manager",))
    return escalation_rows(claimed, offices, managers)


def run_ladder(now: datetime, dry_run: bool = False) -> tuple[dict, list[int]]:
    """Every ladder step, highest first; each step commits with its messages.

    Set-based: one UPDATE … RETURNING claims a step's leads, one multi-row INSERT
    writes their (unrendered) messages; on PostgreSQL the two are one statement for
    reminders and escalations. Only reassignment loads leads, to route them.
    """
    offices = db.session.scalars(select(Office)).all()
    by_id = {office.id: office for office in offices}
    report: dict[str, list[int]] = {
        "reassigned": [],
        "not_reassigned": [],
        "escalated": [],
        "reminded": [],
    }
    message_ids: list[int] = []
    names = {
        ESCALATION_REASSIGNED: "reassigned",
        ESCALATION_ESCALATED: "escalated",
        ESCALATION_REMINDED: "reminded",
    }
    postgres = on_postgresql()
    for level, fraction in LADDER:
        if postgres and not dry_run and level != ESCALATION_REASSIGNED:
            templates = _templates(
                _step_rows(level, [(_LEAD, o.id, _EVENT, _STINT) for o in offices], by_id)
            )
            if templates:
                claimed, new_ids = claim_and_write(level, fraction, now, offices, templates)
                report[names[level]] = [lead_id for lead_id, _, _, _ in claimed]
                message_ids += new_ids
                db.session.commit()
                continue
        claimed = claim_ladder_step(level, fraction, now, offices, dry_run)
        ids = [lead_id for lead_id, _, _, _ in claimed]
        report[names[level]] = ids
        if dry_run or not ids:
            continue
        office_ids = {office_id for _, office_id, _, _ in claimed}
        step_offices = {i: by_id[i] for i in office_ids if i in by_id}
        if level != ESCALATION_REASSIGNED:
            rows = _step_rows(level, claimed, step_offices)
        else:
            stints = {lead_id: stint for lead_id, _, _, stint in claimed}
            rows, moved = reassign_leads(_load_leads(ids), stints, now)
            report["reassigned"] = moved
            report["not_reassigned"] = sorted(set(ids) - set(moved))
        message_ids += insert_messages(rows)
        db.session.commit()
    return report, message_ids


def mark_stale(now: datetime, dry_run: bool = False) -> list[int]:
    """Leads untouched for STALE_AFTER_DAYS since they arrived become ``stale``."""
    cutoff = now - timedelta(days=current_app.config.get("STALE_AFTER_DAYS", 30))
    conditions = (
        Lead.first_touch_at.is_(None),
        Lead.status == "new",
        Lead.received_at <= cutoff,
    )
    if dry_run:
        return list(db.session.scalars(select(Lead.id).where(*conditions)))
    ids = list(
        db.session.scalars(
            db.update(Lead)
            .where(*conditions)
            .values(status="stale", status_changed_at=now)
            .returning(Lead.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return ids


# --- alerts to marketing -----------------------------------------------------------


def _marketing_row(key: str, kind: str, subject: str, body: str, **ids) -> dict | None:
    recipients = join_recipients(marketing_emails())
    if not recipients:
        return None
    return dict(key=key, kind=kind, recipient=recipients, subject=subject, body_text=body, **ids)


def silence_alerts(now: datetime) -> list[dict]:
    """Events running now (in their time zone, during stand hours) with no lead for 3 hours.

    Keyed per event and 3-hour window of event time, so each fires once per window.
    """
    today = now.astimezone(UTC).date()
    events = db.session.scalars(
        select(Event).where(
            Event.starts_on <= today + timedelta(days=1),
            Event.ends_on >= today - timedelta(days=1),
        )
    ).all()
    running = []
    for event in events:
        local = now.astimezone(_zone(event.timezone))
        opens, closes = EVENT_OPEN_HOURS
        if not (event.starts_on <= local.date() <= event.ends_on and opens <= local.hour < closes):
            continue
        running.append((event, local))
    if not running:
        return []
    last = dict(
        db.session.execute(
            select(Lead.event_id, func.max(Lead.captured_at))
            .where(Lead.event_id.in_([e.id for e, _ in running]))
            .group_by(Lead.event_id)
        ).all()
    )
    rows = []
    for event, local in running:
        opened = datetime.combine(local.date(), time(EVENT_OPEN_HOURS[0]), tzinfo=local.tzinfo)
        quiet_since = max(opened, last[event.id]) if last.get(event.id) else opened
        if now - quiet_since < SILENCE:
            continue
        window = local.hour // 3
        hours = (now - quiet_since).total_seconds() / 3600
        row = _marketing_row(
            f"silence:event:{event.id}:{local.date().isoformat()}:{window}",
            "silence_alert",
            f"No leads from {event.name} for {hours:.1f} hours",
            render_template(
                "messaging/mail/silence.txt",
                event=event,
                hours=hours,
                last=last.get(event.id),
                local=local,
            ),
            event_id=event.id,
        )
        if row:
            rows.append(row)
    return rows


def order_alerts(now: datetime) -> list[dict]:
    """Offices whose leads this month are below half their pro-rata order, from mid-month."""
    offices = db.session.scalars(select(Office).where(Office.monthly_lead_order > 0)).all()
    due = []
    for office in offices:
        local = now.astimezone(_zone(office.timezone))
        if local.day < 15:
            continue
        month_start = datetime.combine(local.date().replace(day=1), time.min, tzinfo=local.tzinfo)
        days = calendar.monthrange(local.year, local.month)[1]
        share = office.monthly_lead_order * (now - month_start) / timedelta(days=days)
        due.append((office, local, month_start, share))
    if not due:
        return []
    earliest = min(m for _, _, m, _ in due)
    counts: dict[int, list[datetime]] = defaultdict(list)
    for office_id, received_at in db.session.execute(
        select(Lead.office_id, Lead.received_at).where(
            Lead.office_id.in_([o.id for o, *_ in due]), Lead.received_at >= earliest
        )
    ):
        counts[office_id].append(received_at)
    rows = []
    for office, local, month_start, share in due:
        got = sum(1 for at in counts[office.id] if at >= month_start)
        if got >= share / 2:
            continue
        month = f"{local.year:04d}-{local.month:02d}"
        row = _marketing_row(
            f"order_shortfall:office:{office.id}:{month}",
            "order_alert",
            f"{office.name} has {got} leads this month; it ordered {office.monthly_lead_order}",
            render_template(
                "messaging/mail/order_shortfall.txt",
                office=office,
                got=got,
                share=share,
                month=month,
            ),
            office_id=office.id,
        )
        if row:
            rows.append(row)
    return rows


def quality_summaries() -> list[dict]:
    """Events whose whole feedback sample has a verdict: marketing gets the summary once."""
    # Only events with some feedback can be complete, and each is summarised once:
    # start from the (small) feedback table, not from every lead.
    candidates = set(
        db.session.scalars(
            select(Lead.event_id)
            .join(QualityFeedback, QualityFeedback.lead_id == Lead.id)
            .where(Lead.feedback_requested.is_(True))
            .distinct()
        )
    )
    keys = {f"quality_summary:event:{event_id}": event_id for event_id in candidates}
    done = db.session.scalars(select(Message.key).where(Message.key.in_(list(keys))))
    candidates -= {keys[key] for key in done} if keys else set()
    if not candidates:
        return []
    requested = dict(
        db.session.execute(
            select(Lead.event_id, func.count())
            .where(Lead.event_id.in_(candidates), Lead.feedback_requested.is_(True))
            .group_by(Lead.event_id)
        ).all()
    )
    answered = dict(
        db.session.execute(
            select(Lead.event_id, func.count())
            .join(QualityFeedback, QualityFeedback.lead_id == Lead.id)
            .where(Lead.event_id.in_(candidates), Lead.feedback_requested.is_(True))
            .group_by(Lead.event_id)
        ).all()
    )
    events = db.session.scalars(select(Event).where(Event.id.in_(list(requested)))).all()
    complete = [
        e
        for e in events
        if requested[e.id] >= (e.feedback_sample_size or 0)
        and answered.get(e.id) == requested[e.id]
    ]
    keys = {f"quality_summary:event:{e.id}": e for e in complete}
    done = set(db.session.scalars(select(Message.key).where(Message.key.in_(list(keys)))))
    rows = []
    for key, event in keys.items():
        if key in done:
            continue
        feedback = db.session.execute(
            select(QualityFeedback, Lead)
            .join(Lead, QualityFeedback.lead_id == Lead.id)
            .where(Lead.event_id == event.id, Lead.feedback_requested.is_(True))
            .order_by(Lead.id)
        ).all()
        verdicts = Counter(f.verdict for f, _ in feedback)
        reasons = Counter(f.reason for f, _ in feedback if f.verdict == "bad" and f.reason)
        row = _marketing_row(
            key,
            "quality_summary",
            f"Lead quality for {event.name}: {verdicts.get('good', 0)} good, "
            f"{verdicts.get('bad', 0)} bad of {len(feedback)}",
            render_template(
                "messaging/mail/quality_summary.txt",
                event=event,
                feedback=feedback,
                verdicts=verdicts,
                reasons=reasons.most_common(),
            ),
            event_id=event.id,
        )
        if row:
            rows.append(row)
    return rows


# --- the outbox --------------------------------------------------------------------


def recover_outbox(now: datetime, dry_run: bool = False) -> tuple[list[int], int]:
    """Reset rows stuck in ``sending`` (a killed worker) and list pending rows to enqueue.

    Returns (ids to enqueue, how many were stuck). A pending row waits a minute
    after it was written, or until its retry time, before the sweep re-sends it.
    """
    stuck_conditions = (Message.status == "sending", Message.claimed_at <= now - STUCK_AFTER)
    if dry_run:
        stuck = db.session.scalar(select(func.count()).where(*stuck_conditions)) or 0
    else:
        stuck = db.session.execute(
            db.update(Message)
            .where(*stuck_conditions)
            .values(status="pending", last_error="worker stopped while sending; retried")
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    pending = list(
        db.session.scalars(
            select(Message.id).where(
                Message.status == "pending",
                func.coalesce(Message.retry_at, Message.created_at) <= now - PENDING_GRACE,
            )
        )
    )
    return pending, stuck


def apply_retention(now: datetime, dry_run: bool = False) -> int:
    """Anonymise leads older than RETENTION_MONTHS (0, the default, keeps everything)."""
    months = current_app.config.get("RETENTION_MONTHS") or 0
    if dry_run or months <= 0:
        return 0
    from backend.privacy.services import anonymize_leads_older_than

    count = anonymize_leads_older_than(months, now)
    db.session.commit()
    return count


# --- the whole sweep ---------------------------------------------------------------


def run_sweep(now: datetime | None = None, dry_run: bool = False) -> dict:
    """Run every periodic rule as of ``now``; returns what fired (or would fire).

    With ``dry_run`` nothing is changed or sent.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    report: dict = {"now": now.isoformat(), "dry_run": dry_run}
    ladder, message_ids = run_ladder(now, dry_run)
    report.update(ladder)
    if not dry_run and message_ids:
        from backend.telegram.services import apply_preferences

        message_ids += apply_preferences(message_ids)  # reps' Telegram and e-mail choices
        db.session.commit()
    report["stale"] = mark_stale(now, dry_run)
    report["anonymized"] = apply_retention(now, dry_run)

    alerts = silence_alerts(now) + order_alerts(now) + quality_summaries()
    if dry_run:
        inserted = [row["key"] for row in alerts]
    else:
        new_ids = insert_messages(alerts)
        db.session.commit()
        message_ids += new_ids
        inserted = list(
            db.session.scalars(select(Message.key).where(Message.id.in_(new_ids)))
        ) if new_ids else []  # fmt: skip
    report["alerts"] = inserted

    pending, stuck = recover_outbox(now, dry_run)
    report["recovered_sending"] = stuck
    fresh = set(message_ids)
    old = sorted(set(pending) - fresh)
    if dry_run:
        report["enqueued"] = 0
    else:
        # New rows go out as batch jobs; old pending rows (Redis was down, a worker
        # died) one job each unless that job is still waiting, or in batches when
        # there are thousands.
        enqueued = enqueue_messages(sorted(fresh))
        enqueued += enqueue_messages(old, only_missing=len(old) <= BULK)
        report["enqueued"] = enqueued
    report["pending"] = len(fresh) + len(old)
    return report
