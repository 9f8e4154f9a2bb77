"""The message outbox: rows written in the lead's transaction, delivered by workers.

A pending row is the truth; Redis only carries a hint to deliver it now. If Redis is
down the hint is lost, and the sweep re-enqueues pending rows when it is back.

Planning is cheap: capture and the sweep write small rows (key, kind, recipients) in
bulk, marked ``payload["render"]``, and the delivery job renders the subject and body
from the lead when it sends them (``render_messages``), keeping what it sent on the row
so the admin Outbox shows what was (or, with no SMTP configured, would have been) sent.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from babel import dates as babel_dates
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, gettext
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup, escape
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import defaultload
from sqlalchemy.orm.attributes import set_committed_value

from backend.admin.models import SiteSetting
from backend.auth.models import User
from backend.db_bulk import in_values, insert_rows
from backend.db_types import utcnow
from backend.events.content import agreed_consent, answer_rows, brief_in
from backend.events.models import Event
from backend.events.templates import (
    OFFICE_NOTICE_FIELDS,
    autoresponder_language,
    fill_placeholders,
    pick_language,
)
from backend.extensions import db
from backend.i18n import LANGUAGES, format_date_in
from backend.leads.models import Lead, RoutingDecision
from backend.links import public_url
from backend.messaging.models import Message, Unsubscribe
from backend.messaging.webhooks import global_webhook
from backend.offices.models import Office, default_sla_hours
from backend.process_cache import ProcessCache

log = logging.getLogger(__name__)

DELIVER_JOB = "workers.jobs.deliver_message"
BATCH_JOB = "workers.jobs.deliver_batch"
JOB_TIMEOUT = 60
# Messages per delivery job: one fork, one database connection and one SMTP session
# serve them all.
BATCH_SIZE = 100
RENDER = "render"  # payload key: the content is rendered by the delivery job
# Set while a batch job waits in its queue (the job clears it when it starts); it
# expires on its own should that job be lost.
KICK_TTL = 60


def kick_key(queue_name: str) -> str:
    return f"leadrelay:batch-waiting:{queue_name}"


RETRY_INTERVALS = [10, 30, 60, 300, 900]
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
OFFICE_ROLES = ("office_manager", "office_rep")
PLACEHOLDERS = (
    "first_name",
    "company",
    "event",
    "event_dates",
    "visit_date",
    "office_name",
    "office_phone",
    "office_email",
    "offer",
)


# --- unsubscribe -----------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    # One per app and key: a capture of 500 leads signs 500 links.
    cache = current_app.extensions.setdefault("leadrelay_unsubscribe", {})
    key = current_app.config["SECRET_KEY"]
    if key not in cache:
        cache.clear()
        cache[key] = URLSafeSerializer(key, salt="leadrelay-unsubscribe")
    return cache[key]


def unsubscribe_token(email: str) -> str:
    return _serializer().dumps(email.strip().lower())


def email_from_token(token: str) -> str | None:
    """The address a token was made for, or None when it was tampered with."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) and value else None


def unsubscribe_url(email: str) -> str:
    return public_url(f"/u/{unsubscribe_token(email)}")


def unsubscribe(email: str) -> bool:
    """Record that ``email`` wants no more mail and skip its pending mails (caller commits).

    Returns True when the address was newly added.
    """
    email = email.strip().lower()
    known = db.session.scalar(select(Unsubscribe).where(Unsubscribe.email == email))
    db.session.execute(
        db.update(Message)
        .where(
            Message.status == "pending",
            Message.kind == "autoresponder",
            db.func.lower(Message.recipient) == email,
        )
        .values(status="skipped", last_error="unsubscribed")
    )
    if known is not None:
        return False
    db.session.add(Unsubscribe(email=email))
    return True


def unsubscribed(emails: Iterable[str]) -> set[str]:
    emails = {e.lower() for e in emails if e}
    if not emails:
        return set()
    return set(
        db.session.scalars(select(Unsubscribe.email).where(in_values(Unsubscribe.email, emails)))
    )


# --- rendering ---------------------------------------------------------------------


