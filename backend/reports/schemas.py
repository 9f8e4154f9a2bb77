"""Report API schemas: the JSON shapes of the event report, the planner, wins and export."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.leads.models import RATINGS, STATUSES


class Percentiles(BaseModel):
    median: float | None
    p90: float | None


class Ratings(BaseModel):
    hot: int
    warm: int
    cold: int


class Amount(BaseModel):
    amount: float
    currency: str


class NotConverted(BaseModel):
    """Deals in a currency with no exchange rate for their day: counted here, never as 0."""

    deals: int
    amounts: list[Amount] = Field(description="the unconverted sums in their own currencies")


class OfficeResult(BaseModel):
    office_id: int | None
    code: str | None
    name: str
    leads: int
    contacted: int
    qualified: int
    won: int
    revenue_won: float
    not_converted_deals: int
    touched_within_sla_pct: float | None


class BadReason(BaseModel):
    reason: str
    count: int


class Quality(BaseModel):
    good: int
    bad: int
    pending: int
    top_bad_reasons: list[BadReason]


class FunnelStage(BaseModel):
    stage: Literal["captured", "contacted", "qualified", "won"]
    count: int
    conversion: float | None = Field(description="share of the previous stage; null for the first")


class EventReportOut(BaseModel):
    """Figures with no data are null. Money is in the reporting currency (``currency``):
    deal values at the rate of the day they were won, the pipeline at today's rate, the
    cost at the rate of the event's first day (null when it has no rate)."""

    revenue_won: float
    cost: float | None
    currency: str
    event_currency: str
    cost_original: Amount | None = Field(
        description="the cost as entered, when its currency differs"
    )
    revenue_original: list[Amount] = Field(
        description="won deal values entered in other currencies, before conversion"
    )
    not_converted: NotConverted
    pipeline_not_converted: NotConverted
    roi: float | None
    pipeline_value: float
    leads: int
    by_rating: Ratings
    by_office: list[OfficeResult]
    contacted: int
    qualified: int
    won: int
    lost: int
    stale: int
    escalated: int
    touched_within_sla_pct: float | None
    first_touch_minutes: Percentiles
    capture_to_touch_minutes: Percentiles
    quality: Quality
    cost_per_lead: float | None
    cost_per_qualified: float | None
    cost_per_won: float | None
    funnel: list[FunnelStage]


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    revenue_target: float = Field(gt=0, le=1e12, description="in ``currency``")
    event_id: int | None = None
    currency: str | None = Field(
        None, pattern=r"^[A-Za-z]{3}$", description="default: the reporting currency"
    )


class PlanRates(BaseModel):
    avg_deal_value: float
    win_rate: float
    qualification_rate: float
    cost_per_lead: float


class EventRef(BaseModel):
    id: int
    name: str


class Sensitivity(BaseModel):
    win_rate_change: float
    win_rate: float
    deals_needed: int
    qualified_needed: int
    leads_needed: int
    budget_needed: float


class PlanCompare(BaseModel):
    event_id: int
    event_name: str
    deals_needed: int
    qualified_needed: int
    leads_needed: int
    budget_needed: float
    expected_cost: float
    rates: PlanRates
    defaults_used: dict[str, float]
    based_on_events: list[EventRef]
    not_converted_deals: int


class PlanOut(BaseModel):
    """Money is in ``currency``, the currency the plan was asked in."""

    revenue_target: float
    currency: str
    reporting_currency: str
    events_left_out: list[EventRef] = Field(
        description="events with leads whose cost has no exchange rate"
    )
    deals_needed: int
    qualified_needed: int
    leads_needed: int
    budget_needed: float
    expected_cost: float
    rates: PlanRates
    defaults_used: dict[str, float] = Field(
        description="rates the system had no history for, with the default used"
    )
    based_on_events: list[EventRef]
    not_converted_deals: int = Field(
        description="won deals left out of the average deal for want of an exchange rate"
    )
    sensitivity: list[Sensitivity]
    compare: PlanCompare | None


class Win(BaseModel):
    lead_id: int
    won_at: datetime | None
    value: float | None
    currency: str
    reporting_value: float | None = Field(
        description="the value in the reporting currency at the rate of the day won"
    )
    reporting_currency: str
    company: str
    contact: str
    event: EventRef
    office: str | None
    rep: str | None


class WinsOut(BaseModel):
    items: list[Win]


class WinsQuery(BaseModel):
    limit: int = Field(100, ge=1, le=1000)


class ExportQuery(BaseModel):
    """Filters for the lead export; ``status`` takes a comma-separated list."""

    model_config = ConfigDict(extra="forbid")

    # Bounded to the id columns' range: the export streams, so a database error there
    # could no longer become a clean 422.
    event_id: int | None = Field(None, ge=1, le=2**31 - 1)
    office_id: int | None = Field(None, ge=1, le=2**31 - 1)
    status: str | None = None
    rating: Literal[RATINGS] | None = None  # type: ignore[valid-type]

    @field_validator("status")
    @classmethod
    def known_statuses(cls, value):
        if value:
            wanted = [s.strip() for s in value.split(",") if s.strip()]
            unknown = [s for s in wanted if s not in STATUSES]
            if unknown:
                raise ValueError(f"unknown status: {', '.join(unknown)}")
        return value

    def filters(self) -> dict:
        data = self.model_dump()
        data["status"] = [s.strip() for s in (self.status or "").split(",") if s.strip()]
        return data
