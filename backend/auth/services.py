"""Users and API tokens: creation, sign-in checks, sessions, passwords, token issue and
revocation."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from functools import cache

from flask_babel import gettext
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from backend.audit.services import record, record_apart
from backend.auth.models import (
    OFFICE_ROLES,
    ROLES,
    ApiToken,
    PasswordReset,
    User,
    UserSession,
    hash_token,
)
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.offices.models import Office

MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn: 0 (guessed at once) … 4 (very unlikely guessed)
RESET_VALID_FOR = timedelta(days=1)


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))


@cache
def _dummy_hash() -> str:
    # Made with the same (default) method as real passwords, so checking a password of an
    # unknown or deactivated account costs what checking a real one costs.
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    """The user whose credentials these are, or None (same answer for any mismatch).

    Unknown e-mails are checked against a dummy hash: the answer takes as long as for a
    real account, so timing does not tell who has one.
    """
    user = find_user(email or "")
    stored = user.password_hash if user is not None and user.password_hash else ""
    matches = check_password_hash(stored or _dummy_hash(), password or "")
    if user is None or not user.active or not stored or not matches:
        # Kept whatever the request answers (the API's 401 rolls its own writes back).
        record_apart("auth.failed_sign_in", detail={"email": (email or "")[:320]})
        return None
    record("auth.sign_in", user=user)
    return user


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` is refused, in the current language, or None when it is good:
    at least 12 characters and a zxcvbn score of 3 or more."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext(
            "The password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH
        )
    # zxcvbn's cost grows with the length; beyond 100 characters the first 100 decide.
    inputs = [v for v in user_inputs if v]
    inputs += [part for value in inputs for part in value.replace("@", " ").split()]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        return gettext(
            "This password is too easy to guess: avoid common words, names, dates and "
            "patterns, or add a few more unrelated words."
        )
    return None


def check_password_policy(password: str, user: User | None = None, email: str = "") -> None:
    """Raise ApiError(422, "weak_password") with the reason when ``password`` is refused."""
    inputs = (email, user.email, user.name) if user is not None else (email,)
    problem = password_problem(password, user_inputs=inputs)
    if problem:
        raise ApiError(422, "weak_password", problem, [{"field": "password", "message": problem}])


# --- sessions --------------------------------------------------------------------------


def start_session(user: User, *, remember: bool = False) -> None:
    """Open a server-side sign-in for ``user``; call before ``login_user`` (its key goes
    into the session and remember-me cookies through ``User.get_id``)."""
    key = secrets.token_urlsafe(24)
    db.session.add(UserSession(user_id=user.id, key_hash=hash_token(key), remember=remember))
    user.session_key = key


def session_user(user_id: int, version: str, key: str) -> User | None:
    """The active user of a live sign-in, or None (signed out, ended, or unknown)."""
    if not key:
        return None
    user = db.session.scalar(
        db.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == user_id,
            UserSession.key_hash == hash_token(key),
            UserSession.ended_at.is_(None),
        )
    )
    if user is None or not user.active or str(user.session_version) != version:
        return None
    user.session_key = key
    return user


def end_session(user: User) -> None:
    """End the sign-in this request came with (sign-out)."""
    key = getattr(user, "session_key", "")
    if key:
        db.session.execute(
            db.update(UserSession)
            .where(UserSession.key_hash == hash_token(key), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all_sessions(user: User) -> None:
    """End every sign-in of ``user`` and revoke their API tokens."""
    now = utcnow()
    user.session_version = (user.session_version or 0) + 1
    db.session.execute(
        db.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    db.session.execute(
        db.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --- users -----------------------------------------------------------------------------


def create_user(
    email: str,
    role: str,
    *,
    name: str = "",
    password: str | None = None,
    office_code: str | None = None,
    actor: User | None = None,
) -> User:
    """Create a user. Raises ApiError(422) for an unknown role or office or a weak
    password, (409) if the e-mail is taken. Without a password the user can sign in
    only after a reset link (``issue_reset``)."""
    email = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 320:
        raise ApiError(422, "invalid_email", f"not an e-mail address: {email!r}")
    if password is not None:
        check_password_policy(password, email=email)
    if role not in ROLES:
        raise ApiError(422, "invalid_role", f"role must be one of {', '.join(ROLES)}")
    office = None
    if office_code:
        office = db.session.scalar(db.select(Office).where(Office.code == office_code))
        if office is None:
            raise ApiError(422, "unknown_office", f"no office with code {office_code!r}")
    if role in OFFICE_ROLES and office is None:
        raise ApiError(422, "office_required", f"a {role} needs an office (--office CODE)")
    if find_user(email):
        raise ApiError(409, "exists", f"{email} already exists")
    user = User(email=email, name=name or email.split("@")[0], role=role, office=office)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("user.created", user=actor, target=user, detail={"role": role})
    return user


def change_password(user: User, password: str, *, actor: User | None = None) -> None:
    """Set a new password (the policy applies: raises ApiError(422, "weak_password")).
    Every session of the user ends and their API tokens are revoked."""
    check_password_policy(password, user)
    user.set_password(password)
    end_all_sessions(user)
    record("auth.password_change", user=actor or user, target=user)
    db.session.flush()


def deactivate(user: User, *, actor: User | None = None) -> None:
    """Deactivate a user: no sign-in any more, every session ends, API tokens revoked."""
    user.active = False
    end_all_sessions(user)
    record("user.deactivated", user=actor, target=user)
    db.session.flush()


def reactivate(user: User, *, actor: User | None = None) -> None:
    user.active = True
    record("user.reactivated", user=actor, target=user)
    db.session.flush()


def issue_reset(user: User, *, actor: User | None = None) -> str:
    """Reset ``user``'s password: the old one stops working, every session ends, tokens are
    revoked; returns the token of a one-time link valid for a day (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + RESET_VALID_FOR
        )
    )
    user.password_hash = ""
    end_all_sessions(user)
    record("auth.password_reset", user=actor, target=user)
    db.session.flush()
    return token


