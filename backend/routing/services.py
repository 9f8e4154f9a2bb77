"""Routing glue: load offices from the database, call the pure engine, store the decision."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func

from backend.db_types import utcnow
from backend.errors import ApiError
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead, RoutingDecision
from backend.offices.models import Office
from backend.process_cache import ProcessCache
from backend.routing.engine import (
    Decision,
    LeadLocation,
    OfficeCandidate,
    OfficeIndex,
    ResolvedLocation,
    Venue,
    decide,
    next_nearest,
)
from backend.routing.gazetteer import get_gazetteer
from backend.routing.reasons import parse_english

# Flags the router sets; a re-route clears the old ones before adding its own.
ROUTING_FLAGS = ("location_unknown", "over_capacity", "unroutable")


def open_loads(office_ids: list[int] | None = None) -> dict[int, int]:
    """Untouched open leads per office (what capacity is measured against).

    ``office_ids`` limits the count to those offices (routing needs only the offices
    that set a capacity, and counting is the costly part of building the index).
    """
    query = (
        db.select(Lead.office_id, func.count())
        .where(Lead.office_id.is_not(None), Lead.first_touch_at.is_(None), Lead.status == "new")
        .group_by(Lead.office_id)
    )
    if office_ids is not None:
        if not office_ids:
            return {}
        query = query.where(Lead.office_id.in_(office_ids))
    return {office_id: count for office_id, count in db.session.execute(query)}


def build_index() -> OfficeIndex:
    """An index of every office with its current load, built once per request or batch."""
    offices = db.session.scalars(db.select(Office)).all()
    loads = open_loads([o.id for o in offices if o.capacity is not None])
    return OfficeIndex(_candidate(o, loads.get(o.id, 0)) for o in offices)


def _candidate(office: Office, open_load: int = 0) -> OfficeCandidate:
    return OfficeCandidate(
        id=office.id,
        code=office.code,
        name=office.name,
        latitude=office.latitude,
        longitude=office.longitude,
        territories=tuple(office.territories or ()),
        capacity=office.capacity,
        open_load=open_load,
        paused=office.paused,
    )


# --- the office index kept per process ----------------------------------------------
#
# Capture reuses one index per process (see backend/process_cache.py). Loads are not
# cached: the offices with a capacity get their live count before every batch.


class _SharedIndex:
    def __init__(self, index: OfficeIndex):
        self.index = index
        self.lock = threading.Lock()


_office_index = ProcessCache(
    "office_index",
    (Office,),
    lambda: _SharedIndex(OfficeIndex(_candidate(o) for o in db.session.scalars(db.select(Office)))),
)


@contextmanager
def office_index():
    """The process's office index with live loads, held for one batch's routing.

    Threads of one process share the index, so it is locked while a batch adjusts the
    loads; routing a batch in memory takes microseconds per lead.
    """
    entry = _office_index.get()
    capped = [o.id for o in entry.index.offices.values() if o.capacity is not None]
    loads = open_loads(capped) if capped else {}
    with entry.lock:
        for office_id in capped:
            entry.index.set_load(office_id, loads.get(office_id, 0))
        yield entry.index


def event_venue(event: Event | None) -> Venue | None:
    """The event venue as a routing fallback; its city is looked up when it has no coordinates."""
    if event is None:
        return None
    label = ", ".join(part for part in (event.venue_city, event.venue_country) if part)
    label = f"{event.name} venue ({label})" if label else f"{event.name} venue"
    if event.venue_latitude is not None and event.venue_longitude is not None:
        return Venue(event.venue_latitude, event.venue_longitude, label)
    place = get_gazetteer().resolve(event.venue_city, event.venue_country)
    if place is None:
        return None
    return Venue(place.latitude, place.longitude, label)


def lead_location(lead: Lead) -> LeadLocation:
    return LeadLocation(
        latitude=lead.latitude,
        longitude=lead.longitude,
        city=lead.city or None,
        country=lead.country or None,
        postal_code=lead.postal_code or None,
    )


def route_place(fields: Mapping, index: OfficeIndex, venue: Venue | None) -> Decision | None:
    """The routing decision for a new lead's place (its normalised fields: latitude,
    longitude, city, country, postal_code): what capture stores and the preview shows.
    None when no office can take it."""
    location = LeadLocation(
        latitude=fields.get("latitude"),
        longitude=fields.get("longitude"),
        city=fields.get("city") or None,
        country=fields.get("country") or None,
        postal_code=fields.get("postal_code") or None,
    )
    return decide(location, index, venue)


def apply_decision(
    lead: Lead,
    decision: Decision,
    index: OfficeIndex,
    *,
    decided_by_id: int | None = None,
    at: datetime | None = None,
) -> RoutingDecision:
    """Point the lead at the decided office and record why (the caller commits).

    ``at`` is when it happened (default now; the SLA sweep passes its own clock)."""
    now = at or utcnow()
    location = decision.location
    row = RoutingDecision(
        lead=lead,
        office_id=decision.office_id,
        method=decision.method,
        distance_km=decision.distance_km,
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        location_label=location.label if location else "",
        location_source=location.source if location else "",
        reason_code=decision.reason_code,
        reason_params=decision.reason_params,
        reason=decision.reason,
        flags=list(decision.flags),
        decided_by_id=decided_by_id,
        at=now,
    )
    db.session.add(row)
    previous = lead.office_id
    lead.office_id = decision.office_id
    lead.routed_at = now
    kept = [f for f in (lead.flags or []) if f not in ROUTING_FLAGS]
    lead.flags = kept + [f for f in decision.flags if f not in kept]
    index.adjust_load(decision.office_id, +1)
    if previous is not None and previous != decision.office_id:
        index.adjust_load(previous, -1)
    return row


def reassign_to_next_nearest(
    lead: Lead,
    index: OfficeIndex,
    *,
    method: str = "escalation",
    exclude_office_ids: frozenset[int] = frozenset(),
    at: datetime | None = None,
) -> RoutingDecision | None:
    """Move the lead to the next nearest office with room (escalation), or None if none.

    Never to its current office, nor to ``exclude_office_ids``; ``at`` as in
    :func:`apply_decision`."""
    last = lead.routing_decisions[-1] if lead.routing_decisions else None
    if last is not None and last.latitude is not None:
        location = ResolvedLocation(
            last.latitude, last.longitude, last.location_label, last.location_source, None, None
        )
    else:
        venue = event_venue(lead.event)
        if venue is None:
            return None
        location = ResolvedLocation(
            venue.latitude, venue.longitude, venue.label, "event", None, None
        )
    decision = next_nearest(
        location, index, exclude_office_id=lead.office_id, also_exclude=exclude_office_ids
    )
    if decision is None:
        return None
    return apply_decision(lead, decision, index, at=at)


def preview(
    *,
    city: str | None = None,
    country: str | None = None,
    postal_code: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    event_id: int | None = None,
) -> dict:
    """Where a lead from this place, captured at this event, would go, without storing
    anything: the place is normalised as capture does (the venue's country when none is
    given) and decided by the same ``route_place``, so an unknown place shows the event
    venue's fallback, flagged. Raises ApiError(404) for an unknown event and (409) when no
    office can take it."""
    from backend.leads.normalize import normalize_lead

    event = None
    if event_id is not None:
        event = db.session.get(Event, event_id)
        if event is None:
            raise ApiError(404, "not_found", f"no event {event_id}")
    raw = dict(
        city=city, country=country, postal_code=postal_code, latitude=latitude, longitude=longitude
    )
    fields = normalize_lead(
        raw, default_country=(event.venue_country if event else None) or None, now=utcnow()
    ).fields
    with office_index() as index:
        decision = route_place(fields, index, event_venue(event))
    if decision is None:
        raise ApiError(409, "no_office", "No office can take this lead (none, or all paused).")
    result = decision.as_dict()
    return {
        "office": {"code": decision.office_code, "name": decision.office_name},
        "method": result["method"],
        "distance_km": result["distance_km"],
        "location": result["location"],
        "reason": result["reason"],
        "reason_code": result["reason_code"],
        "reason_params": result["reason_params"],
        "flags": list(result["flags"]),
    }


def convert_stored_reasons(batch: int = 1000) -> tuple[int, int]:
    """Give routing decisions stored as English text by an earlier version their reason
    code and parameters, so they read in every language; run once after upgrading
    (``leadrelay convert-reasons``), safe to run again. A text of no known shape keeps
    its empty code and shows as written. Returns ``(converted, left as text)``; flushes.
    """
    converted = left = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            db.select(RoutingDecision)
            .where(RoutingDecision.id > last_id, RoutingDecision.reason_code == "")
            .where(RoutingDecision.reason != "")
            .order_by(RoutingDecision.id)
            .limit(batch)
        ).all()
        if not rows:
            return converted, left
        for row in rows:
            parsed = parse_english(row.reason)
            if parsed is None:
                left += 1
                continue
            row.reason_code, row.reason_params = parsed
            converted += 1
        last_id = rows[-1].id
        db.session.flush()
