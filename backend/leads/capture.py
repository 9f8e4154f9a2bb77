"""Capturing leads: idempotent by client UUID, merging the same person, never losing one.

``capture_batch`` handles one lead or 500 the same way, with a fixed number of SQL
round trips per step (load events, look up known UUIDs, look up known people, insert,
route, plan follow-ups), not one per lead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from backend.auth.models import User
from backend.db_types import utcnow
from backend.errors import validation_fields
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import RATINGS, Lead, MergedCapture
from backend.leads.normalize import Normalized, has_identity, normalize_lead
from backend.leads.schemas import LeadIn
from backend.messaging.services import enqueue_pending, plan_new_lead_messages
from backend.routing.services import build_index, event_venue, route_lead

CREATED, DUPLICATE, MERGED, REJECTED = "created", "duplicate", "merged", "rejected"
RATING_RANK = {rating: rank for rank, rating in enumerate(reversed(RATINGS), start=1)}


@dataclass
class CaptureResult:
    client_id: str | None
    status: str
    lead: Lead | None = None
    errors: list[dict] = field(default_factory=list)
    http_status: int = 422


@dataclass
class _Item:
    index: int
    payload: dict
    lead_in: LeadIn
    event: Event
    normalized: Normalized


def may_capture(user: User | None, event: Event) -> bool:
    """Staff capture only for events they staff; marketing and admin for any event."""
    if user is None:
        return False
    if user.role in ("admin", "marketing"):
        return True
    return user.role == "staff" and any(e.id == event.id for e in user.events)


def _reject(index_results, index, client_id, errors, http_status=422):
    index_results[index] = CaptureResult(
        client_id, REJECTED, errors=errors, http_status=http_status
    )


def _parse_items(payloads, default_event_id, user, source_override, results):
    """Validate each payload on its own; returns the items that may be stored."""
    parsed: list[tuple[int, dict, LeadIn]] = []
    for index, payload in enumerate(payloads):
        client_id = payload.get("client_id") if isinstance(payload, dict) else None
        client_id = str(client_id) if client_id is not None else None
        if not isinstance(payload, dict):
            _reject(
                results, index, None, [{"field": "body", "message": "a lead must be an object"}]
            )
            continue
        try:
            lead_in = LeadIn.model_validate(payload)
        except ValidationError as exc:
            _reject(results, index, client_id, validation_fields(exc))
            continue
        if not has_identity(payload):
            _reject(
                results,
                index,
                client_id,
                [
                    {
                        "field": "body",
                        "message": "give a name, e-mail, phone or badge to identify the person",
                    }
                ],
            )
            continue
        parsed.append((index, payload, lead_in))

    event_ids = {_event_id(p, default_event_id) for _, p, _ in parsed}
    event_ids.discard(None)
    events = {
        e.id: e for e in db.session.scalars(select(Event).where(Event.id.in_(event_ids))).all()
    } if event_ids else {}  # fmt: skip

    items: list[_Item] = []
    now = utcnow()
    for index, payload, lead_in in parsed:
        event = events.get(_event_id(payload, default_event_id))
        client_id = str(lead_in.client_id)
        if event is None:
            _reject(
                results, index, client_id, [{"field": "event_id", "message": "unknown event"}], 404
            )
            continue
        if source_override is None and not may_capture(user, event):
            _reject(
                results, index, client_id,
                [{"field": "event_id", "message": "you do not staff this event"}], 403,
            )  # fmt: skip
            continue
        data = lead_in.model_dump(mode="json")
        if source_override:
            data["source"] = source_override
        normalized = normalize_lead(data, default_country=event.venue_country or None, now=now)
        items.append(_Item(index, payload, lead_in, event, normalized))
    return items


def _event_id(payload: dict, default_event_id: int | None) -> int | None:
    if default_event_id is not None:
        return default_event_id
    value = payload.get("event_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _known_client_ids(client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int]]:
    """UUIDs already received: as a lead of their own, or merged into another lead."""
    if not client_ids:
        return {}
    known = {
        cid: (DUPLICATE, lead_id)
        for cid, lead_id in db.session.execute(
            select(Lead.client_id, Lead.id).where(Lead.client_id.in_(client_ids))
        )
    }
    for cid, lead_id in db.session.execute(
        select(MergedCapture.client_id, MergedCapture.lead_id).where(
            MergedCapture.client_id.in_(client_ids)
        )
    ):
        known[cid] = (DUPLICATE, lead_id)
    return known


def _person_keys(item: _Item) -> list[tuple[int, str, str]]:
    keys = []
    if item.normalized.fields.get("email_normalized"):
        keys.append((item.event.id, "email", item.normalized.fields["email_normalized"]))
    if item.normalized.fields.get("phone_normalized"):
        keys.append((item.event.id, "phone", item.normalized.fields["phone_normalized"]))
    return keys


def _known_people(items: Sequence[_Item]) -> dict[tuple[int, str, str], Lead]:
    """Stored leads of the same events matching these e-mails or phones."""
    emails = {(i.event.id, i.normalized.fields["email_normalized"]) for i in items}
    phones = {(i.event.id, i.normalized.fields["phone_normalized"]) for i in items}
    emails = {pair for pair in emails if pair[1]}
    phones = {pair for pair in phones if pair[1]}
    if not emails and not phones:
        return {}
    conditions = []
    if emails:
        conditions.append(tuple_(Lead.event_id, Lead.email_normalized).in_(list(emails)))
    if phones:
        conditions.append(tuple_(Lead.event_id, Lead.phone_normalized).in_(list(phones)))
    found: dict[tuple[int, str, str], Lead] = {}
    for lead in db.session.scalars(select(Lead).where(or_(*conditions)).order_by(Lead.id)):
        if lead.email_normalized:
            found.setdefault((lead.event_id, "email", lead.email_normalized), lead)
        if lead.phone_normalized:
            found.setdefault((lead.event_id, "phone", lead.phone_normalized), lead)
    return found


def merge_into(lead: Lead, item: _Item, user: User | None) -> MergedCapture:
    """Fold a second capture of the same person into ``lead``; nothing stored is overwritten."""
    fields = item.normalized.fields
    for name in (
        "first_name",
        "last_name",
        "company",
        "job_title",
        "city",
        "postal_code",
        "badge_raw",
    ):
        if not getattr(lead, name) and fields.get(name):
            setattr(lead, name, fields[name])
    if not lead.email and fields["email"]:
        lead.email, lead.email_normalized = fields["email"], fields["email_normalized"]
    if not lead.phone and fields["phone"]:
        lead.phone, lead.phone_normalized = fields["phone"], fields["phone_normalized"]
    if fields["notes"] and fields["notes"] not in (lead.notes or ""):
        lead.notes = f"{lead.notes}\n---\n{fields['notes']}" if lead.notes else fields["notes"]
    answers = dict(lead.answers or {})
    for key, value in fields["answers"].items():
        answers.setdefault(key, value)
    lead.answers = answers
    if RATING_RANK.get(fields["rating"] or "", 0) > RATING_RANK.get(lead.rating or "", 0):
        lead.rating = fields["rating"]
    if fields["consent_contact"] and not lead.consent_contact:
        lead.consent_contact, lead.consent_at = True, fields["consent_at"]
        lead.consent_text = fields["consent_text"]
    lead.flags = list(dict.fromkeys([*(lead.flags or []), "merged"]))
    merged = MergedCapture(
        client_id=item.lead_in.client_id,
        lead_id=lead.id,
        captured_by_id=user.id if user else None,
        payload=item.payload,
    )
    db.session.add(merged)
    return merged


def _new_lead(item: _Item, user: User | None) -> Lead:
    fields = dict(item.normalized.fields)
    return Lead(
        client_id=item.lead_in.client_id,
        event_id=item.event.id,
        event=item.event,
        captured_by_id=user.id if user else None,
        received_at=utcnow(),
        flags=list(item.normalized.flags),
        original=item.payload,
        status="new",
        **fields,
    )


def _mark_feedback_sample(new_leads: list[Lead]) -> None:
    """The first N leads of each event are flagged for sales' quality feedback."""
    by_event: dict[int, list[Lead]] = {}
    for lead in new_leads:
        by_event.setdefault(lead.event_id, []).append(lead)
    for event_id, leads in by_event.items():
        sample_size = leads[0].event.feedback_sample_size or 0
        if sample_size <= 0:
            continue
        # Counting stops at the sample size: a busy event's later leads cost no full count.
        sampled = (
            select(Lead.id)
            .where(Lead.event_id == event_id, Lead.feedback_requested.is_(True))
            .limit(sample_size)
        )
        already = db.session.scalar(select(db.func.count()).select_from(sampled.subquery()))
        for lead in leads[: max(sample_size - already, 0)]:
            lead.feedback_requested = True


