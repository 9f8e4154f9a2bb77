"""Retention: what the product keeps no longer than it needs.

Leads older than RETENTION_MONTHS are anonymised (0, the default, keeps them), and
server-side sign-ins that can no longer be used are deleted.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select

from backend.auth.models import UserSession
from backend.extensions import db
from backend.privacy.services import anonymize_leads_older_than


def apply_retention(now: datetime, dry_run: bool = False) -> int:
    """Anonymise leads older than RETENTION_MONTHS (0, the default, keeps everything)."""
    months = current_app.config.get("RETENTION_MONTHS") or 0
    if dry_run or months <= 0:
        return 0
    return anonymize_leads_older_than(months, now)


def session_lifetime():
    """How long a sign-in can be carried by its cookies: the remember-me cookie, then a
    session cookie written on its last day (signed for PERMANENT_SESSION_LIFETIME)."""
    return current_app.config["REMEMBER_COOKIE_DURATION"] + current_app.permanent_session_lifetime


def prune_sessions(now: datetime, dry_run: bool = False) -> int:
    """Delete the sign-ins that no cookie can use any more; returns how many.

    Ended ones (signed out, password changed: ``session_user`` refuses them already) and
    ones started longer than ``session_lifetime()`` ago. Rows are not otherwise read
    after their sign-in, so without this the table grows by one row per sign-in forever.
    """
    conditions = (
        or_(UserSession.ended_at.is_not(None), UserSession.created_at <= now - session_lifetime()),
    )
    if dry_run:
        return db.session.scalar(select(func.count()).where(*conditions)) or 0
    return db.session.execute(
        db.delete(UserSession).where(*conditions).execution_options(synchronize_session=False)
    ).rowcount
