"""Lead schemas: one definition validates requests and documents the API.

Length limits are generous on purpose (a badge can carry a long address); a field
that is present but does not make sense (a mistyped e-mail) is *not* rejected here:
it is kept and flagged by the normaliser.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from backend.auth.schemas import OfficeRef

Name = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
AnswerValue = (
    Annotated[str, StringConstraints(max_length=2_000)]
    | bool
    | int
    | float
    | list[Annotated[str, StringConstraints(max_length=500)]]
    | None
)
MAX_BATCH = 500


class ConsentIn(BaseModel):
    contact: bool = False
    marketing: bool = False
    text: Annotated[str, StringConstraints(max_length=4_000)] = ""


class LeadIn(BaseModel):
    """One captured lead. Only ``client_id`` and some way to identify the person are required."""

    model_config = ConfigDict(extra="ignore")

    client_id: uuid.UUID = Field(description="UUID made on the phone; a replay with it is a no-op")
    captured_at: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="ISO 8601 time of capture on the phone"
    )
    first_name: Name | None = None
    last_name: Name | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(max_length=64)] | None = None
    company: Annotated[str, StringConstraints(max_length=300)] | None = None
    job_title: Annotated[str, StringConstraints(max_length=300)] | None = None
    city: Name | None = None
    country: Annotated[str, StringConstraints(max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    latitude: float | Annotated[str, StringConstraints(max_length=32)] | None = None
    longitude: float | Annotated[str, StringConstraints(max_length=32)] | None = None
    rating: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        None, description="hot | warm | cold (anything else is kept and flagged)"
    )
    notes: Text | None = None
    answers: dict[Annotated[str, StringConstraints(max_length=100)], AnswerValue] = Field(
        default_factory=dict, max_length=100
    )
    consent: ConsentIn = Field(default_factory=ConsentIn)
    source: Literal["staff", "kiosk", "badge"] = "staff"
    badge_raw: Annotated[str, StringConstraints(max_length=4_000)] | None = None
    badge_id: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="The attendee id the scanned badge carried (matched to the list)"
    )
    language: Annotated[str, StringConstraints(max_length=35)] | None = Field(
        None,
        description='The language the visitor reads (a BCP 47 tag such as "ru" or "ru-RU"): '
        "their mails come in it. A language LeadRelay has no mails in is not stored; the "
        "event's default language is used then.",
    )


class SyncLeadIn(LeadIn):
    event_id: int


class SyncIn(BaseModel):
    leads: list[SyncLeadIn] = Field(max_length=MAX_BATCH)


class RawJson(RootModel[Any]):
    """Any JSON document; the capture service validates it item by item."""


class SyncEnvelope(BaseModel):
    """What /sync parses up front: each item is then validated on its own."""

    leads: list[Any] = Field(max_length=MAX_BATCH)


ReasonDisplay = Annotated[
    str,
    Field(
        description="The reason in the reader's language (their profile language, else "
        "Accept-Language, else the instance default); `reason` stays in English."
    ),
]

ReasonCode = Annotated[
    str,
    Field(
        description="The reason as a code (`nearest`, `territory`, `capacity_spill`, "
        "`handover`, ...; empty for a reason stored before codes that could not be read)"
    ),
]
ReasonParams = Annotated[
    dict[str, Any],
    Field(description="What the reason names: offices, distances in km, loads, territory"),
]


class RoutingOut(BaseModel):
    method: str
    distance_km: float | None
    reason: str = Field(description="Why the lead went there, in English (stable wording)")
    reason_code: ReasonCode
    reason_params: ReasonParams
    reason_display: ReasonDisplay


class LeadOut(BaseModel):
    id: int
    client_id: uuid.UUID
    event_id: int
    result: Literal["created", "duplicate", "merged"] | None = None
    status: str
    office: OfficeRef | None
    routing: RoutingOut | None
    flags: list[str]
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    job_title: str
    city: str
    country: str
    rating: str | None
    source: str
    language: str | None = Field(
        None,
        description="The language the visitor's mails go in (one LeadRelay has mails in); "
        "none: the event's default language.",
    )
    captured_at: datetime
    received_at: datetime


class LeadReplayOut(BaseModel):
    """A replay or merge into a lead the caller may not read: what they sent, nothing
    stored."""

    client_id: uuid.UUID
    result: Literal["duplicate", "merged"]
    event_id: int
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    company: str = ""
    job_title: str = ""
    city: str = ""
    country: str = ""
    rating: str | None = None
    source: str = "staff"
    language: str | None = None


class CaptureReplyOut(RootModel[LeadOut | LeadReplayOut]):
    """A replay or merge: the stored lead when the caller may read it, else only what they
    sent (``LeadReplayOut``)."""


class RoutingDecisionOut(BaseModel):
    office: OfficeRef
    method: str
    distance_km: float | None
    reason: str
    reason_code: ReasonCode
    reason_params: ReasonParams
    reason_display: ReasonDisplay
    location_label: str
    location_source: str
    at: datetime


class TouchOut(BaseModel):
    id: int
    kind: str
    outcome: str
    note: str
    at: datetime
    user: str | None


class LeadDetailOut(LeadOut):
    postal_code: str
    notes: str
    answers: dict[str, Any]
    badge_raw: str
    badge_id: str = ""
    consent: ConsentIn
    deal_value: Decimal | None
    deal_currency: str | None
    lost_reason: str | None
    first_touch_at: datetime | None
    routed_at: datetime | None
    escalation_level: int
    feedback_requested: bool
    claimed_by: str | None
    captured_by: str | None
    routing_history: list[RoutingDecisionOut]
    touches: list[TouchOut]


class SyncItemOut(BaseModel):
    client_id: str | None
    status: Literal["created", "duplicate", "merged", "rejected"]
    lead_id: int | None
    office: OfficeRef | None
    routing: RoutingOut | None
    flags: list[str]
    errors: list[dict[str, str]]


class SyncOut(BaseModel):
    results: list[SyncItemOut]


class LeadListQuery(BaseModel):
    status: str | None = None
    rating: str | None = None
    office: str | None = Field(None, description="office code")
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=500)


class LeadListOut(BaseModel):
    items: list[LeadOut]
    page: int
    per_page: int
    total: int
