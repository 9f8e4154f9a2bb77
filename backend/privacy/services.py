"""A person's data: export everything stored about them, erase it, and age it out.

Erasure anonymises rather than deletes: a lead keeps its event, office, status, rating,
deal value, timestamps and consent flags, so reports (leads, contacts, deals, revenue)
stay right; everything that identifies or describes the person is dropped. The lead's
``client_id`` stays too, so a phone replaying an old upload is still a duplicate and
cannot bring the person back.

Plain functions: they flush and leave the commit to the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, cast, func, or_, select, update

from backend.attachments.services import erase_lead_attachments, export_attachments
from backend.attendees.services import person_attendees
from backend.audit.models import AuditEntry
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead, MergedCapture, QualityFeedback, RoutingDecision, Touch
from backend.leads.normalize import normalize_email, normalize_phone
from backend.messaging.models import Message, Unsubscribe
from backend.privacy.erasure import ERASED, Person, eraser, run_erasers
from backend.routing.reasons import REASONS, english

ANONYMIZED_FLAG = "anonymized"
# Lead text fields that describe the person; emptied on erasure.
PERSONAL_TEXT = (
    "first_name", "last_name", "email", "phone", "company", "job_title",
    "notes", "badge_raw", "badge_id", "postal_code",
)  # fmt: skip
BATCH = 500


class PersonKey:
    """What identifies the person asked about: an e-mail or a phone, as typed and normalised."""

    def __init__(self, *, email: str | None = None, phone: str | None = None):
        email, phone = (email or "").strip(), (phone or "").strip()
        if bool(email) == bool(phone):
            raise ApiError(422, "invalid", "Give exactly one of email or phone.")
        self.kind = "email" if email else "phone"
        self.raw = email or phone
        if email:
            _, self.normalized, _ = normalize_email(email)
        else:
            _, self.normalized, _ = normalize_phone(phone, None)

    @property
    def fingerprint(self) -> str:
        """A hash for the audit log: proves which request it was without keeping the person."""
        value = (self.normalized or self.raw).lower()
        return hashlib.sha256(value.encode()).hexdigest()[:16]

    def lead_condition(self):
        if self.kind == "email":
            conditions = [func.lower(Lead.email) == self.raw.lower()]
            if self.normalized:
                conditions.append(Lead.email_normalized == self.normalized)
        else:
            conditions = [Lead.phone == self.raw]
            if self.normalized:
                conditions.append(Lead.phone_normalized == self.normalized)
        return or_(*conditions)

    def matches_payload(self, payload: dict) -> bool:
        """Whether a raw capture (a merged capture's payload) names this person."""
        if not isinstance(payload, dict):
            return False
        value = payload.get(self.kind)
        if not isinstance(value, str) or not value.strip():
            return False
        if self.kind == "email":
            _, key, _ = normalize_email(value)
            return value.strip().lower() == self.raw.lower() or (
                key is not None and key == self.normalized
            )
        region = payload.get("country") if isinstance(payload.get("country"), str) else None
        _, key, _ = normalize_phone(value, region if region and len(region) == 2 else None)
        return value.strip() == self.raw or (key is not None and key == self.normalized)

    def matches_value(self, value) -> bool:
        """Whether one typed e-mail or phone (a corrected one, say) is this person's."""
        return self.matches_payload({self.kind: value})


def _corrected_leads(key: PersonKey) -> set[int]:
    """Leads whose contact data a rep corrected away from (or to) this e-mail or phone:
    the audit log keeps each change as ``{field: [old, new]}``."""
    entries = db.session.execute(
        select(AuditEntry.target_id, AuditEntry.detail).where(
            AuditEntry.action == "lead.contact_fixed", AuditEntry.target_type == "lead"
        )
    )
    found = set()
    for target_id, detail in entries:
        values = (detail or {}).get(key.kind) if isinstance(detail, dict) else None
        listed = isinstance(values, list) and any(key.matches_value(v) for v in values)
        if listed and str(target_id).isdigit():
            found.add(int(target_id))
    return found


def find_person_leads(key: PersonKey) -> list[Lead]:
    """Every lead of the person, by every e-mail or phone they ever had: matched on the
    lead itself, on a capture merged into it, or on a contact correction of it."""
    leads = {lead.id: lead for lead in db.session.scalars(select(Lead).where(key.lead_condition()))}
    corrected = _corrected_leads(key) - set(leads)
    if corrected:
        leads.update(
            {
                lead.id: lead
                for lead in db.session.scalars(select(Lead).where(Lead.id.in_(corrected)))
            }
        )
    # A capture folded into another person's lead (matched there by phone, say) still
    # carries this e-mail: find it in the raw payloads. The LIKE only narrows the scan.
    needle = key.raw.lower() if key.kind == "email" else '"phone"'
    payload_text = func.lower(cast(MergedCapture.payload, String))
    candidates = db.session.scalars(
        select(MergedCapture).where(payload_text.contains(needle, autoescape=True))
    )
    extra = {m.lead_id for m in candidates if key.matches_payload(m.payload)} - set(leads)
    if extra:
        leads.update(
            {lead.id: lead for lead in db.session.scalars(select(Lead).where(Lead.id.in_(extra)))}
        )
    return [leads[i] for i in sorted(leads)]


def _value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj, names: Iterable[str]) -> dict:
    return {name: _value(getattr(obj, name)) for name in names}