_HEADER_BREAKS = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def header_text(value: str | None, limit: int = 500) -> str:
    """``value`` fit for a mail header (a subject, a name): every line break folded to a
    space, runs of spaces made one, at most ``limit`` characters."""
    return " ".join(_HEADER_BREAKS.sub(" ", value or "").split())[:limit]


def _event_dates(event: Event | None) -> str:
    if event is None or event.starts_on is None:
        return ""
    if event.ends_on is None or event.ends_on == event.starts_on:
        return format_date_in(event.starts_on, format="long")
    return babel_dates.format_interval(
        event.starts_on, event.ends_on, "yMMMd", locale=str(get_locale() or "en")
    )


def placeholder_values(lead: Lead, office: Office | None = None) -> dict[str, str]:
    """The values of a template's placeholders; dates and the brief's offer in the
    current (mail's) language."""
    event, office = lead.event, office or lead.office
    brief = brief_in(event, str(get_locale() or ""))
    return {
        "first_name": lead.first_name or "",
        "company": lead.company or "",
        "event": event.name if event else "",
        "event_dates": _event_dates(event),
        "visit_date": format_date_in(
            lead.captured_at, event.timezone if event else None, format="long"
        ),
        "office_name": office.name if office else "",
        "office_phone": office.phone if office else "",
        "office_email": office.email if office else "",
        "offer": str(brief.get("offer") or ""),
    }


def _paragraphs_html(text: str) -> Markup:
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in b.split("\n")))
        for b in blocks
    )


