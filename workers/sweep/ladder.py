"""The SLA ladder: a reminder at 75% of an office's SLA, an escalation at 100%, a
reassignment at 200% (``reassignment``), counted on the office's working clock.

Every step is claimed with a conditional UPDATE on the lead (this office stint has not
reached step N) and its messages carry a key per office stint, inserted with ``ON
CONFLICT DO NOTHING``: two overlapping sweeps claim each lead once and notify once.
The steps only flush; ``run_sweep`` commits each one with its messages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

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

from backend.db_bulk import in_values, on_postgresql
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import (
    ESCALATION_ESCALATED,
    ESCALATION_REASSIGNED,
    ESCALATION_REMINDED,
    Lead,
    RoutingDecision,
)
from backend.messaging.models import RENDER, Message
from backend.messaging.planning import insert_messages
from backend.messaging.recipients import join_recipients, marketing_emails, office_staff_emails
from backend.messaging.webhooks import deferred_webhook_rows, webhook_targets
from backend.offices.models import Office
from backend.sla import working_start_before
from workers.sweep.reassignment import load_leads, reassign_leads

# (level, share of the office SLA) — highest first, so a lead the sweep reaches late
# gets the furthest step it is due for, once.
LADDER = (
    (ESCALATION_REASSIGNED, 2.0),
    (ESCALATION_ESCALATED, 1.0),
    (ESCALATION_REMINDED, 0.75),
)
_NAMES = {
    ESCALATION_REASSIGNED: "reassigned",
    ESCALATION_ESCALATED: "escalated",
    ESCALATION_REMINDED: "reminded",
}


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


def _step_mail(kind: str, claim: tuple, recipient: str, payload: dict) -> dict:
    """A mail of a ladder step, keyed per lead and office stint, rendered at delivery."""
    lead_id, office_id, event_id, stint = claim
    return dict(
        key=f"{kind}:lead:{lead_id}:routing:{stint}",
        kind=kind,
        lead_id=lead_id,
        office_id=office_id,
        event_id=event_id,
        recipient=recipient,
        payload=payload,
    )


def reminder_rows(claimed, offices: dict[int, Office], staff: dict[int, list[str]]) -> list[dict]:
    """Small rows (recipients per office), rendered by the delivery job."""
    recipients = {
        office_id: join_recipients([office.email], staff.get(office_id, []))
        for office_id, office in offices.items()
    }
    return [
        _step_mail("sla_reminder", claim, recipients[claim[1]], {RENDER: True, "percent": 75})
        for claim in claimed
        if recipients.get(claim[1])
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
    for claim in claimed:
        lead_id, office_id, event_id, stint = claim
        if recipients.get(office_id):
            rows.append(_step_mail("escalation", claim, recipients[office_id], {RENDER: True}))
        hooks = deferred_webhook_rows(
            "lead.escalated", lead_id, event_id, offices.get(office_id), targets.get(office_id)
        )
        for row in hooks:
            row["key"] += f":routing:{stint}"  # escalated again at its next office
        rows.extend(hooks)
    return rows


def _step_rows(level: int, claimed, offices: dict[int, Office]) -> list[dict]:
    """The messages of a reminder or escalation step for these claimed leads."""
    office_ids = {office_id for _, office_id, _, _ in claimed}
    if level == ESCALATION_REMINDED:
        return reminder_rows(claimed, offices, office_staff_emails(office_ids))
    managers = office_staff_emails(office_ids, roles=("office_manager",))
    return escalation_rows(claimed, offices, managers)


def ladder_steps(now: datetime, dry_run: bool = False) -> Iterator[tuple[dict, list[int]]]:
    """Every ladder step, highest first: yields what each step did (report entries, new
    message ids) once its claim and its messages are flushed, so that the caller commits
    each step with its messages before the next one claims.

    Set-based: one UPDATE … RETURNING claims a step's leads, one multi-row INSERT
    writes their (unrendered) messages; on PostgreSQL the two are one statement for
    reminders and escalations. Only reassignment loads leads, to route them.
    """
    postgres = on_postgresql()
    for level, fraction in LADDER:
        name = _NAMES[level]
        # Read again for each step: the caller's commit after a step expires them, and
        # reading an expired office's column loads it alone (a query per office).
        offices = db.session.scalars(select(Office)).all()
        by_id = {office.id: office for office in offices}
        if postgres and not dry_run and level != ESCALATION_REASSIGNED:
            templates = _templates(
                _step_rows(level, [(_LEAD, o.id, _EVENT, _STINT) for o in offices], by_id)
            )
            if templates:
                claimed, new_ids = claim_and_write(level, fraction, now, offices, templates)
                yield {name: [lead_id for lead_id, _, _, _ in claimed]}, new_ids
                continue
        claimed = claim_ladder_step(level, fraction, now, offices, dry_run)
        ids = [lead_id for lead_id, _, _, _ in claimed]
        if dry_run or not ids:
            found = {name: ids}
            if level == ESCALATION_REASSIGNED:
                found["not_reassigned"] = []
            yield found, []
            continue
        office_ids = {office_id for _, office_id, _, _ in claimed}
        step_offices = {i: by_id[i] for i in office_ids if i in by_id}
        if level != ESCALATION_REASSIGNED:
            rows = _step_rows(level, claimed, step_offices)
            found = {name: ids}
        else:
            stints = {lead_id: stint for lead_id, _, _, stint in claimed}
            rows, moved = reassign_leads(load_leads(ids), stints, now)
            found = {name: moved, "not_reassigned": sorted(set(ids) - set(moved))}
        yield found, insert_messages(rows)
