"""Capturing leads: idempotent by client UUID, merging the same person, never losing one.

``capture_batch`` handles one lead or 500 the same way, with a fixed number of SQL
round trips (load events, look up known UUIDs and people, insert leads, insert their
routing decisions, plan follow-ups), not one per lead. New leads are routed in memory
before they are written and inserted without the ORM's unit of work; the reply is
built from what was written, so nothing is read back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from flask import current_app
from pydantic import ValidationError
from sqlalchemy import Integer, String, Uuid, and_, literal, null, or_, select, text, union_all
from sqlalchemy.exc import IntegrityError

from backend.auth.models import User
from backend.db_bulk import insert_rows, without_nul
from backend.db_types import utcnow
from backend.errors import validation_fields
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import RATINGS, Lead, MergedCapture, RoutingDecision
from backend.leads.normalize import Normalized, has_identity, normalize_lead
from backend.leads.queries import last_decisions, lead_json
from backend.leads.schemas import LeadIn
from backend.messaging.models import Message, Unsubscribe
from backend.messaging.services import enqueue_messages, new_lead_rows
from backend.offices.models import office_names, office_ref
from backend.process_cache import ProcessCache
from backend.routing.engine import LeadLocation, decide
from backend.routing.services import ROUTING_FLAGS, event_venue, office_index

CREATED, DUPLICATE, MERGED, REJECTED = "created", "duplicate", "merged", "rejected"
MAX_ID = 2**63 - 1  # a BIGINT; a larger number is no id at all
RATING_RANK = {rating: rank for rank, rating in enumerate(reversed(RATINGS), start=1)}


@dataclass
class CaptureResult:
    client_id: str | None
    status: str
    lead_id: int | None = None
    #: The lead as the API shows it (``lead_json``'s shape), for every stored result.
    reply: dict | None = None
    errors: list[dict] = field(default_factory=list)
    http_status: int = 422

    @property
    def lead(self) -> Lead | None:
        """The stored lead, loaded on demand (the capture itself never needs it)."""
        return db.session.get(Lead, self.lead_id) if self.lead_id is not None else None


@dataclass(frozen=True)
class EventSnapshot:
    """What capturing a lead reads of its event (kept per process, see below)."""

    id: int
    name: str
    venue_city: str
    venue_country: str
    venue_latitude: float | None
    venue_longitude: float | None
    feedback_sample_size: int

    @classmethod
    def of(cls, event: Event) -> EventSnapshot:
        return cls(**{name: getattr(event, name) for name in cls.__dataclass_fields__})


# Events are read by every capture and edited rarely: kept per process like the offices.
_events = ProcessCache("capture_events", (Event,), dict)


def capture_events(event_ids) -> dict[int, EventSnapshot]:
    """The events of these ids that exist (one query for those not yet known here)."""
    known: dict[int, EventSnapshot] = _events.get()
    missing = [event_id for event_id in event_ids if event_id not in known]
    if missing:
        for event in db.session.scalars(select(Event).where(Event.id.in_(missing))):
            known[event.id] = EventSnapshot.of(event)
    return {event_id: known[event_id] for event_id in event_ids if event_id in known}


@dataclass
class _Item:
    """A payload that passed validation and may be stored."""

    index: int
    payload: dict
    lead_in: LeadIn
    event: EventSnapshot
    normalized: Normalized
    captured_by_id: int | None


@dataclass
class _NewLead:
    """A lead about to be inserted: its row, and what routing decided for it."""

    row: dict
    decision: object = None
    lead_id: int | None = None
    #: Later captures of the same person in this batch, folded into this lead.
    merged: list[_Item] = field(default_factory=list)


def may_capture(user: User | None, event: Event | EventSnapshot) -> bool:
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
    events = capture_events(event_ids)

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
        items.append(_Item(index, payload, lead_in, event, normalized, user.id if user else None))
    return items


def _event_id(payload: dict, default_event_id: int | None) -> int | None:
    value = default_event_id if default_event_id is not None else payload.get("event_id")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None  # no event can have it: the lead is answered "unknown event"


@dataclass
class _Known:
    """What is already stored about a batch."""

    #: UUIDs received before, as a lead of their own or merged into one: the lead's id.
    client_ids: dict[uuid.UUID, int] = field(default_factory=dict)
    #: Leads of the same events with the same e-mail or phone: (event, kind, value) → id.
    people: dict[tuple, int] = field(default_factory=dict)
    #: E-mail addresses that unsubscribed: no autoresponder for them.
    unsubscribed: set[str] = field(default_factory=set)


def _known(items: Sequence[_Item]) -> _Known:
    """What is already stored about this batch, in one query (a UNION ALL of indexed
    lookups, each row tagged with what it answers)."""
    known = _Known()
    if not items:
        return known
    # Core, not the ORM session: nothing to flush first, nothing to map.
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.execute(_KNOWN_PG, _known_pg_params(items)).all()
    else:
        rows = connection.execute(_known_query(items)).all()
    for kind, lead_id, client_id, event_id, email, phone in sorted(
        rows, key=lambda row: (row[0], row[1] or 0)
    ):
        if kind == "uuid":
            known.client_ids[client_id] = lead_id
        elif kind == "unsubscribed":
            known.unsubscribed.add(email)
        else:
            if email:
                known.people.setdefault((event_id, "email", email), lead_id)
            if phone:
                known.people.setdefault((event_id, "phone", phone), lead_id)
    return known


# On PostgreSQL one fixed statement, each lookup a join of an array parameter to its
# unique or (event, contact) index. Psycopg prepares a statement it runs often; the
# prepared plan of the former ``column = ANY($1)`` form, made while the lead table was
# small, stayed a sequential scan comparing every row with the whole array, so a batch
# of 500 cost more with every lead stored (170 ms at 15,000 leads, against 6 ms now).
# A join to ``unnest($1)`` stays a nested loop over the index whatever the table's size.
_KNOWN_PG = text(
    """
    SELECT 'uuid', l.id, l.client_id, NULL::bigint, NULL::text, NULL::text
      FROM unnest(CAST(:client_ids AS uuid[])) AS k(client_id)
      JOIN lead l ON l.client_id = k.client_id
    UNION ALL
    SELECT 'uuid', m.lead_id, m.client_id, NULL, NULL, NULL
      FROM unnest(CAST(:client_ids AS uuid[])) AS k(client_id)
      JOIN merged_capture m ON m.client_id = k.client_id
    UNION ALL
    SELECT 'person', l.id, NULL, l.event_id, l.email_normalized, l.phone_normalized
      FROM unnest(CAST(:email_events AS bigint[]), CAST(:emails AS text[])) AS p(event_id, email)
      JOIN lead l ON l.event_id = p.event_id AND l.email_normalized = p.email
    UNION ALL
    SELECT 'person', l.id, NULL, l.event_id, l.email_normalized, l.phone_normalized
      FROM unnest(CAST(:phone_events AS bigint[]), CAST(:phones AS text[])) AS p(event_id, phone)
      JOIN lead l ON l.event_id = p.event_id AND l.phone_normalized = p.phone
    UNION ALL
    SELECT 'unsubscribed', NULL, NULL, NULL, u.email, NULL
      FROM unnest(CAST(:unsubscribe_emails AS text[])) AS k(email)
      JOIN unsubscribe u ON u.email = k.email
    """
)


def _known_pg_params(items: Sequence[_Item]) -> dict:
    emails, phones = list(_contacts(items, "email")), list(_contacts(items, "phone"))
    return {
        "client_ids": list({item.lead_in.client_id for item in items}),
        "email_events": [event_id for event_id, _ in emails],
        "emails": [email for _, email in emails],
        "phone_events": [event_id for event_id, _ in phones],
        "phones": [phone for _, phone in phones],
        "unsubscribe_emails": list({email for _, email in emails}),
    }


def _known_query(items: Sequence[_Item]):
    """The same lookups for SQLite, which has no arrays."""
    client_ids = [item.lead_in.client_id for item in items]
    no_uuid, no_int, no_text = null().cast(Uuid), null().cast(Integer), null().cast(String)
    parts = [
        select(literal("uuid"), Lead.id, Lead.client_id, no_int, no_text, no_text).where(
            Lead.client_id.in_(client_ids)
        ),
        select(
            literal("uuid"), MergedCapture.lead_id, MergedCapture.client_id,
            no_int, no_text, no_text,
        ).where(MergedCapture.client_id.in_(client_ids)),
    ]  # fmt: skip
    same_person = []
    for kind, column in (("email", Lead.email_normalized), ("phone", Lead.phone_normalized)):
        by_event: dict[int, set[str]] = {}
        for event_id, value in _contacts(items, kind):
            by_event.setdefault(event_id, set()).add(value)
        same_person += [and_(Lead.event_id == e, column.in_(v)) for e, v in by_event.items()]
    if same_person:
        parts.append(
            select(
                literal("person"), Lead.id, no_uuid,
                Lead.event_id, Lead.email_normalized, Lead.phone_normalized,
            ).where(or_(*same_person))
        )  # fmt: skip
    all_emails = {email for _, email in _contacts(items, "email")}
    if all_emails:
        parts.append(
            select(
                literal("unsubscribed"), no_int, no_uuid, no_int, Unsubscribe.email, no_text
            ).where(Unsubscribe.email.in_(all_emails))
        )
    return union_all(*parts)


def _contacts(items: Sequence[_Item], kind: str) -> set[tuple[int, str]]:
    """Each item's (event id, normalised e-mail or phone), ``kind`` saying which."""
    return {(key[0], key[2]) for item in items for key in _person_keys(item) if key[1] == kind}


