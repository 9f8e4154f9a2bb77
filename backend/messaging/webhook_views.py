"""The admin's webhook page: the global webhook and each office's, with "Send a test"."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from backend.auth.access import roles_required
from backend.errors import ApiError
from backend.extensions import db
from backend.messaging import webhooks
from backend.offices.models import Office

bp = Blueprint("webhooks", __name__)


def _page(status: int = 200, **result):
    offices = db.session.scalars(select(Office).order_by(Office.code)).all()
    rows = [(webhooks.GLOBAL, _("Global (every lead)"), webhooks.global_webhook())]
    rows += [(o.code, f"{o.code} · {o.name}", webhooks.webhook_settings(o.code)) for o in offices]
    return render_template(
        "messaging/webhooks.html", rows=rows, formats=webhooks.FORMATS, **result
    ), status


@bp.get("/admin/webhooks")
@roles_required("admin")
def webhook_list():
    """The global webhook and each office's: URL, format, signing secret."""
    return _page()


@bp.post("/admin/webhooks/<scope>")
@roles_required("admin")
def webhook_save(scope: str):
    """Save a webhook's URL and format (blank URL: off); a new URL gets a new secret."""
    try:
        webhooks.save_webhook(
            scope, request.form.get("url", "")[:500], request.form.get("format", "json"),
            rotate_secret=request.form.get("new_secret") == "1",
        )  # fmt: skip
    except ApiError as exc:
        db.session.rollback()
        return _page(exc.status, scope=scope, error=exc.message)
    return _page(scope=scope, saved=True)  # committed after the request


@bp.post("/admin/webhooks/<scope>/test")
@roles_required("admin")
def webhook_test(scope: str):
    """Send a signed ``webhook.test`` now and show the receiver's status code."""
    try:
        status = webhooks.send_test(scope)
    except ApiError as exc:
        db.session.rollback()
        return _page(exc.status, scope=scope, error=exc.message)
    except OSError as exc:
        db.session.rollback()
        reason = getattr(exc, "reason", None) or exc
        return _page(scope=scope, error=_("No answer from the receiver: %(reason)s", reason=reason))
    return _page(scope=scope, test_status=status)  # committed after the request
