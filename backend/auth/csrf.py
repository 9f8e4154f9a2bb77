"""CSRF protection for cookie-authenticated state changes.

Fetch calls from the PWA and pages send ``X-Requested-With``, a header a cross-site
form cannot set; HTML forms carry a per-session token. Bearer-token calls are exempt.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, current_app, request, session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADER = "X-Requested-With"


def csrf_token() -> str:
    token = session.get("csrf_token")
    if not token:
        token = secrets.token_urlsafe(24)
        session["csrf_token"] = token
    return token


def csrf_exempt(view):
    """Mark one view as taking cross-site POSTs (the RFC 8058 one-click unsubscribe).

    Only views marked this way skip the check; every other route keeps it.
    """
    view.csrf_exempt = True
    return view


def _check_request() -> None:
    if request.method in SAFE_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "csrf_exempt", False):
        return
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return
    if request.headers.get(HEADER):
        return
    sent = request.form.get("csrf_token", "") if request.form else ""
    expected = session.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="Missing or invalid CSRF token; reload the page and try again.")


def init_csrf(app: Flask) -> None:
    app.before_request(_check_request)
    app.jinja_env.globals["csrf_token"] = csrf_token
