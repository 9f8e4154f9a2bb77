"""Events: create, edit, staff them, and turn tokens into events."""

from __future__ import annotations

import zoneinfo

from sqlalchemy import select

from backend.audit.services import record
from backend.auth.models import User
from backend.errors import ApiError
from backend.events.content import (
    briefs,
    consent_texts,
    content_views,
    questions_view,
    store_briefs,
    store_consent,
    store_questions,
)
from backend.events.models import Event, RetiredToken, new_token
from backend.events.schemas import EventFields
from backend.events.templates import AUTORESPONDER_FIELDS, set_templates, templates_by_language
from backend.extensions import db
from backend.links import public_url
from backend.routing.gazetteer import normalize_country


def _apply_templates(event: Event, fields: EventFields, data: dict) -> None:
    """Per-language mail texts: read in the old default language, stored in the new one."""
    templates = templates_by_language(event)
    if data.get("language"):
        event.language = data["language"]
    for lang, texts in (fields.mail_templates or {}).items():
        templates[lang] = texts.model_dump()
    own = templates.setdefault(event.language or "en", {})
    for name in AUTORESPONDER_FIELDS:
        if data.get(name) is not None:
            own[name] = data[name]
    set_templates(event, templates)


def _apply_content(event: Event, fields: EventFields, views: dict, consent: str | None) -> None:
    """Questions, consent text and brief per language, stored under the (new) default
    language; the flat fields, when given, are the default language's."""
    default = event.language or "en"
    texts = dict(views["consent"])
    texts.update(fields.consent_texts or {})
    if consent is not None:
        texts[default] = consent
    store_consent(event, texts)
    found = dict(views["briefs"])
    found.update({k: v.model_dump() for k, v in (fields.briefs or {}).items()})
    if fields.brief is not None:
        found[default] = fields.brief.model_dump()
    store_briefs(event, found)
    if fields.questions is None:
        store_questions(event, views["questions"])
        return
    questions = []
    for question in fields.questions:
        row = question.model_dump()
        row["translations"] = {
            **row.get("translations", {}),
            default: {"label": row["label"], "options": row["options"]},
        }
        questions.append(row)
    store_questions(event, questions)


def _apply(event: Event, fields: EventFields) -> None:
    views = content_views(event)  # in the default language before it may change
    data = fields.model_dump(
        exclude_unset=True,
        exclude={"brief", "questions", "mail_templates", "consent_texts", "briefs"},
    )
    _apply_templates(event, fields, data)
    for name in ("language", *AUTORESPONDER_FIELDS):
        data.pop(name, None)
    consent = data.pop("consent_text", None)
    if "venue_country" in data and data["venue_country"]:
        code = normalize_country(data["venue_country"])
        if code is None:
            raise ApiError(
                422, "invalid", "unknown country",
                [{"field": "venue_country", "message": "unknown country"}],
            )  # fmt: skip
        data["venue_country"] = code
    if data.get("timezone"):
        try:
            zoneinfo.ZoneInfo(data["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ApiError(
                422, "invalid", "unknown time zone",
                [{"field": "timezone", "message": "unknown time zone"}],
            ) from None  # fmt: skip
    if data.get("currency"):
        data["currency"] = data["currency"].upper()
    for name, value in data.items():
        if value is not None or name in (
            "venue_latitude",
            "venue_longitude",
            "starts_on",
            "ends_on",
        ):
            setattr(event, name, value)
    _apply_content(event, fields, views, consent)
    if event.starts_on and event.ends_on and event.ends_on < event.starts_on:
        raise ApiError(
            422, "invalid", "the event ends before it starts",
            [{"field": "ends_on", "message": "must not be before starts_on"}],
        )  # fmt: skip


def create_event(fields: EventFields) -> Event:
    """Create an event; raises ApiError(422) for an unknown country or time zone."""
    event = Event(name=fields.name)
    _apply(event, fields)
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, fields: EventFields) -> Event:
    _apply(event, fields)
    db.session.flush()
    return event


