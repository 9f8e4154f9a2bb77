"""The booth's corrections of its own captures (``PATCH /api/v1/leads/{id}/contact`` by the
staff member who captured the lead).

Until the office first touches the lead the correction is applied to the lead itself (the
first capture stays in ``lead.original``); after that the office may already be working from
what it saw, so the correction reaches it as a note on the lead instead. Both are audited.
"""

from __future__ import annotations

from flask_babel import gettext as _

from backend.audit.services import record
from backend.auth.models import User
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.leads.models import RATINGS, Lead, Touch
from backend.leads.normalize import normalize_email, normalize_phone

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "company", "job_title")
CAPTURE_FIELDS = (*CONTACT_FIELDS, "rating", "notes", "answers")


def _normalized(lead: Lead, name: str, value, flags: list[str]):
    if name == "email":
        value, lead.email_normalized, ok = normalize_email(value)
        flags[:] = [f for f in flags if f != "bad_email"] + ([] if ok else ["bad_email"])
    elif name == "phone":
        region = lead.country if len(lead.country or "") == 2 else None
        value, lead.phone_normalized, ok = normalize_phone(value, region)
        flags[:] = [f for f in flags if f != "bad_phone"] + ([] if ok else ["bad_phone"])
    elif name == "rating":
        if value not in RATINGS:
            raise ApiError(
                422, "invalid", "Rating must be hot, warm or cold.",
                [{"field": "rating", "message": "must be hot, warm or cold"}],
            )  # fmt: skip
        flags[:] = [f for f in flags if f != "bad_rating"]
    elif name == "answers":
        value = {**(lead.answers or {}), **value}
    return value


def _changes(lead: Lead, changes: dict) -> dict[str, list]:
    """``{field: [old, new]}`` for what would change (without touching the lead)."""
    out = {}
    for name in CAPTURE_FIELDS:
        if changes.get(name) is None:
            continue
        old = getattr(lead, name)
        new = changes[name]
        if name == "answers":
            new = {**(old or {}), **new}
        if (old or "") != (new or ""):
            out[name] = [old if old is not None else "", new]
    return out


def correct_capture(lead: Lead, user: User, changes: dict) -> dict:
    """Apply the capturer's correction, or pass it to the office as a note once the office
    has touched the lead. Returns ``{"applied": bool, "changed": {field: [old, new]}}``.

    Raises ApiError 404 when ``user`` did not capture the lead, 422 when nothing changes.
    """
    if lead.captured_by_id != user.id:
        raise ApiError(404, "not_found", "No such lead.")
    changed = _changes(lead, changes)
    if not changed:
        raise ApiError(422, "nothing_changed", "Nothing to change: the fields are as stored.")
    if lead.first_touch_at is not None:
        lines = [
            f"{name}: {old or '—'} → {new or '—'}"
            for name, (old, new) in changed.items()
            if name != "answers"
        ]
        if "answers" in changed:
            lines.append(f"answers: {changed['answers'][1]}")
        note = _("Correction from the booth:") + "\n" + "\n".join(lines)
        db.session.add(Touch(lead=lead, user_id=user.id, kind="note", note=note, at=utcnow()))
        record("lead.capture_correction_noted", user=user, target=lead, detail=changed)
        db.session.flush()
        return {"applied": False, "changed": changed}
    if not lead.original:
        lead.original = {name: getattr(lead, name) for name in CONTACT_FIELDS}
    flags = list(lead.flags or [])
    for name in changed:
        setattr(lead, name, _normalized(lead, name, changes[name], flags))
    lead.flags = flags
    record("lead.capture_corrected", user=user, target=lead, detail=changed)
    db.session.flush()
    return {"applied": True, "changed": changed}
