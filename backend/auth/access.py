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
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import instance_state

from backend.auth.models import ApiToken, User, hash_token
from backend.db_bulk import on_postgresql, run_prepared
from backend.db_types import utcnow
from backend.errors import ApiError, wants_json
from backend.extensions import db, login_manager
from backend.redis_conn import get_redis
from backend.transaction import READ_METHODS, rollback, statements_alone

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

    A capture (``transaction.reads_alone``) that this process has seen the token of before
    takes the user it read then, and the capture's lookup (or its one statement) reads the
    token again: one round trip less (see ``pending_bearer``).

    The token's last use is noted at minute precision without a write in a read request:
    a write request updates ``last_used_at`` in its own transaction, a read request (and a
    capture, whose statements commit one by one, see ``transaction.reads_alone``) notes the
    minute in Redis (``token_last_used`` reads both)."""
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    token_hash = hash_token(token.strip())
    alone = statements_alone()
    if alone and (user := _user_to_confirm(token_hash)) is not None:
        g.bearer_auth = True
        return user
    found = _token_user(token_hash)
    if found is None:
        return None
    user, token_id, last = found
    # A request whose statements commit one by one notes it as a read does (Redis): its
    # one write is its capture (see transaction.reads_alone).
    _note_use(token_id, last, writes=req.method not in READ_METHODS and not alone)
    g.bearer_auth = True
    return user


# The bearer tokens this process has read, by hash: the user's row as read, the token's
# id and a digest of the row. A capture takes its user from here and has the database
# confirm it with the capture's first query: the token unrevoked, the user active and
# their row unchanged (``pending_bearer``). Nothing is answered and nothing written
# before that confirmation; a refusal reads the token anew (``roles_required``).
_SEEN = "leadrelay.bearer_seen"
SEEN_MAX = 1000
_PENDING = "leadrelay_bearer_pending"  # on ``g``: (token hash, row digest, token id)


class StaleBearer(Exception):
    """The database did not confirm the user a capture took from ``_SEEN``: the token was
    revoked, the user deactivated or changed since this process read them."""


def _user_to_confirm(token_hash: str) -> User | None:
    seen = current_app.extensions.get(_SEEN, {}).get(token_hash)
    if seen is None:
        return None
    values, token_id, digest = seen
    setattr(g, _PENDING, (token_hash, digest, token_id))
    return _user_from_row(values)


def pending_bearer() -> tuple[str, str] | None:
    """The token hash and user-row digest the database must still confirm before this
    request answers or writes: the capture's lookup asks (``db_bulk.known_leads`` or
    ``db_bulk.insert_new_lead_unless_known``), or ``roles_required`` reads the token
    again. None when the user was read from the database."""
    pending = g.get(_PENDING)
    return pending[:2] if pending else None


def bearer_confirmed(confirmed: bool) -> None:
    """What the database said of ``pending_bearer()``: confirmed, the request goes on (and
    the token's use is noted); otherwise ``StaleBearer`` (nothing answered, nothing
    written), and ``roles_required`` starts the view again with the token read anew."""
    if not confirmed:
        raise StaleBearer
    _token_hash, _digest, token_id = g.pop(_PENDING)
    _note_use(token_id, None, writes=False)


def _confirm_pending() -> None:
    """Read a still pending token again (a request that ends without its capture's lookup,
    or before it): ``StaleBearer`` if the database refuses the user this request took."""
    pending = g.get(_PENDING)
    if pending is None:
        return
    token_hash, digest, token_id = pending
    rows = run_prepared(_token_user_sql(), {"token_hash": token_hash})
    bearer_confirmed(bool(rows) and rows[0][-1] == digest and rows[0][-3] == token_id)


def _forget_bearer_user() -> None:
    """Drop the user the database refused: the next look at ``current_user`` reads the
    token from the database, in a transaction of its own (nothing was written alone)."""
    token_hash, _digest, _token_id = g.pop(_PENDING)
    current_app.extensions.get(_SEEN, {}).pop(token_hash, None)
    user = g.pop("_login_user", None)
    rollback()  # ends reads_alone
    if user is not None and user in db.session:
        db.session.expunge(user)


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
    *values, token_id, last, digest = rows[0]
    seen = current_app.extensions.setdefault(_SEEN, {})
    if len(seen) >= SEEN_MAX:
        seen.clear()
    seen[token_hash] = (values, token_id, digest)
    return _user_from_row(values), token_id, _utc(last) if last is not None else None


def _user_from_row(values) -> User:
    """The user of a row of ``_token_user_sql``, as the ORM's loader makes one: its columns
    written into its state, keyed by its identity and attached to the session, with
    nothing to write and its relationships loaded when asked for (the one already in the
    session if this request has it). A quarter of the cost of ``User(**columns)``,
    ``make_transient_to_detached`` and ``add``, which every API call paid."""
    key = _USER_MAPPER.identity_key_from_primary_key((values[_ID_COLUMN],))
    user = db.session.identity_map.get(key)
    if user is None:
        user = _new_user()
        user.__dict__.update(
            (name, _utc(value) if isinstance(value, datetime) else value)
            for name, value in zip(_USER_COLUMNS, values, strict=True)
        )
        instance_state(user).key = key
        db.session.add(user)
    return user


_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)
_ID_COLUMN = _USER_COLUMNS.index("id")
_USER_MAPPER = User.__mapper__  # its identity keys (``identity_key`` looks the mapper up each time)
_new_user = User._sa_class_manager.new_instance  # an instance with its state, no __init__


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
        f"SELECT {columns}, t.id, t.last_used_at, md5(u::text) "
        'FROM "user" u JOIN api_token t ON t.user_id = u.id '
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
            if PUBLIC in roles:
                return view(*args, **kwargs)
            try:
                return _confirmed_answer(view, roles, args, kwargs)
            except StaleBearer:
                _forget_bearer_user()
                return wrapper(*args, **kwargs)
            finally:
                g.pop(_PENDING, None)  # settled, unless reading the token failed

        wrapper.allowed_roles = roles
        return wrapper

    return decorator


def _confirmed_answer(view: Callable, roles: tuple[str, ...], args, kwargs):
    """The view's answer (or the refusal) once the database has confirmed a user taken
    from ``_SEEN``: ``StaleBearer`` if it refuses them."""
    try:
        refused = _refusal(roles)
        result = refused if refused is not None else view(*args, **kwargs)
    except StaleBearer:
        raise
    except Exception:
        if g.get(_PENDING) is not None:
            rollback()  # what failed wrote nothing alone; read the token afresh
            _confirm_pending()
        raise
    _confirm_pending()  # a capture that never ran its lookup (every lead refused)
    return result


def _refusal(roles: tuple[str, ...]):
    """The answer to a user who may not use a view of ``roles``, or None if they may."""
    _token_only_user()
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if ANY_SIGNED_IN in roles or current_user.role in roles:
        return None
    _confirm_pending()  # the role this process read for the token may not be the role now
    if wants_json():
        raise ApiError(403, "forbidden", "Your role may not do this.")
    return forbidden_page()


def _token_only_user() -> None:
    """A call that carries a bearer token and no cookie (a kiosk, an integration) gets its
    user from the token directly, as Flask-Login would end up doing after its steps for a
    cookie session (the session identifier's hash, the session and remember-cookie looks),
    which such a call has nothing for. Any cookie: Flask-Login's own order decides."""
    if "_login_user" in g or request.cookies or "Authorization" not in request.headers:
        return
    user = load_user_from_bearer(request)
    g._login_user = user if user is not None else login_manager.anonymous_user()


def forbidden_page():
    from flask import abort

    abort(403)
