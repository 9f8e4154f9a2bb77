"""Who receives what: office staff, marketing, and each office's contacts for new leads."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select

from backend.admin.models import SiteSetting
from backend.auth.models import OFFICE_ROLES, User
from backend.extensions import db
from backend.messaging.webhooks import webhook_targets
from backend.offices.models import Office
from backend.process_cache import ProcessCache


def office_staff_emails(office_ids: Iterable[int], roles=OFFICE_ROLES) -> dict[int, list[str]]:
    """Active users with office roles, per office, in one query."""
    office_ids = {i for i in office_ids if i is not None}
    if not office_ids:
        return {}
    rows = db.session.execute(
        select(User.office_id, User.email).where(
            User.office_id.in_(office_ids), User.role.in_(roles), User.active.is_(True)
        )
    )
    found: dict[int, list[str]] = {}
    for office_id, email in rows:
        found.setdefault(office_id, []).append(email)
    return found


def join_recipients(*groups: Iterable[str]) -> str:
    seen: dict[str, None] = {}
    for group in groups:
        for email in group:
            if email and email.strip():
                seen.setdefault(email.strip(), None)
    return ", ".join(seen)


def marketing_emails() -> list[str]:
    raw = current_app.config.get("MARKETING_EMAILS") or ""
    return [e.strip() for e in raw.replace(";", ",").split(",") if e.strip()]


class OfficeContacts:
    """Who hears of an office's new leads: its notice recipients and webhook targets."""

    def __init__(self, office: Office, staff: list[str]):
        self.id = office.id
        self.recipients = join_recipients([office.email], staff)
        self.webhook_targets = webhook_targets(office)


def _all_office_contacts() -> dict[int, OfficeContacts]:
    offices = db.session.scalars(select(Office)).all()
    staff = office_staff_emails(o.id for o in offices)
    return {o.id: OfficeContacts(o, staff.get(o.id, [])) for o in offices}


# Read per new lead, changed when an office or a user changes: kept per process.
office_contacts = ProcessCache("office_contacts", (Office, User, SiteSetting), _all_office_contacts)
