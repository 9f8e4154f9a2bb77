"""Server-rendered pages: sign-in and each role's home."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from backend.auth.access import ANY_SIGNED_IN, PUBLIC, roles_required
from backend.auth.services import authenticate, end_session, start_session
from backend.links import remember_first_address
from backend.ratelimit import sign_in_limits

bp = Blueprint("web", __name__)

ROLE_HOME = {
    "admin": "/admin/offices",
    "marketing": "/marketing",
    "office_manager": "/office",
    "office_rep": "/office",
    "staff": "/app/",
}


def _safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None.

    Browsers drop tabs and line breaks from URLs and read a backslash as a slash, so
    ``/\t/evil.example`` or ``/\\evil.example`` would leave the site: refused.
    """
    if not target or not target.startswith("/"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if target.startswith("//") or parts.scheme or parts.netloc:
        return None
    return target


@bp.get("/")
@roles_required(PUBLIC)
def home():
    """Send each signed-in user to their role's home, everyone else to sign in."""
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    return redirect(ROLE_HOME.get(current_user.role, "/app/"))


@bp.route("/login", methods=["GET", "POST"])
@roles_required(PUBLIC)
@sign_in_limits
def login():
    """The sign-in page; its rate limit is the API login's (per address and per account)."""
    if request.method == "POST":
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
        remember = request.form.get("remember") == "1"
        if user is not None:
            start_session(user, remember=remember)
            remember_first_address(user)
            login_user(user, remember=remember)
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
    return redirect(_safe_next(request.form.get("next")) or url_for("web.home"))


@bp.post("/logout")
@roles_required(ANY_SIGNED_IN)
def logout():
    """Sign out: the session ends on the server, so a copied cookie stops working too."""
    end_session(current_user)
    logout_user()
    return redirect(url_for("web.login"))
