"""The morning mail: each rep's overdue next steps, once per working day of their office.

The cron runs ``next_step_mail_rows`` every few minutes; an office's reps get their mail
in the first run after ``MORNING`` (office time) on one of its working days, until
``MORNING_ENDS`` (a cron that was down all morning sends nothing rather than a "morning"
mail in the afternoon). The outbox key ``next_steps:user:<id>:<local date>`` makes it
once a day whatever the number of runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from functools import partial

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from sqlalchemy import select

from backend.auth.models import OFFICE_ROLES, User
from backend.extensions import db
from backend.i18n import LANGUAGES
from backend.leads.models import OPEN_STATUSES, Lead
from backend.links import public_url
from backend.messaging.planning import insert_messages
from backend.messaging.rendering import office_languages
from backend.messaging.sending import enqueue_messages
from backend.offices.models import Office
from backend.transaction import after_commit
from backend.workspace.queries import office_zone

MORNING = time(8, 0)
MORNING_ENDS = time(12, 0)


def mail_language(user: User, office_language: str | None) -> str:
    """A rep's mails: their profile language, else their office's, else the default."""
    if user.language in LANGUAGES:
        return user.language
    return office_language or current_app.config.get("DEFAULT_LANGUAGE", "en")


def _offices_in_their_morning(now: datetime) -> dict[int, tuple[Office, str]]:
    """Offices where it is a working-day morning now, with the local date."""
    found = {}
    for office in db.session.scalars(select(Office)):
        local = now.astimezone(office_zone(office))
        days = {int(c) for c in office.working_days or "" if c in "1234567"} or set(range(1, 8))
        if local.isoweekday() in days and MORNING <= local.time() < MORNING_ENDS:
            found[office.id] = (office, local.date().isoformat())
    return found


def next_step_mail_rows(now: datetime) -> list[dict]:
    """Outbox rows (not yet inserted): one mail per rep with overdue next steps."""
    offices = _offices_in_their_morning(now)
    if not offices:
        return []
    leads = db.session.scalars(
        select(Lead)
        .where(
            Lead.next_step_at <= now,
            Lead.next_step_at.is_not(None),
            Lead.status.in_(OPEN_STATUSES),
            Lead.office_id.in_(list(offices)),
            Lead.claimed_by_id.is_not(None),
        )
        .order_by(Lead.next_step_at, Lead.id)
    ).all()
    by_rep: dict[int, list[Lead]] = defaultdict(list)
    for lead in leads:
        by_rep[lead.claimed_by_id].append(lead)
    if not by_rep:
        return []
    reps = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(
                User.id.in_(list(by_rep)), User.active.is_(True), User.role.in_(OFFICE_ROLES)
            )
        )
    }
    languages = office_languages(offices)
    rows = []
    for rep_id, rep_leads in by_rep.items():
        rep = reps.get(rep_id)
        if rep is None or rep.office_id not in offices or not rep.email:
            continue
        office, local_date = offices[rep.office_id]
        with force_locale(mail_language(rep, languages.get(office.id))):
            subject = ngettext(
                "%(num)s overdue next step", "%(num)s overdue next steps", len(rep_leads)
            )
            body = render_template(
                "workspace/mail/next_steps.txt",
                rep=rep,
                leads=rep_leads,
                zone=office.timezone or "UTC",
                link=lambda lead: public_url(f"/office/leads/{lead.id}"),
            )
        rows.append(
            dict(
                key=f"next_steps:user:{rep.id}:{local_date}",
                kind="next_steps",
                recipient=rep.email,
                subject=subject,
                body_text=body,
                office_id=office.id,
                payload={"lead_ids": [lead.id for lead in rep_leads]},
            )
        )
    return rows


def send_next_step_mails(now: datetime) -> list[int]:
    """Write today's morning mails that are due and not written yet (flushes); the
    workers are woken once the job has committed.

    Returns the new outbox ids (Redis down: the rows stay pending for the sweep)."""
    from backend.telegram.services import apply_preferences

    ids = insert_messages(next_step_mail_rows(now))
    ids += apply_preferences(ids)  # reps who want it in Telegram, or not at all
    if ids:
        after_commit(partial(enqueue_messages, ids))
    return ids
