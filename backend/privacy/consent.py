"""Double opt-in: a consent given on the public visitor form for a person already stored
takes effect only when the person confirms it from a link mailed to the lead's address.

The form cannot change a stored lead (anyone can type anyone's e-mail there), so the
consent waits on the form capture; the link carries a random token of which only the
hash is stored. Confirming records the wording the visitor agreed to and the time.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale, gettext
from sqlalchemy import select

from backend.audit.services import record
from backend.auth.access import PUBLIC, roles_required
from backend.db_types import utcnow
from backend.extensions import db
from backend.i18n import LANGUAGES
from backend.leads.models import CAPTURE_FORM, Lead, MergedCapture
from backend.links import public_url

bp = Blueprint("consent", __name__)


def consent_url(token: str) -> str:
    return public_url(f"/consent/{token}")


def consent_request_row(lead: Lead, client_id: str, token: str, language: str | None = None):
    """The confirmation mail (a message row, rendered now) to the address stored on the
    lead, or None when the lead has no address to ask at."""
    if not lead.email_normalized:
        return None
    language = next(
        (lang for lang in (language, lead.language, lead.event.language) if lang in LANGUAGES),
        "en",
    )
    with force_locale(language):
        subject = gettext("Please confirm that %(event)s may contact you", event=lead.event.name)
        body = render_template(
            "privacy/consent_request.txt", event=lead.event, link=consent_url(token)
        )
    return dict(
        key=f"consent_request:capture:{client_id}",
        kind="consent_request",
        lead_id=lead.id,
        office_id=lead.office_id,
        event_id=lead.event_id,
        recipient=lead.email,
        subject=subject,
        body_text=body,
        payload={"language": language},
    )


def pending_consent(token: str) -> MergedCapture | None:
    """The form capture whose consent link this is, if it is one."""
    if not token or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return db.session.scalar(
        select(MergedCapture).where(
            MergedCapture.consent_token_hash == digest, MergedCapture.kind == CAPTURE_FORM
        )
    )


def confirm_consent(capture: MergedCapture) -> Lead:
    """Give the lead the consent its person confirmed: the wording they agreed to and the
    time of confirming. Confirming twice changes nothing more. Flushes."""
    lead = db.session.get(Lead, capture.lead_id)
    if capture.consent_confirmed_at is None:
        now = utcnow()
        capture.consent_confirmed_at = now
        if not lead.consent_contact:
            lead.consent_contact = True
            lead.consent_at = now
            lead.consent_text = capture.consent_text
        record("lead.consent_confirmed", target=lead, detail={"capture": capture.id})
        db.session.flush()
    return lead


@bp.route("/consent/<token>", methods=["GET", "POST"])
@roles_required(PUBLIC)
def confirm_link(token: str):
    """GET shows what the person is agreeing to and a button; POST confirms (a mail
    scanner that opens the link agrees to nothing)."""
    capture = pending_consent(token)
    if capture is None or db.session.get(Lead, capture.lead_id).anonymized_at is not None:
        abort(404)
    done = capture.consent_confirmed_at is not None
    if request.method == "POST" and not done:
        confirm_consent(capture)
        done = True
    lead = db.session.get(Lead, capture.lead_id)
    return render_template(
        "privacy/consent.html", capture=capture, event=lead.event, token=token, done=done
    )
