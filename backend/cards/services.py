"""Reading business cards: at once for the phone, and as a job that fills a lead in.

Plain functions: they flush and leave the commit to the caller (the view or the job).
"""

from __future__ import annotations

import logging
from functools import partial

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from backend.attachments.models import Attachment
from backend.attachments.storage import get_storage
from backend.cards.ocr import open_image, read_text
from backend.cards.parser import FIELDS, parse_card
from backend.errors import ApiError
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead
from backend.leads.normalize import normalize_email, normalize_phone
from backend.queues import OCR, get_queue
from backend.routing.gazetteer import get_gazetteer
from backend.transaction import after_commit

log = logging.getLogger(__name__)
CARD_CHECK = "card_check"
# What a card can fill in on a lead (a card's website has no column: it stays on the card).
LEAD_FIELDS = tuple(name for name in FIELDS if name in Lead.__table__.c)
PLACE_FIELDS = ("city", "country")
JOB_TIMEOUT = 120


def event_region(event: Event | None) -> str | None:
    """The event's country as an ISO code: the default region for phones on its cards."""
    if event is None:
        return None
    return get_gazetteer().country_code(event.venue_country)


def read_card(data: bytes, *, region: str | None = None) -> dict:
    """OCR a card photo and parse it: ``{"fields", "confidence", "text"}``.

    Raises ApiError(415) when the bytes are not an image Pillow can decode.
    """
    try:
        image = open_image(data)
        image.load()
    except (OSError, SyntaxError, ValueError):
        raise ApiError(
            415, "unsupported_type", _("This file is not a JPEG, PNG or WebP image.")
        ) from None
    result = read_text(image, current_app.config["TESSDATA_DIR"])
    parsed = parse_card(
        [line.text for line in result.lines],
        default_region=region,
        line_confidence=[line.confidence for line in result.lines],
    )
    return {**parsed.as_dict(), "text": result.text}


def enqueue_card_reading(attachment_id: int) -> None:
    """Ask an OCR worker to read this card photo once the transaction that stored it has
    committed (``transaction.after_commit``); a rollback forgets it."""
    after_commit(partial(enqueue_card_reading_now, attachment_id))


def enqueue_card_reading_now(attachment_id: int) -> None:
    """Ask an OCR worker to read this (committed) card photo now; once: the job id is the
    attachment's.

    With Redis down the attachment stays ``pending``; the cron's ``unread-cards`` job
    enqueues it again later, nothing is lost.
    """
    from redis.exceptions import RedisError

    try:
        get_queue(current_app._get_current_object(), OCR).enqueue(
            "workers.ocr_jobs.read_card_attachment",
            attachment_id,
            job_id=f"ocr-{attachment_id}",
            job_timeout=JOB_TIMEOUT,
        )
    except RedisError:
        log.warning("could not enqueue OCR of attachment %s", attachment_id, exc_info=True)


def apply_card(attachment_id: int) -> dict | None:
    """Read a stored card photo into its lead; safe to run twice (a read card is skipped).

    Only empty lead fields are filled; each filled field is remembered with its confidence
    on the attachment (``card["filled"]``), the raw text kept, the lead flagged
    ``card_check``, and routed again when its city or country came from the card (if no
    one has touched it yet). Returns what was filled, or None when there was nothing to do.
    """
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not attachment.is_card or attachment.ocr_status == "done":
        return None
    try:
        data = get_storage().read(attachment.storage_key)
        reading = read_card(data, region=event_region(attachment.lead.event))
    except (FileNotFoundError, ApiError):
        attachment.ocr_status = "failed"
        db.session.flush()
        return None
    # Lock the lead while filling it, and read it fresh: the office may be editing it.
    lead = db.session.scalar(
        select(Lead)
        .where(Lead.id == attachment.lead_id)
        .with_for_update(of=Lead)
        .execution_options(populate_existing=True)
    )
    filled = _fill_lead(lead, reading)
    attachment.ocr_text = reading["text"]
    attachment.card = {
        "fields": reading["fields"],
        "confidence": reading["confidence"],
        "filled": filled,
        "confirmed": [],
    }
    attachment.ocr_status = "done"
    if filled:
        lead.flags = [*(f for f in (lead.flags or []) if f != CARD_CHECK), CARD_CHECK]
    if any(name in filled for name in PLACE_FIELDS):
        _route_again(lead)
    db.session.flush()
    return filled


def _fill_lead(lead: Lead, reading: dict) -> dict[str, float]:
    filled: dict[str, float] = {}
    region = event_region(lead.event)
    for name in LEAD_FIELDS:
        value = reading["fields"].get(name) or ""
        if not value or getattr(lead, name):
            continue
        if name == "email":
            value, lead.email_normalized, _ok = normalize_email(value)
        elif name == "phone":
            value, lead.phone_normalized, _ok = normalize_phone(value, region)
        column = Lead.__table__.c[name]
        setattr(lead, name, value[: column.type.length or None])
        filled[name] = reading["confidence"].get(name, 0.0)
    return filled


PLACE_FIELDS = ("latitude", "longitude", "city", "country", "postal_code")


def _route_again(lead: Lead) -> None:
    from backend.routing.services import apply_decision, event_venue, office_index, route_place

    if lead.status != "new" or lead.first_touch_at is not None or lead.anonymized_at:
        return
    place = {name: getattr(lead, name) for name in PLACE_FIELDS}
    with office_index() as index:
        decision = route_place(place, index, event_venue(lead.event))
        if decision is not None:  # capture's own decision; nowhere better keeps the office
            apply_decision(lead, decision, index)


def confirm_card_fields(lead: Lead, attachment: Attachment, changes: dict[str, str]) -> list[str]:
    """The office checked the fields read from the card: store corrections, mark all confirmed.

    ``changes`` maps field names to the checked values (only fields that came from this
    card). Clears ``card_check`` when no card of the lead has unchecked fields left.
    Returns the fields changed. Raises ApiError(422) for a field not from the card.
    """
    card = dict(attachment.card or {})
    filled = card.get("filled", {})
    unknown = sorted(set(changes) - set(filled))
    if unknown:
        raise ApiError(
            422, "invalid", _("Not a field read from the card: %(f)s", f=", ".join(unknown))
        )
    changed = []
    for name, value in changes.items():
        value = (value or "").strip()
        if value == getattr(lead, name):
            continue
        if name == "email":
            value, lead.email_normalized, _ok = normalize_email(value)
        elif name == "phone":
            value, lead.phone_normalized, _ok = normalize_phone(value, event_region(lead.event))
        setattr(lead, name, value)
        changed.append(name)
    card["confirmed"] = sorted(filled)
    attachment.card = card
    others = db.session.scalars(
        select(Attachment).where(Attachment.lead_id == lead.id, Attachment.id != attachment.id)
    ).all()
    if all(
        set((a.card or {}).get("filled", {})) <= set((a.card or {}).get("confirmed", []))
        for a in others
    ):
        lead.flags = [f for f in (lead.flags or []) if f != CARD_CHECK]
    if any(name in changed for name in PLACE_FIELDS):
        _route_again(lead)
    db.session.flush()
    return changed
