"""Server-rendered pages: sign-in and each role's home."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from backend.auth.access import ANY_SIGNED_IN, PUBLIC, roles_required
from backend.auth.services import authenticate
from backend.extensions import db

bp = Blueprint("web", __name__)

ROLE_HOME = {
    "admin": "/admin/offices",
    "marketing": "/marketing",
    "office_manager": "/office",
    "office_rep": "/office",
    "staff": "/app/",
}


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.get("/")
@roles_required(PUBLIC)
def home():
    """Send each signed-in user to their role's home, everyone else to sign in."""
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return redirect(ROLE_HOME.get(current_user.role, "/app/"))


@bp.route("/login", methods=["GET", "POST"])
@roles_required(PUBLIC)
def login():
    """The sign-in page."""
    if request.method == "POST":
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
        db.session.commit()
        if user is not None:
            login_user(user, remember=True)
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
        flash(_("Wrong e-mail or password."), "error")
    return render_template("login.html")


@bp.post("/language")
@roles_required(PUBLIC)
def set_language():
    """The header's language switcher: remembered in the session and the user's profile."""
    from backend.i18n import LANGUAGES

    language = request.form.get("language", "")
    if language in LANGUAGES:
        session["language"] = language
        if current_user.is_authenticated:
            current_user.language = language
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("web.home"))


@bp.post("/logout")
@roles_required(ANY_SIGNED_IN)
def logout():
    """Sign out."""
    logout_user()
    return redirect(url_for("web.login"))