LEAD_EXPORT = (
    "id", "client_id", "event_id", "source", "captured_at", "received_at",
    "first_name", "last_name", "email", "phone", "company", "job_title",
    "city", "country", "postal_code", "latitude", "longitude", "rating", "notes",
    "answers", "badge_raw", "badge_id", "language", "consent_contact", "consent_marketing",
    "consent_text", "consent_at", "flags", "original", "status", "deal_value",
    "deal_currency", "lost_reason", "won_at", "routed_at", "first_touch_at", "anonymized_at",
)  # fmt: skip
MESSAGE_EXPORT = (
    "id", "kind", "channel", "lead_id", "recipient", "subject", "body_text",
    "status", "attempts", "created_at", "sent_at",
)  # fmt: skip


def _lead_ids_children(lead_ids: Sequence[int], model) -> list:
    if not lead_ids:
        return []
    return db.session.scalars(
        select(model).where(model.lead_id.in_(lead_ids)).order_by(model.id)
    ).all()


def _to_address(message: Message, email: str) -> bool:
    return email in {r.strip().lower() for r in (message.recipient or "").split(",")}


def _messages(key: PersonKey, lead_ids: Sequence[int]) -> list[Message]:
    """Messages about the person's leads, and mails sent to exactly their address (a
    ``%`` or ``_`` in the address is a character, not a wildcard)."""
    conditions = [Message.lead_id.in_(lead_ids)] if lead_ids else []
    if key.kind == "email":
        conditions.append(func.lower(Message.recipient).contains(key.raw.lower(), autoescape=True))
    if not conditions:
        return []
    rows = db.session.scalars(select(Message).where(or_(*conditions)).order_by(Message.id))
    return [
        m for m in rows
        if m.lead_id in lead_ids or (key.kind == "email" and _to_address(m, key.raw.lower()))
    ]  # fmt: skip


def export_person(*, email: str | None = None, phone: str | None = None) -> dict:
    """Everything stored about the person with this e-mail or phone, as JSON-ready data.

    Leads (with the raw capture), captures merged into them, touches, routing decisions,
    quality feedback, messages (mails and webhooks about them or to them), the rows of
    organisers' attendee lists that are them (what an erasure would delete) and whether
    the address unsubscribed. Raises ApiError(422) unless exactly one of email/phone is given.
    """
    key = PersonKey(email=email, phone=phone)
    leads = find_person_leads(key)
    ids = [lead.id for lead in leads]
    person = person_of(leads, utcnow())
    person.add_contact({key.kind: key.raw})
    unsubscribed = None
    if key.kind == "email":
        unsubscribed = db.session.scalar(
            select(Unsubscribe).where(
                func.lower(Unsubscribe.email).in_({key.raw.lower(), (key.normalized or "").lower()})
            )
        )
    return {
        "query": {key.kind: key.raw},
        "leads": [
            {
                **_row(lead, LEAD_EXPORT),
                "client_id": str(lead.client_id),
                "event": {"id": lead.event_id, "name": lead.event.name},
                "office": lead.office.as_ref() if lead.office else None,
            }
            for lead in leads
        ],  # fmt: skip
        "merged_captures": [
            {
                "lead_id": m.lead_id,
                "client_id": str(m.client_id),
                "kind": m.kind,
                "received_at": _value(m.received_at),
                "payload": m.payload,
                "rating": m.rating,
                "consent_text": m.consent_text,
                "consent_confirmed_at": _value(m.consent_confirmed_at),
            }
            for m in _lead_ids_children(ids, MergedCapture)
        ],  # fmt: skip
        "touches": [
            _row(t, ("id", "lead_id", "kind", "outcome", "note", "at"))
            for t in _lead_ids_children(ids, Touch)
        ],
        "routing_decisions": [
            _row(d, ("id", "lead_id", "method", "location_label", "reason", "at"))
            for d in _lead_ids_children(ids, RoutingDecision)
        ],
        "feedback": [
            _row(f, ("lead_id", "verdict", "reason", "note", "at"))
            for f in _lead_ids_children(ids, QualityFeedback)
        ],
        "messages": [_row(m, MESSAGE_EXPORT) for m in _messages(key, ids)],
        "attachments": export_attachments(ids),
        "attendees": [
            {
                "event": {"id": a.event_id, "name": db.session.get(Event, a.event_id).name},
                **a.as_json(),
                "uploaded_at": _value(a.uploaded_at),
            }
            for a in person_attendees(person)
        ],
        "unsubscribed_at": _value(unsubscribed.at) if unsubscribed else None,
    }


