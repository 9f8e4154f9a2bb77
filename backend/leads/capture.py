"""Capturing leads: idempotent by client UUID, merging the same person, never losing one.

``capture_batch`` handles one lead or 500 the same way, with a fixed number of SQL
round trips, not one per lead: one lookup of the known UUIDs and people (which on
PostgreSQL also reserves the new leads' ids), then on PostgreSQL one statement inserting
the leads, their routing decisions and pending follow-ups (elsewhere one insert per
table). New leads are routed in memory before they are written and inserted without the
ORM's unit of work; the reply is built from what was written, so nothing is read back.

The capture views are ``transaction.reads_alone``: on PostgreSQL, when that one statement
is the whole write, the request sends no BEGIN or COMMIT. A single lead by its capturer
goes in with one statement that is also its lookup, inserting only if nothing is stored
about it (``_store_if_new``; otherwise the batch path follows, in a transaction): with
the bearer token's user, two round trips in all, one when the process has read that
token before, as the statement then confirms it (``access.pending_bearer``). A batch
that also merges into stored leads or applies reps' channel choices writes more than
once, and calls
``transaction.begin()`` first (as would a visitor form's capture, whose kiosk view is not
``reads_alone``: ``begin()`` outside the mode does nothing).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace

from flask import current_app
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import transaction
from backend.auth.access import bearer_confirmed, pending_bearer
from backend.auth.models import User
from backend.db_bulk import (
    NEW_LEAD_ID,
    insert_new_lead_unless_known,
    insert_rows,
    insert_rows_together,
    known_leads,
    on_postgresql,
    without_nul,
)
from backend.db_types import utcnow
from backend.errors import validation_fields
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import CAPTURE_FORM, CAPTURE_MERGED, Lead, MergedCapture, RoutingDecision
from backend.leads.normalize import Normalized, has_identity, normalize_lead
from backend.leads.queries import last_decisions, lead_json, visible_leads
from backend.leads.schemas import LeadIn
from backend.messaging.models import Message
from backend.messaging.planning import new_lead_rows
from backend.messaging.sending import enqueue_messages
from backend.offices.models import office_names, office_ref
from backend.process_cache import ProcessCache
from backend.routing.services import ROUTING_FLAGS, event_venue, office_index, route_place
from backend.telegram.services import anyone_chose, apply_preferences

CREATED, DUPLICATE, MERGED, REJECTED = "created", "duplicate", "merged", "rejected"
CLIENT_ID_CONFLICT = "client_id_conflict"
MAX_ID = 2**63 - 1  # a BIGINT; a larger number is no id at all
# What a reply may echo of the caller's own capture when the stored lead is not theirs.
OWN_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "job_title",
    "city", "country", "rating", "source", "language",
)  # fmt: skip


@dataclass
class CaptureResult:
    client_id: str | None
    status: str
    lead_id: int | None = None
    #: The lead as the API shows it (``lead_json``'s shape), for every stored result.
    reply: dict | None = None
    errors: list[dict] = field(default_factory=list)
    http_status: int = 422
    #: The stored lead is not one the caller may read: the reply carries only the
    #: ``client_id``, ``result``, ``event_id`` and the caller's own fields back.
    hidden: bool = False
    #: What the caller sent, as normalised (echoed back in a hidden reply).
    own: dict = field(default_factory=dict)
    event_id: int | None = None
    #: The office the submitted data routes to (what the visitor form shows).
    office_id: int | None = None

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

    #: UUIDs received before, as a lead of their own or attached to one: the lead's id
    #: and its event.
    client_ids: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    #: Leads of the same events with the same e-mail or phone: (event, kind, value) → id.
    people: dict[tuple, int] = field(default_factory=dict)
    #: E-mail addresses that unsubscribed: no autoresponder for them.
    unsubscribed: set[str] = field(default_factory=set)
    #: Ids reserved for the leads the UUIDs not yet stored may become (PostgreSQL only).
    new_ids: dict[uuid.UUID, int] = field(default_factory=dict)


def _known(items: Sequence[_Item]) -> _Known:
    """What is already stored about this batch, in one query (a UNION ALL of indexed
    lookups, each row tagged with what it answers)."""
    known = _Known()
    if not items:
        return known
    bearer = pending_bearer()  # the caller's token, confirmed by this query (see access)
    rows = known_leads(
        (item.lead_in.client_id for item in items),
        _contacts(items, "email"),
        _contacts(items, "phone"),
        reserve_ids=True,
        bearer=bearer,
    )
    if bearer is not None:
        bearer_confirmed(any(row[0] == "bearer" for row in rows))
    for kind, lead_id, client_id, event_id, email, phone in sorted(
        rows, key=lambda row: (row[0], row[1] or 0)
    ):
        if kind == "uuid":
            known.client_ids[client_id] = (lead_id, event_id)
        elif kind == "new_id":
            known.new_ids[client_id] = lead_id
        elif kind == "unsubscribed":
            known.unsubscribed.add(email)
        elif kind == "person":
            if email:
                known.people.setdefault((event_id, "email", email), lead_id)
            if phone:
                known.people.setdefault((event_id, "phone", phone), lead_id)
    return known


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
    """What a second capture of the same person by the event's staff adds to the stored
    lead ``current``.

    Nothing stored is overwritten or lowered: empty fields are filled, notes and answers
    are added. The rating and consent stay as stored: the second rating is recorded on
    the merged capture, and consent is only ever given by the person (see the form's
    double opt-in).
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
                   "notes", "answers", "flags")}  # fmt: skip
        for name, value in merge_changes(current, item.normalized.fields).items():
            setattr(lead, name, without_nul(value))
    insert_rows(
        MergedCapture.__table__,
        [_merged_capture_row(item, lead_id) for lead_id, item in merges],
    )