def capture_batch(
    payloads: Sequence,
    *,
    user: User | None,
    event_id: int | None = None,
    source_override: str | None = None,
) -> list[CaptureResult]:
    """Store a batch of captured leads; one result per payload, in order.

    ``event_id`` fixes the event for every payload (the single-lead endpoint);
    otherwise each payload names its own. ``source_override`` is set for public
    visitor forms (no user). Commits. Concurrent submissions of the same UUID make
    one lead: the database's unique constraint decides, and the loser is retried
    as a duplicate.
    """
    try:
        results = _capture(payloads, user, event_id, source_override)
        lead_ids = _lead_ids(results)
        db.session.commit()
    except IntegrityError:
        # Another request stored one of these UUIDs or people first; the retry sees it.
        db.session.rollback()
        results = _capture(payloads, user, event_id, source_override)
        lead_ids = _lead_ids(results)
        db.session.commit()
    _reload(lead_ids)
    enqueue_pending([r.lead.id for r in results if r.status == CREATED])
    return results


def _lead_ids(results: list[CaptureResult]) -> list[int]:
    return list({r.lead.id for r in results if r.lead is not None})


def _reload(lead_ids: list[int]) -> None:
    """Refresh the committed (expired) leads in one query instead of one per lead."""
    if lead_ids:
        db.session.scalars(
            select(Lead).where(Lead.id.in_(lead_ids)).execution_options(populate_existing=True)
        ).all()


