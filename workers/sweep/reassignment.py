"""The ladder's last step: a lead untouched for twice its SLA moves to the next nearest
office with room, at most MAX_AUTO_REASSIGNMENTS times and never back to an office that
had it; both offices are told (marketing too when it stays)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.audit.services import record_system
from backend.extensions import db
from backend.leads.models import Lead
from backend.messaging.recipients import join_recipients, marketing_emails, office_staff_emails
from backend.messaging.rendering import lead_name, office_languages, render_lead_mail
from backend.messaging.webhooks import webhook_rows
from backend.offices.models import Office
from backend.routing.engine import METHOD_ESCALATION, OfficeIndex
from backend.routing.reasons import Reason
from backend.routing.services import build_index, reassign_to_next_nearest

# Automatic reassignments of one lead before the ladder stops and marketing decides.
MAX_AUTO_REASSIGNMENTS = 2


def load_leads(ids: list[int]) -> list[Lead]:
    """The claimed leads with their routing decisions, as the database has them now."""
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
                        lead=lead_name(lead), source=from_office.name, target=to_office.name,
                    )
                    if to_office
                    else gettext(
                        "Not reassigned: %(lead)s stays at %(source)s",
                        lead=lead_name(lead), source=from_office.name,
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
