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

from backend.audit.models import AuditEntry
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.models import Lead, MergedCapture, QualityFeedback, RoutingDecision, Touch
from backend.leads.normalize import normalize_email, normalize_phone
from backend.messaging.models import Message, Unsubscribe

ERASED = "[erased]"
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


def find_person_leads(key: PersonKey) -> list[Lead]:
    """Every lead of the person: matched on the lead itself, or on a capture merged into it."""
    leads = {lead.id: lead for lead in db.session.scalars(select(Lead).where(key.lead_condition()))}
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


def _messages(key: PersonKey, lead_ids: Sequence[int]) -> list[Message]:
    conditions = [Message.lead_id.in_(lead_ids)] if lead_ids else []
    if key.kind == "email":
        conditions.append(func.lower(Message.recipient).contains(key.raw.lower()))
    if not conditions:
        return []
    return db.session.scalars(select(Message).where(or_(*conditions)).order_by(Message.id)).all()


def export_person(*, email: str | None = None, phone: str | None = None) -> dict:
    """Everything stored about the person with this e-mail or phone, as JSON-ready data.

    Leads (with the raw capture), captures merged into them, touches, routing decisions,
    quality feedback, messages (mails and webhooks about them or to them) and whether the
    address unsubscribed. Raises ApiError(422) unless exactly one of email/phone is given.
    """
    key = PersonKey(email=email, phone=phone)
    leads = find_person_leads(key)
    ids = [lead.id for lead in leads]
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
                "received_at": _value(m.received_at),
                "payload": m.payload,
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
        "unsubscribed_at": _value(unsubscribed.at) if unsubscribed else None,
    }


def anonymize_leads(leads: Sequence[Lead], now: datetime | None = None) -> int:
    """Drop the personal data of ``leads`` and everything attached to them; keep the numbers.

    Kept: event, office, status, rating, deal value and currency, timestamps, source,
    city and country (routing and reports), consent flags, time and the consent wording.
    Emptied: names, e-mail, phone, company, job title, notes, badge text, postal code,
    coordinates, answers, the raw capture, merged captures' payloads, touch and feedback
    notes, and the recipients and bodies of messages (those not yet sent are skipped).
    Returns how many leads were anonymised.
    """
    now = now or utcnow()
    ids = [lead.id for lead in leads]
    for lead in leads:
        for name in PERSONAL_TEXT:
            setattr(lead, name, "")
        lead.email_normalized = lead.phone_normalized = None
        lead.latitude = lead.longitude = None
        lead.answers, lead.original = {}, {}
        lead.flags = list(dict.fromkeys([*(lead.flags or []), ANONYMIZED_FLAG]))
        lead.anonymized_at = now
    if not ids:
        return 0
    db.session.execute(
        update(MergedCapture).where(MergedCapture.lead_id.in_(ids)).values(payload={})
    )
    db.session.execute(update(Touch).where(Touch.lead_id.in_(ids)).values(note=""))
    db.session.execute(
        update(QualityFeedback).where(QualityFeedback.lead_id.in_(ids)).values(note="")
    )
    db.session.execute(
        update(RoutingDecision)
        .where(RoutingDecision.lead_id.in_(ids))
        .values(latitude=None, longitude=None)
    )
    _redact_messages(select(Message.id).where(Message.lead_id.in_(ids)))
    # The audit log keeps who changed a lead, not the contact data they typed.
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.target_type == "lead", AuditEntry.target_id.in_([str(i) for i in ids]))
        .where(AuditEntry.action == "lead.contact_fixed")
        .values(detail={"erased": True})
    )
    db.session.flush()
    return len(ids)


def _redact_messages(message_ids) -> None:
    # A mail not yet sent must not go out to nobody: it is skipped, not left pending.
    db.session.execute(
        update(Message)
        .where(Message.id.in_(message_ids), Message.status.in_(("pending", "failed")))
        .values(status="skipped", last_error="erased")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Message)
        .where(Message.id.in_(message_ids))
        .values(recipient=ERASED, subject="", body_text="", body_html="", payload={})
        .execution_options(synchronize_session=False)
    )


def erase_person(*, email: str | None = None, phone: str | None = None) -> dict:
    """Anonymise every lead of the person and the mails sent to them; returns what was done.

    The unsubscribe record of an e-mail is kept (it stops future mail to that address).
    Raises ApiError(422) unless exactly one of email/phone is given.
    """
    key = PersonKey(email=email, phone=phone)
    leads = find_person_leads(key)
    count = anonymize_leads(leads)
    if key.kind == "email":
        _redact_messages(select(Message.id).where(func.lower(Message.recipient) == key.raw.lower()))
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
