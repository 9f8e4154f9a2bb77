from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from backend.api.spec import ErrorOut, validated
from backend.auth.access import roles_required
from backend.auth.schemas import OfficeRef
from backend.i18n import routing_reason
from backend.routing.reasons import Reason
from backend.routing.services import preview

bp = Blueprint("routing", __name__, url_prefix="/api/v1")


class PreviewIn(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    city: str | None = Field(None, max_length=200)
    country: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=32)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    event_id: int | None = Field(None, ge=1, le=2**63 - 1)


class PreviewLocation(BaseModel):
    latitude: float
    longitude: float
    label: str
    source: str


class PreviewOut(BaseModel):
    office: OfficeRef
    method: str
    distance_km: float | None
    location: PreviewLocation | None
    reason: str = Field(description="Why it would go there, in English (stable wording)")
    reason_display: str = Field(
        description="The reason in the reader's language (their profile language, else "
        "Accept-Language, else the instance default)"
    )
    reason_code: str = Field(description="The reason's code (stable across languages)")
    reason_params: dict[str, Any] = Field(description="What the reason's text names")
    flags: list[str]


@bp.post("/routing/preview")
@roles_required("admin", "marketing")
@validated(body=PreviewIn, response=PreviewOut, extra_responses={409: ErrorOut})
def routing_preview(body: PreviewIn):
    """Where a lead from this place would be routed, and why (nothing is stored)."""
    result = preview(**body.model_dump())
    reason = Reason(result["reason_code"], result["reason_params"])
    return {**result, "reason_display": routing_reason(reason)}