def unsubscribe_headers(link: str) -> dict:
    return {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _default_autoresponder(lead: Lead) -> tuple[str, str]:
    """The product's own subject and body, in the current locale (the event wrote none)."""
    subject = gettext("Thank you for visiting us at {event}")
    if lead.first_name:
        body = gettext("Hello {first_name},\n\nthank you for stopping by at {event}.")
    else:
        body = gettext("Hello,\n\nthank you for stopping by at {event}.")
    return subject, body


# A greeting's name with the comma or space before it: "Hello {first_name}," and
# "Здравствуйте, {first_name}!" become "Hello," and "Здравствуйте!" for a nameless visitor.
_NAME_IN_GREETING = re.compile(r"[ \t]*,?[ \t]*\{first_name\}")


def _without_missing_name(template: str, lead: Lead) -> str:
    return template if (lead.first_name or "").strip() else _NAME_IN_GREETING.sub("", template)


def render_autoresponder(lead: Lead, office: Office | None = None) -> dict:
    """Subject, text, HTML and headers of the visitor's follow-up mail.

    In the language of the form the visitor filled in, else the event's default, else
    English: the first of them the event wrote the mail in (events.templates); the fixed
    parts (greeting, contact card, unsubscribe line, dates) come in the same language.
    """
    language, texts = autoresponder_language(lead)
    office = office or lead.office
    with force_locale(language):
        values = placeholder_values(lead, office)
        default_subject, default_body = _default_autoresponder(lead)
        subject = texts.get("autoresponder_subject") or default_subject
        body = texts.get("autoresponder_body") or default_body
        subject = fill_placeholders(_without_missing_name(subject, lead), values)
        body = fill_placeholders(_without_missing_name(body, lead), values)
        link = unsubscribe_url(lead.email_normalized or lead.email)
        context = dict(
            lead=lead, office=office, body=body, body_html=_paragraphs_html(body), link=link,
            answers=answer_rows(lead.event, lead.answers, language),
            consent=agreed_consent(lead.event, lead.consent_text, language)
            if lead.consent_contact else "",
        )  # fmt: skip
        body_text = render_template("messaging/mail/autoresponder.txt", **context)
        body_html = render_template("messaging/mail/autoresponder.html", **context)
    return {
        "subject": header_text(subject),
        "body_text": body_text,
        "body_html": body_html,
        "payload": {"headers": unsubscribe_headers(link), "language": language},
    }


def _routing_reason(lead: Lead):
    """The lead's last routing decision (mails show its reason with ``routing_reason``)."""
    decisions = lead.routing_decisions
    return decisions[-1] if decisions else None


def office_languages(office_ids: Iterable[int]) -> dict[int, str]:
    """The language of each office's mails: the profile language most of its active
    managers and reps read (a tie goes to the instance default, then alphabetically),
    else the instance default. In one query."""
    default = current_app.config.get("DEFAULT_LANGUAGE", "en")
    office_ids = {i for i in office_ids if i is not None}
    counts: dict[int, Counter] = {i: Counter() for i in office_ids}
    if office_ids:
        rows = db.session.execute(
            select(User.office_id, User.language).where(
                User.office_id.in_(office_ids),
                User.role.in_(OFFICE_ROLES),
                User.active.is_(True),
                User.language.in_(list(LANGUAGES)),
            )
        )
        for office_id, language in rows:
            counts[office_id][language] += 1
    return {
        office_id: min(
            found, key=lambda lang: (-found[lang], lang != default, lang), default=default
        )
        for office_id, found in counts.items()
    }


def render_lead_mail(template: str, lead: Lead, *, language: str = "en", **extra) -> str:
    """A plain-text mail about one lead for sales or marketing (``messaging/mail/*.txt``)
    in ``language``. English by default: callers that write the subject themselves in
    English (the sweep's reassignment mail) get a body that matches it."""
    office = extra.pop("office", None) or lead.office
    context = dict(
        lead=lead,
        office=office,
        event=lead.event,
        brief=brief_in(lead.event, language),
        reason=_routing_reason(lead),
        lead_url=public_url(f"/office/leads/{lead.id}"),
    )
    context.update(extra)
    with force_locale(language):
        return render_template(f"messaging/mail/{template}.txt", **context)


def render_office_notice(lead: Lead, office: Office | None, language: str) -> dict:
    """The office's new-lead notice in ``language`` (the office's), with the event's
    subject and note for sales in it (else in the event's default language or English:
    a note in another language still beats none)."""
    event = lead.event
    note_language, texts = pick_language(event, OFFICE_NOTICE_FIELDS, language)
    with force_locale(language):
        values = placeholder_values(lead, office)
        subject = ""
        if note_language == language:
            subject = fill_placeholders(texts.get("office_notice_subject", ""), values)
        subject = subject or gettext(
            "New lead: %(name)s (%(event)s)",
            name=lead.full_name or lead.company or lead.email,
            event=event.name if event else gettext("event"),
        )
        note = fill_placeholders(texts.get("office_notice_body", ""), values)
    return dict(
        subject=header_text(subject),
        body_text=render_lead_mail(
            "office_notice", lead, office=office, language=language, note=note.strip()
        ),
        payload={"language": language},
    )


# --- recipients --------------------------------------------------------------------


def office_staff_emails(office_ids: Iterable[int], roles=OFFICE_ROLES) -> dict[int, list[str]]:
    """Active users with office roles, per office, in one query."""
    office_ids = {i for i in office_ids if i is not None}
    if not office_ids:
        return {}
    rows = db.session.execute(
        select(User.office_id, User.email).where(
            User.office_id.in_(office_ids), User.role.in_(roles), User.active.is_(True)
        )
    )
    found: dict[int, list[str]] = {}
    for office_id, email in rows:
        found.setdefault(office_id, []).append(email)
    return found


def join_recipients(*groups: Iterable[str]) -> str:
    seen: dict[str, None] = {}
    for group in groups:
        for email in group:
            if email and email.strip():
                seen.setdefault(email.strip(), None)
    return ", ".join(seen)


def marketing_emails() -> list[str]:
    raw = current_app.config.get("MARKETING_EMAILS") or ""
    return [e.strip() for e in raw.replace(";", ",").split(",") if e.strip()]


# --- writing rows ------------------------------------------------------------------


def insert_messages(rows: Sequence[dict]) -> list[int]:
    """Insert message rows, skipping keys that already exist; returns the new ids.

    ``ON CONFLICT (key) DO NOTHING`` makes two sweeps racing on the same alert safe; the
    rows go in with the one bulk insert (``db_bulk.insert_rows``).
    """
    now = utcnow()
    ids = insert_rows(
        Message.__table__,
        [{"created_at": now, **row} for row in rows],
        skip_existing=("key",),
    )
    return sorted(message_id for (message_id,) in ids)


class OfficeContacts:
    """Who hears of an office's new leads: its notice recipients and webhook targets."""

    def __init__(self, office: Office, staff: list[str]):
        self.id = office.id
        self.recipients = join_recipients([office.email], staff)
        self.webhook_targets = webhook_targets(office)


def _all_office_contacts() -> dict[int, OfficeContacts]:
    offices = db.session.scalars(select(Office)).all()
    staff = office_staff_emails(o.id for o in offices)
    return {o.id: OfficeContacts(o, staff.get(o.id, [])) for o in offices}


# Read per new lead, changed when an office or a user changes: kept per process.
office_contacts = ProcessCache("office_contacts", (Office, User, SiteSetting), _all_office_contacts)


def unsubscribed_emails(leads: Sequence[Lead]) -> set[str]:
    return unsubscribed(lead.email_normalized for lead in leads)


def new_lead_rows(leads: Sequence[Lead], unsubscribed: set[str] | None = None) -> list[dict]:
    """The small pending rows of freshly routed leads: who gets what, rendered later.

    Subjects, bodies and the autoresponder's unsubscribe headers are the delivery job's
    work (the link depends only on the address and the secret key). ``unsubscribed``:
    the leads' addresses that unsubscribed, when the caller has already looked them up.
    """
    blocked = unsubscribed if unsubscribed is not None else unsubscribed_emails(leads)
    contacts = office_contacts.get()
    rows: list[dict] = []
    for lead in leads:
        ids = dict(lead_id=lead.id, office_id=lead.office_id, event_id=lead.event_id)
        if lead.email_normalized and lead.consent_contact and lead.email_normalized not in blocked:
            rows.append(
                dict(
                    key=f"autoresponder:lead:{lead.id}",
                    kind="autoresponder",
                    recipient=lead.email,
                    payload={RENDER: True},
                    **ids,
                )
            )
        office = contacts.get(lead.office_id)
        if office is not None:
            if office.recipients:
                rows.append(
                    dict(
                        key=f"office_notice:lead:{lead.id}",
                        kind="office_notice",
                        recipient=office.recipients,
                        payload={RENDER: True},
                        **ids,
                    )
                )
            rows.extend(
                deferred_webhook_rows(
                    "lead.routed", lead.id, lead.event_id, office, office.webhook_targets
                )
            )
    return rows


# --- rendering at delivery ---------------------------------------------------------


def _lead_name(lead: Lead) -> str:
    return lead.full_name or lead.company or lead.email or f"lead {lead.id}"


def _sla_hours(office: Office | None) -> int:
    return office.sla if office else default_sla_hours()


def _render_one(message: Message, lead: Lead, office: Office | None, language: str) -> dict:
    """The content of one deferred row, from its lead as it is now; mails to the office
    in ``language`` (the office's)."""
    kind = message.kind
    payload = {k: v for k, v in (message.payload or {}).items() if k != RENDER}
    if kind in ("autoresponder", "office_notice"):
        if kind == "autoresponder":
            content = render_autoresponder(lead, office)
        else:
            content = render_office_notice(lead, office, language)
        content["payload"] = {**payload, **content["payload"]}
        return content
    if kind == "sla_reminder":
        from backend.sla import sla_due_at

        hours = _sla_hours(office)
        due = sla_due_at(
            lead.routed_at, hours, getattr(office, "timezone", None),
            getattr(office, "working_days", None),
        )  # fmt: skip
        with force_locale(language):
            subject = gettext(
                "Reminder: %(name)s is waiting for a first touch", name=_lead_name(lead)
            )
        return dict(
            subject=header_text(subject),
            body_text=render_lead_mail(
                "sla_reminder", lead, office=office, language=language,
                percent=payload.get("percent", 75), sla_hours=hours, due_at=due,
            ),
            payload=payload,
        )  # fmt: skip
    if kind == "escalation":
        with force_locale(language):
            subject = gettext(
                "Escalated: %(name)s untouched past the SLA at %(office)s",
                name=_lead_name(lead), office=office.name if office else gettext("its office"),
            )  # fmt: skip
        return dict(
            subject=header_text(subject),
            body_text=render_lead_mail(
                "escalation", lead, office=office, language=language, sla_hours=_sla_hours(office)
            ),
            payload=payload,
        )
    if message.channel == "webhook":
        data = lead_payload(message.subject, lead, at=message.created_at, office=office)
        return dict(body_text=slack_text(data), payload={**payload, "data": data})
    raise ValueError(f"no deferred rendering for {kind!r}")


def load_for_render(lead_ids, office_ids) -> tuple[dict[int, Lead], dict[int, Office]]:
    """The leads (with their event, office and routing history) and offices, by id.

    Three plain queries (the work horse runs them already compiled).
    """
    lead_ids, office_ids = list(lead_ids), list(office_ids)
    leads = {
        lead.id: lead
        for lead in db.session.scalars(
            # The event's staff (a selectin default) is not part of any mail.
            select(Lead)
            .where(Lead.id.in_(lead_ids))
            .options(defaultload(Lead.event).lazyload(Event.staff))
        )
    }
    decisions: dict[int, list[RoutingDecision]] = {lead_id: [] for lead_id in leads}
    for decision in db.session.scalars(
        select(RoutingDecision)
        .where(RoutingDecision.lead_id.in_(lead_ids))
        .order_by(RoutingDecision.id)
    ):
        decisions.setdefault(decision.lead_id, []).append(decision)
    for lead_id, lead in leads.items():
        set_committed_value(lead, "routing_decisions", decisions[lead_id])
    offices = {o.id: o for o in db.session.scalars(select(Office).where(Office.id.in_(office_ids)))}
    return leads, offices


MAIL_TEMPLATES = [
    f"messaging/mail/{name}"
    for name in (
        "autoresponder.txt", "autoresponder.html", "office_notice.txt", "sla_reminder.txt",
        "escalation.txt", "reassigned.txt", "_lead.txt",
    )
]  # fmt: skip


def render_messages(messages: Iterable[Message]) -> dict[int, Exception]:
    """Fill in the content of deferred rows (``payload["render"]``), in a few queries.

    Sets the attributes; the caller commits (the delivery job) or does not (a preview).
    A row whose lead is gone keeps its empty content and loses the mark. Returns the
    rows that could not be rendered, with the error, by id.
    """
    deferred = [m for m in messages if (m.payload or {}).get(RENDER)]
    if not deferred:
        return {}
    leads, offices = load_for_render(
        {m.lead_id for m in deferred if m.lead_id is not None},
        {m.office_id for m in deferred if m.office_id is not None},
    )
    languages = office_languages(
        {m.office_id for m in deferred} | {lead.office_id for lead in leads.values()}
    )
    default = current_app.config.get("DEFAULT_LANGUAGE", "en")
    failed: dict[int, Exception] = {}
    for message in deferred:
        lead = leads.get(message.lead_id)
        if lead is None:
            payload = {k: v for k, v in message.payload.items() if k != RENDER}
            set_committed_value(message, "payload", payload)
            continue
        office = offices.get(message.office_id) or lead.office
        language = languages.get(office.id, default) if office else default
        try:
            content = _render_one(message, lead, office, language)
        except Exception as exc:  # noqa: BLE001 - one bad template must not stop the batch
            log.exception("cannot render message %s", message.id)
            failed[message.id] = exc
            continue
        for name, value in content.items():
            # Not a change to flush: the delivery job writes the row in one UPDATE.
            set_committed_value(message, name, value)
    return failed


# --- webhooks ----------------------------------------------------------------------


def lead_payload(
    event_name: str, lead: Lead, at: datetime | None = None, office: Office | None = None
) -> dict:
    office, event = office or lead.office, lead.event
    return {
        "event": event_name,
        "at": (at or utcnow()).isoformat(),
        "lead": {
            "id": lead.id,
            "client_id": str(lead.client_id),
            "name": lead.full_name,
            "company": lead.company,
            "rating": lead.rating,
            "status": lead.status,
            "escalation_level": lead.escalation_level,
            "deal_value": str(lead.deal_value) if lead.deal_value is not None else None,
            "deal_currency": lead.deal_currency,
            "url": public_url(f"/office/leads/{lead.id}"),
        },
        "office": office.as_ref() if office else None,
        "event_ref": {"id": event.id, "name": event.name} if event else None,
    }


def slack_text(payload: dict) -> str:
    lead, office = payload["lead"], payload.get("office") or {}
    who = lead.get("name") or lead.get("company") or f"lead {lead['id']}"
    if lead.get("url"):  # Slack's link markup: the name opens the lead
        who = f"<{lead['url']}|{who}>"
    where = office.get("name", "no office")
    event = (payload.get("event_ref") or {}).get("name", "")
    if payload["event"] == "lead.won":
        value = f" — {lead['deal_value']} {lead.get('deal_currency') or ''}".rstrip()
        return f":trophy: Won: {who} ({event}) by {where}{value if lead['deal_value'] else ''}"
    if payload["event"] == "lead.escalated":
        return f":rotating_light: Escalated: {who} ({event}) untouched past the SLA at {where}"
    return f"New lead: {who} ({event}) routed to {where}"


def webhook_targets(office: Office | None) -> list[tuple[str, str, str]]:
    """(scope, url, format) for the office's webhook and the global one."""
    targets = []
    if office is not None and office.webhook_url:
        targets.append((f"office:{office.id}", office.webhook_url, office.webhook_format or "json"))
    hook = global_webhook()
    if hook["url"]:
        targets.append(("global", hook["url"], hook["format"] or "json"))
    return targets


def webhook_rows(event_name: str, lead: Lead, office: Office | None = None) -> list[dict]:
    """Pending webhook rows for a lead event, rendered now (keys make each one happen once)."""
    office = office or lead.office
    rows = []
    for scope, url, fmt in webhook_targets(office):
        payload = lead_payload(event_name, lead, office=office)
        rows.append(
            dict(
                key=f"webhook:{event_name}:lead:{lead.id}:{scope}",
                kind=f"webhook:{event_name}",
                channel="webhook",
                lead_id=lead.id,
                office_id=office.id if office else None,
                event_id=lead.event_id,
                recipient=url,
                subject=event_name,
                body_text=slack_text(payload),
                payload={"scope": scope, "format": fmt, "data": payload},
            )
        )
    return rows


def deferred_webhook_rows(
    event_name: str,
    lead_id: int,
    event_id: int | None,
    office: Office | OfficeContacts | None,
    targets=None,
) -> list[dict]:
    """Webhook rows whose JSON the delivery job builds from the lead (bulk planning)."""
    if targets is None:
        targets = webhook_targets(office)
    return [
        dict(
            key=f"webhook:{event_name}:lead:{lead_id}:{scope}",
            kind=f"webhook:{event_name}",
            channel="webhook",
            lead_id=lead_id,
            office_id=office.id if office else None,
            event_id=event_id,
            recipient=url,
            subject=event_name,
            payload={"scope": scope, "format": fmt, RENDER: True},
        )
        for scope, url, fmt in targets
    ]


def webhook_body(message: Message) -> bytes:
    payload = message.payload or {}
    data = payload.get("data") or {}
    if payload.get("format") == "slack":
        data = {"text": message.body_text or slack_text(data)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_secret(message: Message) -> str | None:
    """The office's secret for its webhook, the global webhook's for the global one."""
    scope = (message.payload or {}).get("scope", "")
    if scope.startswith("office:"):
        office = db.session.get(Office, int(scope.split(":", 1)[1]))
        return office.webhook_secret if office else None
    return global_webhook()["secret"]


def plan_lead_won(lead: Lead) -> list[int]:
    """Announce a won lead: the ``lead.won`` webhooks (call after setting status won).

    Writes the rows (caller commits, then calls ``enqueue_messages`` with the ids);
    a second call for the same lead adds nothing.
    """
    db.session.flush()
    return insert_messages(webhook_rows("lead.won", lead))


# --- enqueueing --------------------------------------------------------------------


def _without_live_jobs(queue, message_ids: list[int]) -> list[int]:
    """Drop ids whose job still waits in Redis (queued, or scheduled for a retry)."""
    with queue.connection.pipeline(transaction=False) as pipe:
        for message_id in message_ids:
            pipe.hget(f"rq:job:deliver-{message_id}", "status")
        statuses = pipe.execute()
    # "started" is not live here: a pending row whose job says started lost its worker.
    live = {b"queued", b"scheduled", b"deferred"}
    return [m for m, status in zip(message_ids, statuses, strict=True) if status not in live]


def _channels(message_ids: Sequence[int]) -> dict[int, str]:
    ids = list(message_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Message.id, Message.channel).where(in_values(Message.id, ids)))
    return {message_id: channel for message_id, channel in rows}


def enqueue_messages(
    message_ids: Sequence[int],
    *,
    only_missing: bool = False,
    batch_size: int = BATCH_SIZE,
    channels: dict[int, str] | None = None,
) -> int:
    """Ask the workers to deliver these messages now; returns how many were enqueued.

    New rows go to the ``deliver_batch`` job of their queue: a new one, or the one
    already waiting, which will take them too. ``only_missing`` (the sweep re-sending old
    pending rows) enqueues one ``deliver-<id>`` job per row and skips rows whose job
    is still alive in Redis (queued, or scheduled for its retry), so a backed-up queue
    is not filled twice. Never raises for Redis trouble: the rows stay pending and the
    sweep retries.
    """
    if not message_ids:
        return 0
    from rq import Retry

    from workers.queues import MAIL, WEBHOOKS, get_queue

    app = current_app._get_current_object()
    if channels is None:  # the caller who just wrote the rows knows them
        channels = _channels(message_ids)
    enqueued = 0
    try:
        # Telegram rows: one deliver job each on the webhooks queue (the batch jobs take
        # the rows of their own channel only).
        telegram = sorted(m for m, channel in channels.items() if channel == "telegram")
        if telegram:
            queue = get_queue(app, WEBHOOKS)
            if only_missing:
                telegram = _without_live_jobs(queue, telegram)
            queue.enqueue_many([
                queue.prepare_data(
                    DELIVER_JOB, (message_id,), job_id=f"deliver-{message_id}",
                    timeout=JOB_TIMEOUT,
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                )
                for message_id in telegram
            ])  # fmt: skip
            enqueued += len(telegram)
            channels = {m: c for m, c in channels.items() if c != "telegram"}
        for name in (MAIL, WEBHOOKS):
            wanted = sorted(
                m for m, channel in channels.items() if (channel == "webhook") == (name == WEBHOOKS)
            )
            if not wanted:
                continue
            queue = get_queue(app, name)
            if only_missing:
                wanted = _without_live_jobs(queue, wanted)
                jobs = [
                    queue.prepare_data(
                        DELIVER_JOB,
                        (message_id,),
                        job_id=f"deliver-{message_id}",
                        timeout=JOB_TIMEOUT,
                        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    )
                    for message_id in wanted
                ]
            else:
                # One batch job at a time per queue: while one waits, the rows written
                # meanwhile are its to take (it claims every due pending row of its
                # channel), so a burst of captures costs a few forks, not one each.
                if not queue.connection.set(kick_key(name), 1, nx=True, ex=KICK_TTL):
                    enqueued += len(wanted)
                    continue
                channel = "webhook" if name == WEBHOOKS else "email"
                jobs = [
                    queue.prepare_data(
                        BATCH_JOB, (wanted[:batch_size], channel), timeout=JOB_TIMEOUT
                    )
                ]
            for start in range(0, len(jobs), 1000):
                queue.enqueue_many(jobs[start : start + 1000])
            enqueued += len(wanted)
    except RedisError as exc:
        log.warning(
            "Redis unavailable, %d messages stay pending for the sweep: %s", len(channels), exc
        )
        return 0
    return enqueued
