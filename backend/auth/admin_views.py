"""Admin pages for users (list, create, role and office, deactivate, password reset links)
and the public page where a reset link sets a new password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from backend.auth import services
from backend.auth.access import PUBLIC, roles_required
from backend.auth.models import ROLES, User
from backend.errors import ApiError
from backend.extensions import db
from backend.links import public_url
from backend.offices.models import Office
from backend.ratelimit import limit
from backend.transaction import rollback

bp = Blueprint("users", __name__)

# The services' refusals (worded for the CLI and the API) as the page says them.
REFUSALS = {
    "invalid_email": _l("That is not an e-mail address."),
    "exists": _l("A user with this e-mail already exists."),
    "invalid_role": _l("Choose one of the roles."),
    "unknown_office": _l("There is no such office."),
    "office_required": _l("Office managers and reps need an office."),
}


def _refusal(exc: ApiError) -> str:
    return str(REFUSALS.get(exc.code, exc.message))


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _page(status: int = 200, **extra):
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    offices = db.session.scalars(select(Office).order_by(Office.code)).all()
    return render_template(
        "users/list.html", users=users, offices=offices, roles=ROLES, **extra
    ), status


def _reset_link(user: User) -> str:
    return public_url(url_for("users.reset_password", token=services.issue_reset(user)))


@bp.get("/admin/users")
@roles_required("admin")
def user_list():
    """Every user with role, office and state, and the forms to manage them."""
    return _page()


@bp.post("/admin/users")
@roles_required("admin")
def user_create():
    """Create a user; they set their own password through the link shown once."""
    form = request.form
    try:
        user = services.create_user(
            form.get("email", "")[:320], form.get("role", ""),
            name=form.get("name", "").strip()[:200],
            office_code=form.get("office") or None, actor=current_user,
        )  # fmt: skip
    except ApiError as exc:
        rollback()  # the list below must not show a user half-made
        return _page(422, error=_refusal(exc), v=form)
    return _page(reset_user=user, reset_link=_reset_link(user))


@bp.post("/admin/users/<int:user_id>/role")
@roles_required("admin")
def user_role(user_id: int):
    """Change a user's role and office (their sessions end when either changes)."""
    user = _user_or_404(user_id)
    try:
        services.change_role(
            user, request.form.get("role", ""),
            office_code=request.form.get("office") or None, actor=current_user,
        )  # fmt: skip
    except ApiError as exc:
        rollback()  # answered with a redirect, which commits: nothing half-done may stay
        flash(_refusal(exc), "error")
        return redirect(url_for("users.user_list"))
    flash(_("%(email)s: role and office saved.", email=user.email), "info")
    return redirect(url_for("users.user_list"))


@bp.post("/admin/users/<int:user_id>/deactivate")
@roles_required("admin")
def user_deactivate(user_id: int):
    """Deactivate a user: sessions end, API tokens are revoked, no more sign-ins."""
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("users.user_list"))
    services.deactivate(user, actor=current_user)
    flash(_("%(email)s is deactivated.", email=user.email), "info")
    return redirect(url_for("users.user_list"))


@bp.post("/admin/users/<int:user_id>/reactivate")
@roles_required("admin")
def user_reactivate(user_id: int):
    """Let a deactivated user sign in again (with a fresh reset link for a new password)."""
    user = _user_or_404(user_id)
    services.reactivate(user, actor=current_user)
    return _page(reset_user=user, reset_link=_reset_link(user))


@bp.post("/admin/users/<int:user_id>/reset")
@roles_required("admin")
def user_reset(user_id: int):
    """Reset a password: the old one stops working, sessions and tokens end, and a one-time
    link valid for a day is shown to pass on to the user."""
    user = _user_or_404(user_id)
    return _page(reset_user=user, reset_link=_reset_link(user))


@bp.route("/reset/<token>", methods=["GET", "POST"])
@roles_required(PUBLIC)
@limit("password_reset", per_minute=10)
def reset_password(token: str):
    """The page a reset link opens: choose a new password (once, within a day)."""
    reset = services.reset_for_token(token)
    if reset is None or not reset.user.active:
        return render_template("users/reset.html", invalid=True), 404
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error = _("The two passwords differ.")
        else:
            try:
                services.complete_reset(token, password)
            except ApiError as exc:
                error = exc.message  # answered 422: nothing is kept
            else:
                flash(_("Your password is set. Sign in with it."), "info")
                return redirect(url_for("web.login"))
    status = 422 if error else 200
    return render_template("users/reset.html", user=reset.user, error=error), status