def _person_keys(item: _Item) -> list[tuple[int, str, str]]:
    keys = []
    if item.normalized.fields.get("email_normalized"):
        keys.append((item.event.id, "email", item.normalized.fields["email_normalized"]))
    if item.normalized.fields.get("phone_normalized"):
        keys.append((item.event.id, "phone", item.normalized.fields["phone_normalized"]))
    return keys


MERGE_FILL = (
    "first_name", "last_name", "company", "job_title", "city", "postal_code", "badge_raw", "language",
    "badge_id",
)  # fmt: skip


def merge_changes(current: dict, fields: dict) -> dict:
    """What a second capture of the same person adds to the stored lead ``current``.

    Nothing stored is overwritten: empty fields are filled, notes and answers are
    added, a higher rating wins, consent given later is recorded.
    """
    changes: dict = {}
    for name in MERGE_FILL:
        if not current.get(name) and fields.get(name):
            changes[name] = fields[name]
    if not current.get("email") and fields["email"]:
        changes.update(email=fields["email"], email_normalized=fields["email_normalized"])
    if not current.get("phone") and fields["phone"]:
        changes.update(phone=fields["phone"], phone_normalized=fields["phone_normalized"])
    notes = current.get("notes") or ""
    if fields["notes"] and fields["notes"] not in notes:
        changes["notes"] = f"{notes}\n---\n{fields['notes']}" if notes else fields["notes"]
    answers = dict(current.get("answers") or {})
    for key, value in fields["answers"].items():
        answers.setdefault(key, value)
    if answers != (current.get("answers") or {}):
        changes["answers"] = answers
    if RATING_RANK.get(fields["rating"] or "", 0) > RATING_RANK.get(current.get("rating") or "", 0):
        changes["rating"] = fields["rating"]
    if fields["consent_contact"] and not current.get("consent_contact"):
        changes.update(
            consent_contact=True,
            consent_at=fields["consent_at"],
            consent_text=fields["consent_text"],
        )
    flags = list(current.get("flags") or [])
    if "merged" not in flags:
        changes["flags"] = [*flags, "merged"]
    return changes


