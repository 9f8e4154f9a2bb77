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