def _merged_capture_row(item: _Item, lead_id: int, kind: str = CAPTURE_MERGED) -> dict:
    return {
        "client_id": item.lead_in.client_id,
        "lead_id": lead_id,
        "captured_by_id": item.captured_by_id,
        "payload": without_nul(item.payload),
        "kind": kind,
        "rating": item.normalized.fields.get("rating"),
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
            decision = route_place(row, index, venues[row["event_id"]])
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
        "reason_code": decision.reason_code,
        "reason_params": decision.reason_params,
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
    return lead_json(
        SimpleNamespace(**{**new.row, "id": new.lead_id}, office=office), decision, status
    )


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
    visitor forms (no user). Flushes; once the caller commits, the workers are asked to
    send the follow-ups.
    """
    results: list[CaptureResult | None] = [None] * len(payloads)
    user = _resolved(user)
    items = _parse_items(payloads, event_id, user, source_override, results)
    for item, result in zip(items, _store_and_commit(items, user), strict=True):
        results[item.index] = result
    return results  # type: ignore[return-value]


def _resolved(user):
    if user is not None and hasattr(user, "_get_current_object"):
        return user._get_current_object()  # current_user: resolve the proxy once, not per lead
    return user


def _store_and_commit(items: Sequence[_Item], user: User | None) -> list[CaptureResult]:
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
        except IntegrityError:
            # Another request stored one of these UUIDs first (PostgreSQL waited for it
            # to commit): the retry sees it.
            transaction.rollback()
            results, messages = _store(items)
    except BaseException:
        transaction.rollback()
        raise
    _reply_for_stored(results, user)
    if messages:
        transaction.after_commit(partial(enqueue_messages, sorted(messages), channels=messages))
    return results


def _reply_for_stored(results: list[CaptureResult], user: User | None) -> None:
    """Replays and merges answer with the lead as stored (after the commit), but only
    when the caller may read that lead: a capture is no way to look a person up."""
    pending = [r for r in results if r.reply is None and r.lead_id is not None]
    if not pending:
        return
    ids = list({r.lead_id for r in pending})
    leads: dict[int, Lead] = {}
    if user is not None:  # one query: the leads among these that the caller may read
        query = visible_leads(user).where(Lead.id.in_(ids))
        leads = {lead.id: lead for lead in db.session.scalars(query)}
    decisions = last_decisions(list(leads))
    for result in pending:
        lead = leads.get(result.lead_id)
        if lead is None:
            result.hidden = True
            result.reply = hidden_reply(result)
        else:
            result.reply = lead_json(lead, decisions.get(lead.id), result.status)


def hidden_reply(result: CaptureResult) -> dict:
    """A duplicate or merge answered to a caller who may not read the stored lead: what
    they sent, never what is stored."""
    return {
        "client_id": result.client_id,
        "result": result.status,
        "event_id": result.event_id,
        **result.own,
    }


def _conflict(cid) -> CaptureResult:
    return CaptureResult(
        str(cid), REJECTED,
        errors=[{"field": "client_id", "code": CLIENT_ID_CONFLICT,
                 "message": "this client_id was already used for another lead"}],
        http_status=409,
    )  # fmt: skip


@dataclass
class _Plan:
    """Where each item of a batch goes, decided before anything is written."""

    now: object
    people: dict
    new_leads: list[_NewLead] = field(default_factory=list)
    events: dict[int, EventSnapshot] = field(default_factory=dict)
    stored_merges: list[tuple[int, _Item]] = field(default_factory=list)

    def place(self, item: _Item) -> tuple[_NewLead | int, str]:
        """A first sight of this UUID: a new lead, or the person's lead (stored or new)."""
        people = self.people
        match = next((people[k] for k in _person_keys(item) if k in people), None)
        if match is not None and item.captured_by_id is None:
            return match, MERGED  # the visitor form: kept beside the lead, changing nothing
        if isinstance(match, _NewLead):
            match.row.update(merge_changes(match.row, item.normalized.fields))
            match.merged.append(item)
            return match, MERGED
        if match is not None:
            self.stored_merges.append((match, item))
            return match, MERGED
        target = _NewLead(_new_lead_row(item, self.now))
        self.new_leads.append(target)
        self.events[item.event.id] = item.event
        for key in _person_keys(item):
            people.setdefault(key, target)
        return target, CREATED


def _store(items: Sequence[_Item]) -> tuple[list[CaptureResult], dict[int, str]]:
    if len(items) == 1 and items[0].captured_by_id is not None and on_postgresql():
        stored_new = _store_if_new(items[0])
        if stored_new is not None:
            return stored_new
        transaction.begin()  # that statement may have written: the rest is one transaction
    stored = _known(items)
    known = stored.client_ids
    now = utcnow()
    plan = _Plan(now, dict(stored.people))
    # Where each UUID of this batch went (a lead being created now, or a stored lead's
    # id) and the event it went to.
    seen: dict[uuid.UUID, tuple[_NewLead | int, int]] = {}
    results: list[CaptureResult] = []
    targets: list[_NewLead | int | None] = []
    form_captures: list[tuple[_NewLead | int, _Item, CaptureResult]] = []

    for item in items:
        cid = item.lead_in.client_id
        from_form = item.captured_by_id is None
        if cid in known or cid in seen:
            target, target_event = known.get(cid) or seen[cid]
            if target_event != item.event.id:
                # Another event's UUID: answered as nothing, whoever stored it.
                results.append(_conflict(cid))
                targets.append(None)
                continue
            status = DUPLICATE
        else:
            target, status = plan.place(item)
            seen[cid] = (target, item.event.id)
        result = CaptureResult(
            str(cid), status, http_status=201 if status == CREATED else 200,
            own={name: item.normalized.fields.get(name) for name in OWN_FIELDS},
            event_id=item.event.id,
        )  # fmt: skip
        if from_form and status == MERGED:
            form_captures.append((target, item, result))
        elif from_form and status == DUPLICATE:
            result.office_id = _office_for(item)  # a resent form: the same answer again
        results.append(result)
        targets.append(target)

    # Reps' channel choices to apply to the new rows (a write of its own when any).
    chosen = bool(plan.new_leads) and anyone_chose()
    if (
        plan.stored_merges
        or form_captures
        or chosen
        or not _ids_reserved(plan.new_leads, stored.new_ids)
    ):
        transaction.begin()  # more than one write: one transaction (see reads_alone)
    _merge_into_stored(plan.stored_merges)
    messages = (
        _store_new_leads(
            plan.new_leads, plan.events, now, stored.unsubscribed, stored.new_ids, chosen
        )
        if plan.new_leads
        else {}
    )
    transaction.begin()  # the one write is done: whatever follows is a transaction again
    messages.update(_store_form_captures(form_captures, now))
    db.session.flush()
    for result, target in zip(results, targets, strict=True):
        if isinstance(target, _NewLead):
            result.lead_id = target.lead_id
            result.office_id = target.row["office_id"]
            result.reply = _reply(target, result.status)
        elif target is not None:
            result.lead_id = target
    return results, messages


def _store_if_new(item: _Item) -> tuple[list[CaptureResult], dict[int, str]] | None:
    """One lead by its capturer, in one statement when nothing is stored about it: routed,
    sampled and made into rows as ``_store_new_leads`` does, then inserted unless the
    lookup in that statement finds its UUID, the same person or an unsubscribed address
    (or refuses the request's bearer user). None when it found something: nothing was
    written, and ``_store`` goes on, in a transaction, with the lookup as for a batch. Not
    when reps' channel choices apply (a write of their own)."""
    if anyone_chose():
        return None
    now = utcnow()
    plan = _Plan(now, {})
    new, status = plan.place(item)
    _route(plan.new_leads, plan.events, now)
    _mark_feedback_sample(plan.new_leads, plan.events)
    new.lead_id = new.row["id"] = NEW_LEAD_ID
    # Unsubscribed addresses are the statement's to find (it then inserts nothing).
    groups = _lead_groups(plan.new_leads, unsubscribed=set())
    fields = item.normalized.fields
    email, phone = fields.get("email_normalized") or None, fields.get("phone_normalized") or None
    token_hash, user_digest = pending_bearer() or (None, None)
    lead_id, messages, known = insert_new_lead_unless_known(
        groups,
        {
            "client_id": item.lead_in.client_id,
            "email_event": item.event.id if email else None, "email": email,
            "phone_event": item.event.id if phone else None, "phone": phone,
            "token_hash": token_hash, "user_digest": user_digest,
        },
    )  # fmt: skip
    if token_hash is not None:
        bearer_confirmed(any(row[0] == "bearer" for row in known))
    if lead_id is None:
        return None
    transaction.begin()  # the one write is done: whatever follows is a transaction again
    new.lead_id = new.row["id"] = lead_id
    result = CaptureResult(
        str(item.lead_in.client_id), status, http_status=201,
        own={name: fields.get(name) for name in OWN_FIELDS}, event_id=item.event.id,
        lead_id=lead_id, office_id=new.row["office_id"],
    )  # fmt: skip
    result.reply = _reply(new, status)
    return [result], messages


def _ids_reserved(new_leads: list[_NewLead], new_ids: dict) -> bool:
    """Whether every new lead has its id already (PostgreSQL): the leads and their rows
    then go in with one statement (``_store_new_leads``)."""
    return all(new.row["client_id"] in new_ids for new in new_leads)


def _lead_groups(new_leads: list[_NewLead], unsubscribed: set[str]) -> list:
    """The new leads' rows by table for ``insert_rows_together``: the leads, their
    decisions, the captures merged into them and, last, their pending follow-ups."""
    return [
        (Lead.__table__, [n.row for n in new_leads]),
        (RoutingDecision.__table__, [_decision_row(n) for n in new_leads if n.decision]),
        (
            MergedCapture.__table__,
            [_merged_capture_row(item, new.lead_id) for new in new_leads for item in new.merged],
        ),
        (
            Message.__table__,
            new_lead_rows(
                [SimpleNamespace(**{**n.row, "id": n.lead_id}) for n in new_leads],
                unsubscribed=unsubscribed,
            ),
        ),
    ]


def _store_form_captures(form_captures, now) -> dict[int, str]:
    """Keep what a visitor wrote on the public form beside the stored lead of that person,
    changing nothing on it; a consent given there waits for the person to confirm it
    from the link mailed to the lead's own address. Returns the new mails' channels."""
    from backend.privacy.consent import consent_request_row

    if not form_captures:
        return {}
    rows, mails = [], []
    for target, item, result in form_captures:
        lead_id = target.lead_id if isinstance(target, _NewLead) else target
        row = _merged_capture_row(item, lead_id, CAPTURE_FORM)
        fields = item.normalized.fields
        if fields.get("consent_contact"):
            token = secrets.token_urlsafe(32)
            row.update(
                consent_text=fields.get("consent_text") or "",
                consent_token_hash=hashlib.sha256(token.encode()).hexdigest(),
                consent_requested_at=now,
            )
            lead = db.session.get(Lead, lead_id)
            mail = consent_request_row(lead, str(item.lead_in.client_id), token)
            if mail is not None:
                mails.append(mail)
        rows.append(row)
        result.office_id = _office_for(item)
    insert_rows(MergedCapture.__table__, rows)
    from backend.messaging.planning import insert_messages

    return {message_id: "email" for message_id in insert_messages(mails)}


def _office_for(item: _Item) -> int | None:
    """The office the submitted data routes to, as for a new lead (nothing is stored)."""
    with office_index() as index:
        decision = route_place(item.normalized.fields, index, event_venue(item.event))
    return decision.office_id if decision else None


def _store_new_leads(
    new_leads: list[_NewLead], events, now, unsubscribed: set[str], new_ids: dict, chosen: bool
) -> dict[int, str]:
    """Route, sample, insert the leads, their decisions and pending follow-ups.

    With an id reserved for every new lead (PostgreSQL), the leads, their decisions,
    merged captures and follow-ups go in with one statement; otherwise the leads first,
    to learn their ids. Returns the new messages' channels by id, for the enqueue after
    the commit."""
    _route(new_leads, events, now)
    _mark_feedback_sample(new_leads, events)
    reserved = _ids_reserved(new_leads, new_ids)
    if reserved:
        # In the batch's order, as ids handed out one by one would be.
        pool = sorted(new_ids.values())
        for new, lead_id in zip(new_leads, pool, strict=False):
            new.lead_id = new.row["id"] = lead_id
    else:
        ids = dict(insert_rows(Lead.__table__, [n.row for n in new_leads], ("client_id", "id")))
        for new in new_leads:
            new.lead_id = ids[new.row["client_id"]]
    groups = _lead_groups(new_leads, unsubscribed)
    messages = dict(insert_rows_together(groups if reserved else groups[1:], ("id", "channel")))
    # Reps' choices of channel (Telegram, no e-mail): one query while nobody has chosen.
    messages.update({i: "telegram" for i in apply_preferences(list(messages), chosen=chosen)})
    return messages