def _merge_into_stored(merges: list[tuple[int, _Item]]) -> None:
    """Fold later captures into their stored leads: one query loads every lead concerned,
    the changed leads are written back by the flush, the captures inserted at once.

    The leads are locked as they are read (in id order, so two batches cannot deadlock):
    two requests merging into one lead at once would otherwise each add to what they
    read, and the later write would drop the earlier one's notes."""
    if not merges:
        return
    ids = sorted({lead_id for lead_id, _ in merges})
    locked = select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id).with_for_update(of=Lead)
    leads = {lead.id: lead for lead in db.session.scalars(locked)}
    for lead_id, item in merges:
        lead = leads[lead_id]
        current = {name: getattr(lead, name) for name in (*MERGE_FILL, "email", "phone",
                   "notes", "answers", "rating", "consent_contact", "flags")}  # fmt: skip
        for name, value in merge_changes(current, item.normalized.fields).items():
            setattr(lead, name, without_nul(value))
    insert_rows(
        MergedCapture.__table__,
        [_merged_capture_row(item, lead_id) for lead_id, item in merges],
    )


def _merged_capture_row(item: _Item, lead_id: int) -> dict:
    return {
        "client_id": item.lead_in.client_id,
        "lead_id": lead_id,
        "captured_by_id": item.captured_by_id,
        "payload": without_nul(item.payload),
    }


