"""Privacy API for admins: export everything about a person, erase a person. Both audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, Field

from backend.api.spec import validated
from backend.audit.services import record, record_apart
from backend.auth.access import roles_required
from backend.privacy import services

bp = Blueprint("privacy", __name__, url_prefix="/api/v1/privacy")


class PersonQuery(BaseModel):
    """Exactly one of ``email`` or ``phone``."""

    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)


class PersonExportOut(BaseModel):
    query: dict[str, str]
    leads: list[dict[str, Any]]
    merged_captures: list[dict[str, Any]]
    touches: list[dict[str, Any]]
    routing_decisions: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    attachments: list[dict[str, Any]] = []
    unsubscribed_at: str | None


class EraseOut(BaseModel):
    key: str = Field(description="email or phone")
    fingerprint: str = Field(description="hash of the key, as written to the audit log")
    leads: int = Field(description="how many leads were anonymised")
    lead_ids: list[int]


@bp.get("/person")
@roles_required("admin")
@validated(query=PersonQuery, response=PersonExportOut)
def export_person(query: PersonQuery):
    """Everything stored about a person (by e-mail or phone) as JSON."""
    data = services.export_person(email=query.email, phone=query.phone)
    # A GET writes nothing of its own: the audit entry of the read is written apart.
    record_apart("privacy.export", detail={"lead_ids": [lead["id"] for lead in data["leads"]]})
    return data


@bp.post("/erase")
@roles_required("admin")
@validated(body=PersonQuery, response=EraseOut)
def erase_person(body: PersonQuery):
    """Anonymise a person's contact data; counts, statuses and deal values stay for reports."""
    result = services.erase_person(email=body.email, phone=body.phone)
    record("privacy.erase", detail={k: result[k] for k in ("key", "fingerprint", "lead_ids")})
    return result
