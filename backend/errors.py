"""One JSON error shape for the API: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from flask import Flask, jsonify, request
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


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
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
        response, status = error_response(503, "database_unavailable", "Try again shortly.")
        response.headers["Retry-After"] = "5"
        return response, 503

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not wants_json():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_response(exc.code or 500, code, exc.description or exc.name)
        if exc.code == 429 and exc.response is not None and "Retry-After" in exc.response.headers:
            response.headers["Retry-After"] = exc.response.headers["Retry-After"]
        return response, status
