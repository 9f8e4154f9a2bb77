"""The SLA clock: working time of an office in its own time zone, without RQ or Flask.

An office's SLA (``sla_hours``, default 24) counts only its working days
(``working_days`` as ISO weekdays, "12345" = Monday to Friday) in its own time zone,
whole days at a time: a lead that arrives on Friday evening in Moscow has used the
rest of Friday, and its clock stands still over Saturday and Sunday.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SLA_HOURS = 24
DEFAULT_WORKING_DAYS = "12345"
DAY = timedelta(days=1)


def time_zone(tz_name: str | None) -> ZoneInfo:
    """The zone named ``tz_name``; UTC when it is empty or unknown."""
    try:
        return ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _days(working_days: str | None) -> set[int]:
    days = {int(c) for c in (working_days or "") if c in "1234567"}
    return days or {1, 2, 3, 4, 5, 6, 7}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day_bounds(day, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local calendar day as an aware [start, end) interval (DST-correct)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + DAY, time.min, tzinfo=zone)
    return start, end


def working_time_between(
    start: datetime, end: datetime, tz_name: str | None, working_days: str | None
) -> timedelta:
    """The part of [start, end) that falls on the office's working days, in its zone.

    Returns a zero timedelta when ``end`` is not after ``start``. Naive datetimes are
    taken as UTC.
    """
    start, end = _aware(start), _aware(end)
    if end <= start:
        return timedelta(0)
    zone, days = time_zone(tz_name), _days(working_days)
    if len(days) == 7:
        return end - start
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    total = timedelta(0)
    day = local_start.date()
    # Whole weeks could be skipped arithmetically, but SLA spans are days, not years.
    while day <= local_end.date():
        if day.isoweekday() in days:
            day_start, day_end = _day_bounds(day, zone)
            lo, hi = max(day_start, start), min(day_end, end)
            if hi > lo:
                total += hi - lo
        day += DAY
    return total


def sla_due_at(
    start: datetime, sla_hours: float | None, tz_name: str | None, working_days: str | None
) -> datetime:
    """The UTC moment when ``sla_hours`` of working time have passed since ``start``.

    A start on a non-working day begins counting at the next working day's midnight.
    """
    start = _aware(start)
    remaining = timedelta(hours=sla_hours if sla_hours is not None else DEFAULT_SLA_HOURS)
    zone, days = time_zone(tz_name), _days(working_days)
    if len(days) == 7 or remaining <= timedelta(0):
        return (start + remaining).astimezone(UTC)
    day = start.astimezone(zone).date()
    for _ in range(3660):  # ten years of days: a bound, never reached in practice
        if day.isoweekday() in days:
            day_start, day_end = _day_bounds(day, zone)
            lo = max(day_start, start)
            available = day_end - lo
            if available >= remaining:
                return (lo + remaining).astimezone(UTC)
            remaining -= max(available, timedelta(0))
        day += DAY
    raise ValueError("SLA deadline out of range")


def sla_state(lead, office, now: datetime) -> dict:
    """The SLA clock of one lead for the office queue.

    Returns ``{"due_at", "remaining_seconds", "overdue", "elapsed_seconds"}``; ``due_at``
    is None (and ``overdue`` False) for a lead not routed, already touched, or not new.
    """
    routed_at = getattr(lead, "routed_at", None)
    touched = getattr(lead, "first_touch_at", None) is not None
    if routed_at is None or touched or getattr(lead, "status", "new") != "new":
        return {"due_at": None, "remaining_seconds": None, "overdue": False, "elapsed_seconds": 0}
    tz_name = getattr(office, "timezone", None)
    working_days = getattr(office, "working_days", None)
    hours = getattr(office, "sla", None) or DEFAULT_SLA_HOURS  # Office.sla applies the default
    now = _aware(now)
    due_at = sla_due_at(routed_at, hours, tz_name, working_days)
    elapsed = working_time_between(routed_at, now, tz_name, working_days)
    remaining = timedelta(hours=hours) - elapsed
    return {
        "due_at": due_at,
        "remaining_seconds": int(remaining.total_seconds()),
        "overdue": remaining <= timedelta(0),
        "elapsed_seconds": int(elapsed.total_seconds()),
    }


def working_start_before(
    end: datetime, amount: timedelta, tz_name: str | None, working_days: str | None
) -> datetime:
    """The latest start such that ``working_time_between(start, end) >= amount``.

    The sweep uses it to turn "75% of the SLA has passed" into one ``routed_at <=``
    cutoff per office, so due leads are found with an indexed range query.
    """
    end = _aware(end)
    zone, days = time_zone(tz_name), _days(working_days)
    if len(days) == 7 or amount <= timedelta(0):
        return (end - amount).astimezone(UTC)
    remaining = amount
    day = end.astimezone(zone).date()
    for _ in range(3660):
        if day.isoweekday() in days:
            day_start, day_end = _day_bounds(day, zone)
            hi = min(day_end, end)
            available = hi - day_start
            if available >= remaining:
                return (hi - remaining).astimezone(UTC)
            remaining -= max(available, timedelta(0))
        day -= DAY
    raise ValueError("SLA start out of range")
