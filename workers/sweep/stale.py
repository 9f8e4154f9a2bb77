"""Stale leads: untouched for STALE_AFTER_DAYS since they arrived, they leave the queues."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from backend.extensions import db
from backend.leads.models import Lead


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
    return list(
        db.session.scalars(
            db.update(Lead)
            .where(*conditions)
            .values(status="stale", status_changed_at=now)
            .returning(Lead.id)
            .execution_options(synchronize_session=False)
        )
    )
