"""Cross-cutting API endpoints: health and the OpenAPI document."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from backend.api.spec import build_openapi
from backend.auth.access import PUBLIC, roles_required
from backend.extensions import db
from backend.links import public_url
from backend.redis_conn import get_redis

bp = Blueprint("api", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@roles_required(PUBLIC)
def healthz():
    """Which dependency is up ("ok") or "down"; 503 when the database is down. What
    failed inside is in the log, not in this public reply."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unreachable
        db.session.rollback()
        log.warning("health check: database down", exc_info=True)
        checks["database"] = "down"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception:  # noqa: BLE001
        log.warning("health check: redis down", exc_info=True)
        checks["redis"] = "down"
    # Capture keeps working without Redis (the database is the truth), so only the
    # database decides whether this instance is healthy.
    status = 200 if checks["database"] == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", **checks}), status


@bp.get("/livez")
@roles_required(PUBLIC)
def livez():
    """The process answers (no database or Redis involved): the cheapest request there is."""
    return {"status": "alive"}


@bp.get("/api/v1/openapi.json")
@roles_required(PUBLIC)
def openapi():
    """The OpenAPI 3.1 document, built from the same schemas that validate requests."""
    return jsonify(_openapi_document())


@bp.get("/api/docs")
@roles_required(PUBLIC)
def docs():
    """A readable page of the OpenAPI document (no external viewer needed)."""
    from backend.api import docs as readable

    return render_template(
        "api_docs.html",
        spec=_openapi_document(),
        schema_rows=readable.schema_rows,
        type_html=readable.type_html,
        body_schema=readable.body_schema,
        response_schema=readable.response_schema,
        events_url=public_url("/api/v1/events"),
    )


def _openapi_document() -> dict:
    """Built once per app: generating pydantic's JSON schemas takes a noticeable moment."""
    spec = current_app.extensions.get("leadrelay_openapi")
    if spec is None:
        spec = current_app.extensions["leadrelay_openapi"] = build_openapi(current_app)
    return spec
