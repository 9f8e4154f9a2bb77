"""Who is asking, and may they: session and bearer-token loading, and the role check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from backend.auth.models import ApiToken, User, hash_token
from backend.db_types import utcnow
from backend.errors import ApiError, wants_json
from backend.extensions import db, login_manager

PUBLIC = "public"
LAST_USED_PRECISION = timedelta(minutes=1)
ANY_SIGNED_IN = "signed_in"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the session's user from a live sign-in; one ended by sign-out, a password
    change or reset, a role change or deactivation is refused."""
    from backend.auth.services import session_user

    user_id, version, key = (session_id.split(":") + ["", ""])[:3]
    if not user_id.isdigit() or int(user_id) > 2**31 - 1:
        return None
    return session_user(int(user_id), version, key)


@login_manager.request_loader
def load_user_from_bearer(req) -> User | None:
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    api_token = db.session.scalar(
        db.select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == hash_token(token.strip()), ApiToken.revoked_at.is_(None))
    )
    if api_token is None or not api_token.user.active:
        return None
    now = utcnow()
    last = api_token.last_used_at
    # Minute precision is enough to see a token in use; not every call has to write.
    if last is None or now - last > LAST_USED_PRECISION:
        api_token.last_used_at = now
        db.session.commit()
    g.bearer_auth = True
    return api_token.user


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json():
        raise ApiError(401, "unauthorized", "Sign in first.")
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def roles_required(*roles: str) -> Callable:
    """Allow the view only to signed-in users with one of ``roles``.

    ``roles_required(PUBLIC)`` marks a view open to everyone and
    ``roles_required(ANY_SIGNED_IN)`` any signed-in user. The roles are kept on the
    view so the authorisation matrix test can read them from the URL map.
    Raises 401 for anonymous users and 403 for a wrong role (JSON under /api).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if PUBLIC not in roles:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if ANY_SIGNED_IN not in roles and current_user.role not in roles:
                    if wants_json():
                        raise ApiError(403, "forbidden", "Your role may not do this.")
                    return forbidden_page()
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorator


def forbidden_page():
    from flask import abort

    abort(403)