def _capture(payloads, user, event_id, source_override) -> list[CaptureResult]:
    results: list[CaptureResult | None] = [None] * len(payloads)
    items = _parse_items(payloads, event_id, user, source_override, results)
    known = _known_client_ids([i.lead_in.client_id for i in items])
    people = _known_people(items)
    new_leads: list[Lead] = []
    seen_in_batch: dict[uuid.UUID, Lead] = {}
    merged_ids: dict[uuid.UUID, Lead] = {}

    for item in items:
        cid = item.lead_in.client_id
        client_id = str(cid)
        if cid in known:
            results[item.index] = CaptureResult(
                client_id, DUPLICATE, db.session.get(Lead, known[cid][1]), http_status=200
            )
            continue
        if cid in seen_in_batch or cid in merged_ids:
            lead = seen_in_batch.get(cid) or merged_ids[cid]
            results[item.index] = CaptureResult(client_id, DUPLICATE, lead, http_status=200)
            continue
        match = next((people[k] for k in _person_keys(item) if k in people), None)
        if match is not None:
            if match.id is None:
                db.session.flush()
            merge_into(match, item, user)
            merged_ids[cid] = match
            results[item.index] = CaptureResult(client_id, MERGED, match, http_status=200)
            continue
        lead = _new_lead(item, user)
        db.session.add(lead)
        new_leads.append(lead)
        seen_in_batch[cid] = lead
        for key in _person_keys(item):
            people.setdefault(key, lead)
        results[item.index] = CaptureResult(client_id, CREATED, lead, http_status=201)

    if new_leads:
        db.session.flush()
        index = build_index()
        venues = {}
        for lead in new_leads:
            if lead.event_id not in venues:
                venues[lead.event_id] = event_venue(lead.event)
            decision = route_lead(lead, index, venues[lead.event_id])
            # A new lead's only decision is this one: say so, sparing a query per lead later.
            set_committed_value(lead, "routing_decisions", [decision] if decision else [])
        _mark_feedback_sample(new_leads)
        db.session.flush()
        plan_new_lead_messages(new_leads)
        db.session.flush()
    return results  # type: ignore[return-value]