def reset_for_token(token: str) -> PasswordReset | None:
    """The unused, unexpired reset of ``token``, or None."""
    reset = db.session.scalar(
        db.select(PasswordReset).where(PasswordReset.token_hash == hash_token(token or ""))
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


def complete_reset(token: str, password: str) -> User:
    """Set the password through a reset link; the link is used up. Raises ApiError(404) for
    a used, expired or unknown link and (422) for a weak password."""
    reset = reset_for_token(token)
    if reset is None or not reset.user.active:
        raise ApiError(404, "not_found", gettext("This link is no longer valid."))
    change_password(reset.user, password, actor=reset.user)
    reset.used_at = utcnow()
    db.session.flush()
    return reset.user


def change_role(user: User, role: str, *, office_code: str | None = None, actor=None) -> User:
    """Give ``user`` another role (and office); audited. Raises ApiError(422) for an unknown
    role or office, or an office role without an office. Existing sessions end."""
    if role not in ROLES:
        raise ApiError(422, "invalid_role", f"role must be one of {', '.join(ROLES)}")
    office = user.office
    if office_code:
        office = db.session.scalar(db.select(Office).where(Office.code == office_code))
        if office is None:
            raise ApiError(422, "unknown_office", f"no office with code {office_code!r}")
    if role not in OFFICE_ROLES:
        office = None
    elif office is None:
        raise ApiError(422, "office_required", f"a {role} needs an office (--office CODE)")
    before = {"role": user.role, "office": user.office.code if user.office else None}
    user.role, user.office = role, office
    if before["role"] != role or before["office"] != (office.code if office else None):
        # A session keeps the rights it was opened with only until the role changes.
        user.session_version = (user.session_version or 0) + 1
    record(
        "user.role_change", user=actor, target=user,
        detail={"from": before, "to": {"role": role, "office": office.code if office else None}},
    )  # fmt: skip
    db.session.flush()
    return user


def issue_token(user: User, name: str = "") -> str:
    """Create an API token and return it once; only its hash is stored."""
    token = ApiToken.generate()
    api_token = ApiToken(user=user, name=name, token_hash=hash_token(token), prefix=token[:10])
    db.session.add(api_token)
    db.session.flush()
    record("token.issued", target=api_token, detail={"user": user.email, "prefix": token[:10]})
    return token


def find_token(id_or_prefix: str) -> ApiToken | None:
    """A token by its id or by the prefix printed when it was issued (``lr_…``)."""
    if id_or_prefix.isdigit():
        return db.session.get(ApiToken, int(id_or_prefix))
    matches = db.session.scalars(
        db.select(ApiToken).where(ApiToken.prefix == id_or_prefix[:10])
    ).all()
    return matches[0] if len(matches) == 1 else None


def revoke_token(token_id: int) -> ApiToken:
    """Revoke a token for good (idempotent); raises ApiError(404) for an unknown id."""
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None:
        raise ApiError(404, "not_found", "no such token")
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        record("token.revoked", target=api_token, detail={"prefix": api_token.prefix})
    return api_token


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "office": user.office.as_ref() if user.office else None,
        "events": [{"id": e.id, "name": e.name} for e in user.events],
        "language": user.language,
    }
