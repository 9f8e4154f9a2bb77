"""Who is asking, and may they: session and bearer-token loading, and the role check."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache, wraps

from flask import current_app, g, redirect, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from backend.auth.models import ApiToken, User, hash_token
from backend.db_bulk import on_postgresql, run_prepared
from backend.db_types import utcnow
from backend.errors import ApiError, wants_json
from backend.extensions import db, login_manager
from backend.redis_conn import get_redis
from backend.transaction import READ_METHODS, statements_alone

PUBLIC = "public"
LAST_USED_PRECISION = timedelta(minutes=1)
# A read request's note of a token's use outlives any sensible gap between two reports.
LAST_USED_TTL = 90 * 24 * 3600
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
    """The user of a live API token (``Authorization: Bearer …``), read from the database
    on every call: a revoked token or a deactivated user is refused at once.

    The token's last use is noted at minute precision without a write in a read request:
    a write request updates ``last_used_at`` in its own transaction, a read request (and a
    capture, whose statements commit one by one, see ``transaction.reads_alone``) notes the
    minute in Redis (``token_last_used`` reads both)."""
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    found = _token_user(hash_token(token.strip()))
    if found is None:
        return None
    user, token_id, last = found
    # A request whose statements commit one by one notes it as a read does (Redis): its
    # one write is its capture (see transaction.reads_alone).
    _note_use(token_id, last, writes=req.method not in READ_METHODS and not statements_alone())
    g.bearer_auth = True
    return user


def _token_user(token_hash: str) -> tuple[User, int, datetime | None] | None:
    """The user of an unrevoked token, with the token's id and last use: one row, one
    round trip. The user's office is loaded only if a view asks for it."""
    if not on_postgresql():
        return db.session.execute(_token_user_query(), {"token_hash": token_hash}).first()
    # The hot path of every API call: the row is read as a prepared statement and the
    # user made from it, as the ORM would (a quarter of its cost).
    rows = run_prepared(_token_user_sql(), {"token_hash": token_hash})
    if not rows:
        return None
    *values, token_id, last = rows[0]
    columns = dict(zip(_USER_COLUMNS, values, strict=True))
    user = db.session.identity_map.get(identity_key(User, columns["id"]))
    if user is None:
        user = User(**{k: _utc(v) if isinstance(v, datetime) else v for k, v in columns.items()})
        make_transient_to_detached(user)  # as if loaded: nothing to write, nothing loaded twice
        db.session.add(user)
    return user, token_id, _utc(last) if last is not None else None


_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)


@lru_cache(maxsize=1)
def _token_user_query():
    return (
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
        .options(lazyload(User.office))
    )


@lru_cache(maxsize=1)
def _token_user_sql():
    columns = ", ".join(f'u."{name}"' for name in _USER_COLUMNS)
    return text(
        f'SELECT {columns}, t.id, t.last_used_at FROM "user" u JOIN api_token t ON t.user_id = u.id '
        "WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL AND u.active"
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _note_use(token_id: int, last: datetime | None, *, writes: bool) -> None:
    now = utcnow()
    if last is not None and now - last <= LAST_USED_PRECISION:
        return
    # When this process last noted each token's use, in its row or in Redis: a token in
    # steady use costs one note a minute per process, not one per call.
    noted_here = current_app.extensions.setdefault("leadrelay.token_uses", {})
    noted = noted_here.get((token_id, writes))
    if noted is not None and now - noted <= LAST_USED_PRECISION:
        return
    noted_here[token_id, writes] = now
    if writes:
        # In the request's transaction (kept if the request is). A token that other
        # requests are noting right now is skipped rather than waited for.
        stale = (
            select(ApiToken.id)
            .where(
                ApiToken.id == token_id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < now - LAST_USED_PRECISION,
                ),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        db.session.execute(
            update(ApiToken).where(ApiToken.id == stale).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )
        return
    with suppress(RedisError):  # the use of a read goes unnoted; never a reason to refuse it
        get_redis().set(_last_used_key(token_id), now.isoformat(), ex=LAST_USED_TTL)


def _last_used_key(token_id: int) -> str:
    return f"leadrelay:token-last-used:{token_id}"


def token_last_used(token: ApiToken) -> datetime | None:
    """When ``token`` was last used (minute precision): the later of the last write
    request (``last_used_at``) and the last read request (noted in Redis)."""
    stored = token.last_used_at
    try:
        noted = get_redis().get(_last_used_key(token.id))
    except RedisError:
        return stored
    if noted is None:
        return stored
    read = datetime.fromisoformat(noted.decode())
    return read if stored is None or read > stored else stored


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
