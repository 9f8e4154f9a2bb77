"""Workspace schemas: the office queue and every action on a lead, for the API and its docs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.auth.schemas import EventRef, OfficeRef
from backend.i18n import LABELS
from backend.leads.models import NEXT_STEPS, STATUSES, TOUCH_KINDS
from backend.leads.schemas import AnswerValue

Status = Literal["new", "contacted", "qualified", "won", "lost", "stale"]
TouchKind = Literal["call", "email", "meeting", "message", "note"]
NextStep = Literal["call_back", "send_offer", "meeting"]
RatingFilter = Literal["hot", "warm", "cold", "unrated"]
FeedbackReason = Literal[
    "wrong_target", "no_budget", "student_or_job_seeker", "competitor", "duplicate", "other"
]
# Lazy: the lead page shows them in the reader's language; the API takes the codes.
FEEDBACK_REASONS: dict[str, str] = LABELS["feedback_reason"]
assert set(STATUSES) == set(Status.__args__) and set(TOUCH_KINDS) == set(TouchKind.__args__)
assert set(NEXT_STEPS) == set(NextStep.__args__)

Short = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
Note = Annotated[str, StringConstraints(max_length=10_000, strip_whitespace=True)]


class _Form(BaseModel):
    """HTML forms send empty strings for fields left blank; treat them as absent."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data):
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data


class QueueQuery(_Form):
    event: int | None = Field(None, ge=1, le=2**31 - 1, description="only leads of this event id")
    rating: RatingFilter | None = None
    status: Status | None = Field(None, description="default: every open status")
    mine: bool = Field(False, description="only leads I claimed")
    unclaimed: bool = Field(False, description="only leads nobody claimed")
    since: AwareDatetime | None = Field(
        None, description="only leads routed to the office after this moment (for polling)"
    )
    office: str | None = Field(None, description="office code (marketing and admin only)")
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(100, ge=1, le=500)


class UserRef(BaseModel):
    id: int
    name: str


class SlaOut(BaseModel):
    due_at: datetime | None = Field(description="UTC deadline; null once touched or not new")
    due_local: str | None = Field(description="the deadline in the office's time zone")
    remaining_seconds: int | None = Field(description="working time left; negative when overdue")
    overdue: bool
    label: str


class NextStepOut(BaseModel):
    kind: str = Field(description="call_back | send_offer | meeting")
    at: datetime
    due: bool = Field(description="its time has come")
    label: str = Field(description='e.g. "next: call back Tue 10:00 (Europe/Moscow)"')


class QueueItemOut(BaseModel):
    id: int
    name: str
    company: str
    event: EventRef
    rating: str | None
    status: str
    escalation_level: int
    escalated: bool
    received_at: datetime
    routed_at: datetime | None
    age_seconds: int
    age_label: str
    sla: SlaOut
    next_step: NextStepOut | None
    flags: list[str] = Field(description="lead flags plus feedback_requested when asked")
    claimed_by: UserRef | None
    url: str


class QueueCounts(BaseModel):
    total: int = Field(description="leads matching the filters")
    unclaimed: int
    overdue: int


class QueueOut(BaseModel):
    office: OfficeRef
    now: datetime = Field(description="server time; pass it back as `since` on the next poll")
    items: list[QueueItemOut]
    page: int
    per_page: int
    counts: QueueCounts


class TouchIn(_Form):
    kind: TouchKind
    outcome: Short = ""
    note: Note = ""
    at: AwareDatetime | None = Field(
        None, description="when it happened (default now); not before the lead arrived"
    )
    next_step: NextStep | None = Field(
        None,
        description="what to do next; with `next_step_at`. A contact without one "
        "clears the lead's next step (a note keeps it)",
    )
    next_step_at: AwareDatetime | None = Field(None, description="when the next step is due")

    @model_validator(mode="after")
    def _next_step_has_a_time(self):
        if (self.next_step is None) != (self.next_step_at is None):
            raise ValueError("give the next step and its time together")
        return self


class StatusIn(_Form):
    status: Status
    deal_value: Decimal | None = Field(None, max_digits=14, decimal_places=2)
    deal_currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    lost_reason: Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)] | None = (
        None
    )


class HandoverIn(_Form):
    office_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    reason: Annotated[str, StringConstraints(min_length=3, max_length=1000, strip_whitespace=True)]


class ContactIn(_Form):
    first_name: Short | None = None
    last_name: Short | None = None
    email: Annotated[str, StringConstraints(max_length=320, strip_whitespace=True)] | None = None
    phone: Annotated[str, StringConstraints(max_length=64, strip_whitespace=True)] | None = None
    company: Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)] | None = None
    job_title: Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)] | None = (
        None
    )
    # Only the staff member who captured the lead may also correct these (the booth app).
    rating: Literal["hot", "warm", "cold"] | None = None
    notes: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    answers: dict[Annotated[str, StringConstraints(max_length=100)], AnswerValue] | None = Field(
        None, max_length=100
    )


class FeedbackIn(_Form):
    verdict: Literal["good", "bad"]
    reason: FeedbackReason | None = Field(None, description="required when the verdict is bad")
    note: Note = ""


class ReopenIn(_Form):
    reason: Annotated[str, StringConstraints(min_length=3, max_length=300, strip_whitespace=True)]


class AssignIn(_Form):
    user_id: int


class OrderIn(_Form):
    monthly_lead_order: int | None = Field(None, ge=0, le=1_000_000)


class TouchOut(BaseModel):
    id: int
    kind: str
    outcome: str
    note: str
    at: datetime
    user: UserRef | None


class LeadStateOut(BaseModel):
    """A lead's working state after an action."""

    id: int
    status: str
    office: OfficeRef | None
    claimed_by: UserRef | None
    claimed_at: datetime | None
    first_touch_at: datetime | None
    status_changed_at: datetime | None
    deal_value: Decimal | None
    deal_currency: str | None
    lost_reason: str | None
    won_at: datetime | None
    next_step: str | None
    next_step_at: datetime | None
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    job_title: str
    flags: list[str]


class TouchCreatedOut(BaseModel):
    touch: TouchOut
    lead: LeadStateOut


class FeedbackOut(BaseModel):
    lead_id: int
    verdict: str
    reason: str
    note: str
    at: datetime
    user: UserRef | None


class RepLoadOut(BaseModel):
    user: UserRef | None = Field(description="null: the unclaimed leads")
    role: str | None
    open: int
    overdue: int


class TeamLoadOut(BaseModel):
    office: OfficeRef
    reps: list[RepLoadOut]


class OrderOut(BaseModel):
    office: OfficeRef
    month: str = Field(description="YYYY-MM in the office's time zone")
    monthly_lead_order: int | None
    received_this_month: int
