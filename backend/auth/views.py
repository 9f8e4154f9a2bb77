from __future__ import annotations

from flask import Blueprint
from flask_login import current_user, login_user, logout_user
from pydantic import BaseModel, Field

from backend.api.spec import ErrorOut, validated
from backend.auth.access import ANY_SIGNED_IN, PUBLIC, roles_required
from backend.auth.schemas import MeOut
from backend.auth.services import authenticate, end_session, start_session, user_json
from backend.errors import ApiError
from backend.links import remember_first_address
from backend.ratelimit import sign_in_limits

api_bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=500)
    remember: bool = Field(
        True, description="Keep the booth phone signed in (a remember-me cookie) for the show"
    )


@api_bp.post("/auth/login")
@roles_required(PUBLIC)
@sign_in_limits
@validated(body=LoginIn, response=MeOut, extra_responses={401: ErrorOut})
def login(body: LoginIn):
    """Sign in with e-mail and password. Shares its rate limit with the sign-in form
    (per client address and per account)."""
    user = authenticate(body.email, body.password)
    if user is None:  # its audit entry stays (``record_apart``) though the 401 rolls back
        raise ApiError(401, "invalid_credentials", "Wrong e-mail or password.")
    start_session(user, remember=body.remember)
    remember_first_address(user)
    login_user(user, remember=body.remember)
    return {"user": user_json(user)}


@api_bp.post("/auth/logout")
@roles_required(PUBLIC)
@validated(response=None)
def logout():
    """End the session on the server: its session and remember-me cookies stop working."""
    if current_user.is_authenticated:
        end_session(current_user)
    logout_user()
    return {"ok": True}


@api_bp.get("/me")
@roles_required(ANY_SIGNED_IN)
@validated(response=MeOut)
def me():
    """The signed-in user, with office and the events they staff."""
    return {"user": user_json(current_user)}