def add_staff(event: Event, user_id: int) -> User:
    """Make a user booth staff of the event; raises ApiError(422) for a non-staff user."""
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", f"no user {user_id}")
    if user.role != "staff":
        raise ApiError(422, "not_staff", "only staff users can be assigned to a booth")
    if event not in user.events:
        user.events.append(event)
    db.session.flush()
    return user


def remove_staff(event: Event, user_id: int) -> User:
    """Take a staff member off the event's booth (they no longer see or capture for it);
    raises ApiError(404) for an unknown user or one not on this event."""
    user = db.session.get(User, user_id)
    if user is None or event not in user.events:
        raise ApiError(404, "not_found", f"user {user_id} is not staff of this event")
    user.events.remove(event)
    record("event.staff_removed", target=event, detail={"user_id": user.id})
    db.session.flush()
    return user


TOKEN_KINDS = {"join": "join_token", "visitor": "visitor_token"}


def rotate_token(event: Event, kind: str) -> Event:
    """Give the event a new join or visitor token. The old one is kept as retired, so an
    old QR code shows "this code was replaced". Raises ApiError(404) for another kind."""
    column = TOKEN_KINDS.get(kind)
    if column is None:
        raise ApiError(404, "not_found", "kind must be join or visitor")
    db.session.add(RetiredToken(event_id=event.id, kind=kind, token=getattr(event, column)))
    setattr(event, column, new_token())
    record("event.token_rotated", target=event, detail={"kind": kind})
    db.session.flush()
    return event


def retired_token(kind: str, token: str) -> RetiredToken | None:
    """The retired ``kind`` token ``token``, if an event used it before a rotation."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(RetiredToken).where(RetiredToken.token == token, RetiredToken.kind == kind)
    )


def event_by_token(column, token: str) -> Event:
    """The event of a join or visitor token. Raises ApiError(410, "code_replaced") for a
    token replaced by a rotation, (404) for one never used."""
    event = db.session.scalar(select(Event).where(column == token))
    if event is None:
        kind = "join" if column is Event.join_token else "visitor"
        if retired_token(kind, token) is not None:
            raise ApiError(
                410, "code_replaced",
                "This code was replaced by a new one: scan the code shown at the booth now.",
            )  # fmt: skip
        raise ApiError(404, "not_found", "This code is not valid (any more).")
    return event


def join_event(user: User, token: str) -> Event:
    """Staff scanning the join QR become staff of its event; raises ApiError(404/403)."""
    event = event_by_token(Event.join_token, token)
    if user.role == "staff":
        if event not in user.events:
            user.events.append(event)
    elif user.role not in ("admin", "marketing"):
        raise ApiError(403, "forbidden", "Only booth staff join events.")
    db.session.flush()
    return event


def join_url(event: Event) -> str:
    return public_url(f"/app/?join={event.join_token}")


def visitor_url(event: Event) -> str:
    return public_url(f"/v/{event.visitor_token}")


def event_json(event: Event, *, with_tokens: bool = False) -> dict:
    data = {
        "id": event.id,
        "name": event.name,
        "venue_city": event.venue_city,
        "venue_country": event.venue_country,
        "venue_latitude": event.venue_latitude,
        "venue_longitude": event.venue_longitude,
        "timezone": event.timezone,
        "starts_on": event.starts_on,
        "ends_on": event.ends_on,
        "cost": event.cost,
        "currency": event.currency,
        "brief": {"offer": "", "promo_conditions": "", "talking_points": "", **(event.brief or {})},
        "briefs": briefs(event),
        "autoresponder_subject": event.autoresponder_subject,
        "autoresponder_body": event.autoresponder_body,
        "mail_templates": templates_by_language(event),
        "questions": questions_view(event),
        "consent_text": event.consent_text,
        "consent_texts": consent_texts(event),
        "feedback_sample_size": event.feedback_sample_size,
        "language": event.language,
    }
    if with_tokens:
        data["join_url"] = join_url(event)
        data["visitor_url"] = visitor_url(event)
    return data
