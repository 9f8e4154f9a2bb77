"""The profile page (Telegram link, channel per kind of notice) and Telegram's webhook."""

from __future__ import annotations

import hmac

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from backend.auth.access import ANY_SIGNED_IN, PUBLIC, roles_required
from backend.auth.csrf import csrf_exempt
from backend.errors import ApiError
from backend.telegram import api, services
from backend.telegram.models import NOTICE_CHANNELS, NOTICE_KINDS
from backend.transaction import rollback

bp = Blueprint("telegram", __name__)

KIND_WORDS = {
    "new_lead": _l("A new lead in my office"),
    "sla_reminder": _l("A lead nearing its SLA deadline"),
    "escalation": _l("A lead escalated past its SLA"),
    "next_step": _l("My overdue next steps (morning)"),
    "won": _l("A deal won in my office"),
}
CHANNEL_WORDS = {
    "email": _l("E-mail"),
    "telegram": _l("Telegram"),
    "both": _l("Both"),
    "none": _l("None"),
}


@bp.get("/profile")
@roles_required(ANY_SIGNED_IN)
def profile():
    """The signed-in user's notices: the Telegram link and the channel per kind."""
    return render_template(
        "telegram/profile.html",
        link=services.link_of(current_user),
        deep_link=request.args.get("link"),
        telegram_on=api.configured(),
        choices=services.preferences([current_user.id])[current_user.id],
        kinds=NOTICE_KINDS,
        kind_words=KIND_WORDS,
        channels=NOTICE_CHANNELS,
        channel_words=CHANNEL_WORDS,
    )


@bp.post("/profile/telegram")
@roles_required(ANY_SIGNED_IN)
def profile_telegram():
    """Make a one-time deep link (or unlink with ``action=unlink``)."""
    if request.form.get("action") == "unlink":
        services.unlink(current_user)
        flash(_("Telegram unlinked."), "ok")
        return redirect(url_for("telegram.profile"))
    try:
        link = services.start_link(current_user)
    except ApiError as exc:
        rollback()
        message = (_("Telegram is not set up on this site.") if exc.code == "telegram_off"
                   else _("Telegram cannot be reached; try again."))  # fmt: skip
        flash(message, "error")
        return redirect(url_for("telegram.profile"))
    return redirect(url_for("telegram.profile", link=link) + "#telegram")


@bp.post("/profile/notices")
@roles_required(ANY_SIGNED_IN)
def profile_notices():
    choices = {k: request.form.get(k, "") for k in NOTICE_KINDS if request.form.get(k)}
    try:
        services.set_preferences(current_user, choices)
        flash(_("Notice choices saved."), "ok")
    except ApiError:
        rollback()  # answered with a redirect: no choice half-saved
        flash(_("Not saved — choose one of the channels shown."), "error")
    return redirect(url_for("telegram.profile"))


@bp.post("/telegram/webhook")
@roles_required(PUBLIC)
@csrf_exempt
def webhook():
    """Updates Telegram posts when TELEGRAM_WEBHOOK is on; the secret header proves them."""
    if not api.configured():
        return jsonify({"ok": True, "ignored": "no bot on this site"})
    sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(sent, services.webhook_secret()):
        return jsonify({"ok": False}), 403
    rows = services.handle_update(request.get_json(silent=True) or {})
    services.write_replies(rows)
    return jsonify({"ok": True})
