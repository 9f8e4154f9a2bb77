"""An office's fields as the CSV import (and the demo) give them, checked by pydantic like
every other input of the API."""

from __future__ import annotations

import zoneinfo
from typing import Annotated

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from backend.workspace.schemas import OrderIn


def _territory_list(value):
    if isinstance(value, str):
        value = value.replace(",", ";").split(";")
    return [str(t).strip().upper() for t in value or () if str(t).strip()]


class OfficeIn(OrderIn):
    """One office. Blank fields are absent (as in the office forms, whose ``OrderIn``
    also gives ``monthly_lead_order`` its limits); text is trimmed; ``territories`` may be
    a list or one text separated by ``;`` or ``,``."""

    model_config = ConfigDict(str_strip_whitespace=True)

    code: Annotated[str, StringConstraints(min_length=1, max_length=32, to_upper=True)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    city: Annotated[str, StringConstraints(max_length=200)] = ""
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)]
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"
    email: Annotated[str, StringConstraints(max_length=320)] = ""
    phone: Annotated[str, StringConstraints(max_length=64)] = ""
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    territories: Annotated[list[str], BeforeValidator(_territory_list)] = []
    capacity: int | None = Field(None, ge=0)
    working_days: Annotated[str, StringConstraints(pattern=r"^[1-7]{1,7}$")] = "12345"
    sla_hours: int | None = Field(None, ge=0)
    paused: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _none_is_absent(cls, data):
        # A CSV line shorter than its header gives None for the last columns.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("working_days")
    @classmethod
    def ordered_days(cls, value: str) -> str:
        return "".join(sorted(set(value)))


# What the import says about a field pydantic refused, by pydantic's error type.
_SAYS = {
    "float_parsing": "is not a number",
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "missing": "is empty",
    "string_too_short": "is empty",
    "string_pattern_mismatch": "is not valid",
    "finite_number": "is not a finite number",
}

_PATTERNS = {
    "country": "must be an ISO code like RU or DE",
    "working_days": "must be ISO weekday digits like 12345",
}


def problem(exc: ValidationError) -> str:
    """A ValidationError as one line naming each bad field ("latitude is not a number: 'north'")."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "value_error":
            parts.append(str(error["ctx"]["error"]))
            continue
        says = _PATTERNS.get(field) if error["type"] == "string_pattern_mismatch" else None
        says = says or _SAYS.get(error["type"])
        if says is None:
            parts.append(f"{field}: {error['msg']}")
            continue
        given = error.get("input")
        shown = f": {given!r}" if isinstance(given, str) and given.strip() else ""
        parts.append(f"{field} {says}{shown}")
    return "; ".join(parts)
