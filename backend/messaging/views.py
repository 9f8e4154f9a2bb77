"""The one-click unsubscribe link (public) and the admin Outbox page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from backend.auth.access import PUBLIC, roles_required
from backend.auth.csrf import csrf_exempt
from backend.extensions import db
from backend.messaging.models import MESSAGE_STATUSES, Message
from backend.messaging.rendering import render_messages
from backend.messaging.unsubscribe import email_from_token, unsubscribe
from backend.params import MAX_PAGE, int_arg

bp = Blueprint("messaging", __name__)

# Rows show a subject and body each: 25 keep a page short enough to scan.
OUTBOX_PAGE = 25


@bp.route("/u/<token>", methods=["GET", "POST"])
@roles_required(PUBLIC)
@csrf_exempt  # RFC 8058: the mail client POSTs with no session and no token
def unsubscribe_link(token: str):
    """GET shows a confirm button; POST (the button or List-Unsubscribe-Post) unsubscribes."""
    email = email_from_token(token)
    if email is None:
        abort(404)
    if request.method == "POST":
        unsubscribe(email)  # committed after the request
        return render_template("messaging/unsubscribe.html", email=email, done=True)
    return render_template("messaging/unsubscribe.html", email=email, done=False, token=token)


@bp.get("/admin/outbox")
@roles_required("admin")
def outbox():
    """Every message, newest first, with its status, attempts and last error."""
    status = request.args.get("status", "")
    page = int_arg("page", 1, maximum=MAX_PAGE)
    query = select(Message).order_by(Message.id.desc())
    if status in MESSAGE_STATUSES:
        query = query.where(Message.status == status)
    rows = db.session.scalars(query.limit(OUTBOX_PAGE + 1).offset((page - 1) * OUTBOX_PAGE)).all()
    counts = dict(
        db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
    )
    # Rows not sent yet are rendered by their delivery job: preview them here, on
    # detached copies, so the page shows what would be sent without writing anything.
    for row in rows:
        db.session.expunge(row)
    render_messages(rows)
    total = counts.get(status, 0) if status in MESSAGE_STATUSES else sum(counts.values())
    return render_template(
        "messaging/outbox.html",
        messages=rows[:OUTBOX_PAGE],
        has_next=len(rows) > OUTBOX_PAGE,
        page=page,
        pages=max(1, -(-total // OUTBOX_PAGE)),
        status=status,
        statuses=MESSAGE_STATUSES,
        counts=counts,
    )