def _new_lead_row(item: _Item, now) -> dict:
    return {
        **item.normalized.fields,
        "client_id": item.lead_in.client_id,
        "event_id": item.event.id,
        "captured_by_id": item.captured_by_id,
        "received_at": now,
        "updated_at": now,
        "flags": list(item.normalized.flags),
        "original": item.payload,
        "status": "new",
        "office_id": None,
        "routed_at": None,
        "feedback_requested": False,
    }


def _route(new_leads: list[_NewLead], events: dict[int, EventSnapshot], now) -> None:
    """Choose each new lead's office in memory, before anything is written."""
    venues = {event_id: event_venue(event) for event_id, event in events.items()}
    with office_index() as index:
        for new in new_leads:
            row = new.row
            location = LeadLocation(
                latitude=row["latitude"],
                longitude=row["longitude"],
                city=row["city"] or None,
                country=row["country"] or None,
                postal_code=row["postal_code"] or None,
            )
            decision = decide(location, index, venues[row["event_id"]])
            if decision is None:
                row["flags"] = [*row["flags"], "unroutable"]
                continue
            kept = [f for f in row["flags"] if f not in ROUTING_FLAGS]
            row["flags"] = kept + [f for f in decision.flags if f not in kept]
            row["office_id"], row["routed_at"] = decision.office_id, now
            index.adjust_load(decision.office_id, +1)
            new.decision = decision


def _mark_feedback_sample(new_leads: list[_NewLead], events: dict[int, EventSnapshot]) -> None:
    """The first N leads of each event are flagged for sales' quality feedback."""
    full = current_app.extensions.setdefault("leadrelay.feedback_sample_full", set())
    by_event: dict[int, list[_NewLead]] = {}
    for new in new_leads:
        by_event.setdefault(new.row["event_id"], []).append(new)
    for event_id, leads in by_event.items():
        sample_size = events[event_id].feedback_sample_size or 0
        # Once an event's sample is complete it stays complete: later leads cost no count.
        if sample_size <= 0 or (event_id, sample_size) in full:
            continue
        sampled = (
            select(Lead.id)
            .where(Lead.event_id == event_id, Lead.feedback_requested.is_(True))
            .limit(sample_size)
        )
        already = db.session.scalar(select(db.func.count()).select_from(sampled.subquery()))
        if already >= sample_size:
            # Seen full in what is committed (not in this batch, which may yet roll back).
            full.add((event_id, sample_size))
            continue
        for new in leads[: sample_size - already]:
            new.row["feedback_requested"] = True


def _decision_row(new: _NewLead) -> dict:
    decision, location = new.decision, new.decision.location
    return {
        "lead_id": new.lead_id,
        "office_id": decision.office_id,
        "method": decision.method,
        "distance_km": decision.distance_km,
        "latitude": location.latitude if location else None,
        "longitude": location.longitude if location else None,
        "location_label": location.label if location else "",
        "location_source": location.source if location else "",
        "reason": decision.reason,
        "flags": list(decision.flags),
        "decided_by_id": None,
        "at": new.row["routed_at"],
    }


