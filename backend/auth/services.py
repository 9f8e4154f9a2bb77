"""Users and API tokens: creation, sign-in checks, token issue and revocation."""

from __future__ import annotations

from backend.audit.services import record
from backend.auth.models import OFFICE_ROLES, ROLES, ApiToken, User, hash_token
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.offices.models import Office


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The user whose credentials these are, or None (same answer for any mismatch)."""
    user = find_user(email or "")
    if user is None or not user.active or not user.check_password(password or ""):
        record("auth.failed_sign_in", detail={"email": (email or "")[:320]})
        return None
    record("auth.sign_in", user=user)
    return user


def create_user(
    email: str, role: str, *, name: str = "", password: str, office_code: str | None = None
) -> User:
    """Create a user; raises ApiError(422) for an unknown role or office, (409) if taken."""
    email = email.strip().lower()
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
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def change_password(user: User, password: str) -> None:
    """Set a new password; every existing session of the user stops working."""
    user.set_password(password)
    record("auth.password_change", user=user, target=user)


def issue_token(user: User, name: str = "") -> str:
    """Create an API token and return it once; only its hash is stored."""
    token = ApiToken.generate()
    db.session.add(ApiToken(user=user, name=name, token_hash=hash_token(token), prefix=token[:10]))
    db.session.flush()
    return token


def revoke_token(token_id: int) -> None:
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None:
        raise ApiError(404, "not_found", "no such token")
    api_token.revoked_at = api_token.revoked_at or utcnow()


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "office": user.office.as_ref() if user.office else None,
        "events": [{"id": e.id, "name": e.name} for e in user.events],
    }
