"""Alerts to marketing: a running event gone silent, an office far below its lead order,
and an event's quality summary once its feedback sample is rated. Each is a message
with a unique key (per event and window, office and month, event), so it goes out once.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta

from flask import render_template
from sqlalchemy import func, select

from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead, QualityFeedback
from backend.messaging.models import Message
from backend.messaging.planning import insert_messages
from backend.messaging.recipients import join_recipients, marketing_emails
from backend.offices.models import Office
from backend.sla import time_zone

SILENCE = timedelta(hours=3)
EVENT_OPEN_HOURS = (9, 18)  # the stand's day, in the event's time zone


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
        local = now.astimezone(time_zone(event.timezone))
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
        local = now.astimezone(time_zone(office.timezone))
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


def write_alerts(now: datetime, dry_run: bool = False) -> tuple[list[str], list[int]]:
    """Every alert due as of ``now``, written (flushed) unless ``dry_run``.

    Returns (keys of the alerts written, or due in a dry run; ids of the new rows): an
    alert already written by an earlier or overlapping sweep is not written again.
    """
    alerts = silence_alerts(now) + order_alerts(now) + quality_summaries()
    if dry_run:
        return [row["key"] for row in alerts], []
    new_ids = insert_messages(alerts)
    if not new_ids:
        return [], []
    return list(db.session.scalars(select(Message.key).where(Message.id.in_(new_ids)))), new_ids
