"""The admin's audit log page: sensitive actions, newest first."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.auth.access import roles_required
from backend.auth.models import User
from backend.extensions import db
from backend.params import MAX_PAGE, int_arg

bp = Blueprint("audit", __name__)

PER_PAGE = 50


@bp.get("/admin/audit")
@roles_required("admin")
def audit_log():
    """Every audit entry, newest first, 50 a page; ``?action=`` narrows to one action."""
    page = int_arg("page", 1, maximum=MAX_PAGE)
    action = request.args.get("action", "").strip()
    query = select(AuditEntry, User.email).outerjoin(User, User.id == AuditEntry.user_id)
    if action:
        query = query.where(AuditEntry.action == action)
    rows = db.session.execute(
        query.order_by(AuditEntry.id.desc()).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)
    ).all()
    actions = db.session.scalars(
        select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    ).all()
    return render_template(
        "audit/list.html",
        entries=rows[:PER_PAGE],
        has_next=len(rows) > PER_PAGE,
        page=page,
        action=action,
        actions=actions,
    )
