"""The audit log: one call per sensitive action."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.transaction import write_after_request


def record(action: str, *, user=None, target=None, detail: dict | None = None) -> AuditEntry:
    """Add an audit entry to the session (the caller commits)."""
    entry = _entry(action, user=user, target=target, detail=detail)
    db.session.add(entry)
    return entry


def record_apart(action: str, *, user=None, target=None, detail: dict | None = None) -> None:
    """Audit what stays recorded whatever the request's outcome: a read of personal data
    (an export, answered to a GET, which writes nothing of its own) or a refused sign-in
    (answered 401, whose transaction is rolled back). Written in a transaction of its own
    after the request's (``backend.transaction.write_after_request``)."""
    entry = _entry(action, user=user, target=target, detail=detail)
    write_after_request(lambda: db.session.add(entry))


def _entry(action: str, *, user=None, target=None, detail: dict | None = None) -> AuditEntry:
    actor = user
    ip = ""
    if has_request_context():
        ip = request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[0]
        if actor is None and current_user and current_user.is_authenticated:
            actor = current_user
    entry = AuditEntry(
        user_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(getattr(target, "id", "") or ""),
        detail=detail or {},
        ip=ip[:64],
    )
    return entry


SYSTEM = "system"


def record_system(action: str, *, target=None, detail: dict | None = None) -> AuditEntry:
    """Add an entry for an action the system took on its own, such as the SLA sweep's
    reassignments (the caller commits): no user, ``"actor": "system"`` in the detail."""
    return record(action, target=target, detail={"actor": SYSTEM, **(detail or {})})