def person_of(leads: Sequence[Lead], now: datetime) -> Person:
    """Every e-mail, phone and name the leads ever carried: on the lead, in the capture as
    it arrived, in captures merged into it or sent through the visitor form, and on both
    sides of each contact correction. Read before anything is emptied."""
    person = Person([lead.id for lead in leads], now)
    for lead in leads:
        person.add_contact({name: getattr(lead, name) for name in ("email", "phone",
                            "first_name", "last_name")})  # fmt: skip
        person.add_email(lead.email_normalized)
        person.add_phone(lead.phone_normalized)
        person.add_contact(lead.original or {})
    if not person.lead_ids:
        return person
    for payload in db.session.scalars(
        select(MergedCapture.payload).where(MergedCapture.lead_id.in_(person.lead_ids))
    ):
        person.add_contact(payload or {})
    for detail in db.session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.action == "lead.contact_fixed",
            AuditEntry.target_type == "lead",
            AuditEntry.target_id.in_([str(i) for i in person.lead_ids]),
        )
    ):
        for name, values in (detail or {}).items():
            for value in values if isinstance(values, list) else []:
                person.add_contact({name: value})
    return person


def anonymize_leads(leads: Sequence[Lead], now: datetime | None = None) -> int:
    """Drop the personal data of ``leads`` and everything attached to them; keep the numbers.

    Kept: event, office, status, rating, deal value and currency, timestamps, source,
    city and country (routing and reports), consent flags, time and the consent wording.
    Emptied or anonymised by the registered erasers (``backend.privacy.erasure``): the
    lead's names, contacts, notes, badge, postal code, coordinates, answers, raw capture
    and lost reason; merged and form captures; touch notes and outcomes; feedback notes;
    routing reasons; audit details; every message about the lead (mails, summaries that
    name the person, webhook logs); attachments (card photos, voice notes: rows and
    files). Returns how many leads were anonymised.
    """
    now = now or utcnow()
    if not leads:
        return 0
    person = person_of(leads, now)
    run_erasers(person)
    db.session.flush()
    return len(person.lead_ids)


@eraser
def erase_lead_fields(person: Person) -> None:
    for lead in db.session.scalars(select(Lead).where(Lead.id.in_(person.lead_ids))):
        for name in PERSONAL_TEXT:
            setattr(lead, name, "")
        lead.email_normalized = lead.phone_normalized = None
        lead.latitude = lead.longitude = None
        lead.answers, lead.original = {}, {}
        if lead.lost_reason:
            lead.lost_reason = ERASED
        lead.flags = list(dict.fromkeys([*(lead.flags or []), ANONYMIZED_FLAG]))
        lead.anonymized_at = person.now


@eraser
def erase_captures(person: Person) -> None:
    # The row stays: its client_id makes a replayed upload a duplicate, not a new lead.
    db.session.execute(
        update(MergedCapture)
        .where(MergedCapture.lead_id.in_(person.lead_ids))
        .values(payload={})
        .execution_options(synchronize_session=False)
    )