def _reply(new: _NewLead, status: str) -> dict:
    """The new lead as ``lead_json`` shows a stored one, from what was written."""
    decision = new.decision
    office = (
        SimpleNamespace(
            as_ref=lambda: office_ref(
                decision.office_code, decision.office_name, office_names().get(decision.office_code)
            )
        )
        if decision
        else None
    )
    return lead_json(SimpleNamespace(id=new.lead_id, office=office, **new.row), decision, status)


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
    visitor forms (no user). Commits, then asks the workers to send the follow-ups.
    """
    results: list[CaptureResult | None] = [None] * len(payloads)
    items = _parse_items(payloads, event_id, _resolved(user), source_override, results)
    for item, result in zip(items, _store_and_commit(items), strict=True):
        results[item.index] = result
    return results  # type: ignore[return-value]


def _resolved(user):
    if user is not None and hasattr(user, "_get_current_object"):
        return user._get_current_object()  # current_user: resolve the proxy once, not per lead
    return user


def _store_and_commit(items: Sequence[_Item]) -> list[CaptureResult]:
    """Store validated items in one transaction; one result per item, in order. Commits,
    then asks the workers to send the follow-ups.

    Concurrent submissions of the same UUID make one lead: the database's unique
    constraint decides, and the loser is retried as a duplicate.
    """
    if not items:
        return []
    try:
        try:
            results, messages = _store(items)
            db.session.commit()
        except IntegrityError:
            # Another request stored one of these UUIDs first; the retry sees it.
            db.session.rollback()
            results, messages = _store(items)
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    _reply_for_stored(results)
    enqueue_messages(sorted(messages), channels=messages)
    return results


def _reply_for_stored(results: list[CaptureResult]) -> None:
    """Replays and merges answer with the lead as stored (after the commit)."""
    pending = [r for r in results if r.reply is None and r.lead_id is not None]
    if not pending:
        return
    ids = list({r.lead_id for r in pending})
    leads = {lead.id: lead for lead in db.session.scalars(select(Lead).where(Lead.id.in_(ids)))}
    decisions = last_decisions(ids)
    for result in pending:
        lead = leads[result.lead_id]
        result.reply = lead_json(lead, decisions.get(lead.id), result.status)


def _store(items: Sequence[_Item]) -> tuple[list[CaptureResult], dict[int, str]]:
    stored = _known(items)
    known = stored.client_ids
    people: dict[tuple, int | _NewLead] = dict(stored.people)
    now = utcnow()
    new_leads: list[_NewLead] = []
    events: dict[int, EventSnapshot] = {}
    # Where each UUID of this batch went: a lead being created now, or a stored lead's id.
    seen: dict[uuid.UUID, _NewLead | int] = {}
    results: list[CaptureResult] = []
    targets: list[_NewLead | int] = []
    stored_merges: list[tuple[int, _Item]] = []

    for item in items:
        cid = item.lead_in.client_id
        if cid in known or cid in seen:
            target, status = known.get(cid) or seen[cid], DUPLICATE
        else:
            match = next((people[k] for k in _person_keys(item) if k in people), None)
            if isinstance(match, _NewLead):
                match.row.update(merge_changes(match.row, item.normalized.fields))
                match.merged.append(item)
                target, status = match, MERGED
            elif match is not None:
                stored_merges.append((match, item))
                target, status = match, MERGED
            else:
                target, status = _NewLead(_new_lead_row(item, now)), CREATED
                new_leads.append(target)
                events[item.event.id] = item.event
                for key in _person_keys(item):
                    people.setdefault(key, target)
            seen[cid] = target
        results.append(
            CaptureResult(str(cid), status, http_status=201 if status == CREATED else 200)
        )
        targets.append(target)

    _merge_into_stored(stored_merges)
    messages = _store_new_leads(new_leads, events, now, stored.unsubscribed) if new_leads else {}
    db.session.flush()
    for result, target in zip(results, targets, strict=True):
        if isinstance(target, _NewLead):
            result.lead_id = target.lead_id
            result.reply = _reply(target, result.status)
        else:
            result.lead_id = target
    return results, messages


def _store_new_leads(
    new_leads: list[_NewLead], events, now, unsubscribed: set[str]
) -> dict[int, str]:
    """Route, sample, insert the leads, their decisions and pending follow-ups.

    Returns the new messages' channels by id, for the enqueue after the commit."""
    _route(new_leads, events, now)
    _mark_feedback_sample(new_leads, events)
    ids = dict(insert_rows(Lead.__table__, [n.row for n in new_leads], ("client_id", "id")))
    for new in new_leads:
        new.lead_id = ids[new.row["client_id"]]
    insert_rows(
        RoutingDecision.__table__, [_decision_row(n) for n in new_leads if n.decision is not None]
    )
    insert_rows(
        MergedCapture.__table__,
        [_merged_capture_row(item, new.lead_id) for new in new_leads for item in new.merged],
    )
    rows = new_lead_rows(
        [SimpleNamespace(id=n.lead_id, **n.row) for n in new_leads], unsubscribed=unsubscribed
    )
    return dict(insert_rows(Message.__table__, rows, ("id", "channel")))
