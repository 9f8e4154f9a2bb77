"""One JSON error shape for the API: ``{"error": {"code", "message", "fields"}}``; pages
get an HTML error page in the app's look and the reader's language, with a way back."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, jsonify, render_template, request
from pydantic import ValidationError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error a client should see, with an HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str, fields: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []


def error_response(status: int, code: str, message: str, fields: list[dict] | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or []}}
    return jsonify(body), status


def validation_fields(exc: ValidationError) -> list[dict]:
    """Turn pydantic's errors into ``[{"field": "a.b", "message": "..."}]``."""
    fields = []
    for err in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        fields.append({"field": location or "body", "message": err.get("msg", "invalid")})
    return fields


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


log = logging.getLogger(__name__)


def _home() -> tuple[str, str]:
    from flask_babel import gettext
    from flask_login import current_user

    if not getattr(current_user, "is_authenticated", False):
        return "/login", gettext("Sign in")
    if current_user.role in ("office_rep", "office_manager"):
        return "/office", gettext("Open the lead queue")
    if current_user.role in ("marketing", "admin"):
        return "/marketing", gettext("Open the marketing dashboard")
    return "/", gettext("Go to the start page")


def error_page(status: int):
    """The HTML error page for ``status`` (403, 404, 500, ...) in the reader's language.

    Its way back: the page the reader came from on this site, and their start page. A
    page that cannot be drawn (the database is down) falls back to plain words.
    """
    from flask_babel import gettext

    texts = {
        403: (gettext("Not allowed"), gettext("Your account may not open this page.")),
        404: (
            gettext("Not found"),
            gettext("This page does not exist, or it belongs to another office."),
        ),
        503: (
            gettext("Not available right now"),
            gettext("The database cannot be reached. Try again in a moment."),
        ),
        500: (
            gettext("Something went wrong"),
            gettext("The error was logged. Try again in a moment."),
        ),
    }
    title, message = texts.get(status) or texts[500 if status >= 500 else 404]
    referrer = urlsplit(request.referrer or "")
    back = None
    if referrer.netloc == request.host and referrer.path != request.path:
        back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    try:
        home, home_label = _home()
        html = render_template(
            "errors/error.html", status=status, title=title, message=message,
            back=back, home=home, home_label=home_label,
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        log.exception("cannot draw the error page")
        html = f"<!doctype html><title>{status}</title><h1>{title}</h1><p>{message}</p>"
        html += '<p><a href="/">LeadRelay</a></p>'
    return html, status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        if not wants_json() and exc.status in (403, 404):
            # Another office's lead opened in the browser: a page, not raw JSON.
            return error_page(exc.status)
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(ValidationError)
    def handle_validation_error(exc: ValidationError):
        return error_response(
            422, "invalid", "The request has invalid fields.", validation_fields(exc)
        )

    @app.errorhandler(DataError)
    def handle_value_out_of_range(exc: DataError):
        # A value the database cannot hold (a number beyond its integer range, say) is the
        # client's mistake, not a server error.
        from backend.extensions import db

        db.session.rollback()
        return error_response(422, "invalid_value", "A value is out of range for this field.")

    @app.errorhandler(OperationalError)
    def handle_database_down(exc: OperationalError):
        # The database is unreachable: tell clients to retry; the PWA keeps its outbox.
        from backend.extensions import db

        db.session.rollback()
        if not wants_json():
            response, status = error_page(503)
            return response, status, {"Retry-After": "5"}
        response, status = error_response(503, "database_unavailable", "Try again shortly.")
        response.headers["Retry-After"] = "5"
        return response, 503

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not wants_json():
            if exc.code in (403, 404, 500):
                return error_page(exc.code)
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_response(exc.code or 500, code, exc.description or exc.name)
        if exc.code == 429 and exc.response is not None and "Retry-After" in exc.response.headers:
            response.headers["Retry-After"] = exc.response.headers["Retry-After"]
        return response, status