@eraser
def erase_touches_and_feedback(person: Person) -> None:
    ids = person.lead_ids
    db.session.execute(
        update(Touch).where(Touch.lead_id.in_(ids)).values(note="", outcome="")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.execute(
        update(QualityFeedback).where(QualityFeedback.lead_id.in_(ids)).values(note="")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    for feedback in db.session.scalars(
        select(QualityFeedback).where(QualityFeedback.lead_id.in_(ids))
    ):
        feedback.reason = person.scrub(feedback.reason)


@eraser
def erase_routing_reasons(person: Person) -> None:
    """A hand-over's reason is what a rep typed: dropped. Other reasons are the engine's
    words about places; whatever names the person in them is scrubbed too."""
    for decision in db.session.scalars(
        select(RoutingDecision).where(RoutingDecision.lead_id.in_(person.lead_ids))
    ):
        decision.latitude = decision.longitude = None
        if decision.reason_code in REASONS:
            params = {
                name: person.scrub(value) if isinstance(value, str) else value
                for name, value in (decision.reason_params or {}).items()
            }
            if decision.reason_code == "handover":
                params["text"] = ERASED
            decision.reason_params = params
            decision.reason = english(decision.reason_code, params)
            continue
        reason = decision.reason or ""
        if decision.method == "handover" and ": " in reason:
            reason = reason.split(": ", 1)[0] + ": " + ERASED
        decision.reason = person.scrub(reason)


@eraser
def erase_audit_details(person: Person) -> None:
    """The audit log keeps who did what to a lead, not the contact data or reasons typed."""
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.target_type == "lead",
            AuditEntry.target_id.in_([str(i) for i in person.lead_ids]),
        )
    )
    for entry in entries:
        if entry.action == "lead.contact_fixed":
            entry.detail = {"erased": True}
            continue
        detail = dict(entry.detail or {})
        if "reason" in detail:
            detail["reason"] = ERASED
        entry.detail = person.scrub(detail)


MESSAGE_TEXT = ("recipient", "subject", "body_text", "body_html", "last_error")


@eraser
def erase_messages(person: Person) -> None:
    """Mails and webhook logs about the lead keep only their key (a retry must still see
    them sent) and kind; mails about several leads (summaries, digests, alerts) and mails
    to the person's address lose every mention of them."""
    _redact_messages(select(Message.id).where(Message.lead_id.in_(person.lead_ids)))
    if person.pattern is None:
        return
    addresses = person.emails
    unlinked = db.session.scalars(
        select(Message).where(Message.lead_id.is_(None)).execution_options(yield_per=500)
    )
    for message in unlinked:
        if any(_to_address(message, email) for email in addresses):
            message.recipient = ERASED
            message.subject = message.body_text = message.body_html = ""
            message.payload = {}
        for name in MESSAGE_TEXT:
            value = getattr(message, name) or ""
            scrubbed = person.scrub(value)
            if scrubbed != value:
                setattr(message, name, scrubbed)
        payload = person.scrub(message.payload or {})
        if payload != (message.payload or {}):
            message.payload = payload


def _redact_messages(message_ids) -> None:
    # A mail not yet sent must not go out to nobody: it is skipped, not left pending.
    db.session.execute(
        update(Message)
        .where(Message.id.in_(message_ids), Message.status.in_(("pending", "failed")))
        .values(status="skipped")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Message)
        .where(Message.id.in_(message_ids))
        .values(
            recipient=ERASED,
            subject="",
            body_text="",
            body_html="",
            payload={},
            last_error="erased",
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )


def erase_person(*, email: str | None = None, phone: str | None = None) -> dict:
    """Anonymise every lead of the person and the mails sent to them; returns what was done.

    The unsubscribe record of an e-mail is kept (it stops future mail to that address).
    Raises ApiError(422) unless exactly one of email/phone is given.
    """
    key = PersonKey(email=email, phone=phone)
    leads = find_person_leads(key)
    now = utcnow()
    if leads:
        count = anonymize_leads(leads, now)
    else:
        count = 0
        person = Person([], now)
        person.add_contact({key.kind: key.raw})
        if key.normalized:
            person.add_contact({key.kind: key.normalized})
        erase_messages(person)  # mails to the address, even with no lead left
    db.session.flush()
    return {"key": key.kind, "fingerprint": key.fingerprint, "leads": count,
            "lead_ids": [lead.id for lead in leads]}  # fmt: skip


def months_before(now: datetime, months: int) -> datetime:
    """The same wall-clock time ``months`` calendar months earlier (day clamped to the month)."""
    import calendar

    month_index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(month_index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def anonymize_leads_older_than(months: int, now: datetime | None = None) -> int:
    """Anonymise every lead captured more than ``months`` months before ``now``.

    The retention rule (``RETENTION_MONTHS``), run by the sweep; ``months <= 0`` keeps
    everything. Idempotent: leads already anonymised are skipped. Works in batches and
    flushes; the caller commits. Returns how many leads were anonymised.
    """
    if not months or months <= 0:
        return 0
    now = now or utcnow()
    cutoff = months_before(now, months)
    total = 0
    last_id = 0
    while True:
        batch = db.session.scalars(
            select(Lead)
            .where(Lead.captured_at < cutoff, Lead.anonymized_at.is_(None), Lead.id > last_id)
            .order_by(Lead.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return total
        total += anonymize_leads(batch, now)
        last_id = batch[-1].id


@eraser
def erase_attachments(person: Person) -> None:
    # Card photos and voice notes: rows now, files once the caller commits.
    erase_lead_attachments(person.lead_ids)
