from __future__ import annotations

from flask import Blueprint
from flask_login import current_user, login_user, logout_user
from pydantic import BaseModel, Field

from backend.api.spec import ErrorOut, validated
from backend.auth.access import ANY_SIGNED_IN, PUBLIC, roles_required
from backend.auth.schemas import MeOut
from backend.auth.services import authenticate, user_json
from backend.errors import ApiError
from backend.extensions import db
from backend.ratelimit import limit

api_bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=500)


@api_bp.post("/auth/login")
@roles_required(PUBLIC)
@limit("login", per_minute=10)
@validated(body=LoginIn, response=MeOut, extra_responses={401: ErrorOut})
def login(body: LoginIn):
    """Sign in with e-mail and password; the session cookie lasts the whole show."""
    user = authenticate(body.email, body.password)
    db.session.commit()
    if user is None:
        raise ApiError(401, "invalid_credentials", "Wrong e-mail or password.")
    login_user(user, remember=True)
    return {"user": user_json(user)}


@api_bp.post("/auth/logout")
@roles_required(PUBLIC)
@validated(response=None)
def logout():
    """End the session."""
    logout_user()
    return {"ok": True}


@api_bp.get("/me")
@roles_required(ANY_SIGNED_IN)
@validated(response=MeOut)
def me():
    """The signed-in user, with office and the events they staff."""
    return {"user": user_json(current_user)}
