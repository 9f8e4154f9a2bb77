"""Rendering mails: the visitor's autoresponder, the office's notice and the sales mails
(reminder, escalation, reassignment), each in its reader's language.

Planned rows are small (``payload[RENDER]``): the delivery job fills in their subject
and body from the lead as it is when it sends them (``render_messages``); the admin
Outbox previews pending rows with the same function.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable

from babel import dates as babel_dates
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, gettext
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import defaultload
from sqlalchemy.orm.attributes import set_committed_value

from backend.auth.models import OFFICE_ROLES, User
from backend.events.content import agreed_consent, answer_rows, brief_in
from backend.events.models import Event
from backend.events.templates import (
    OFFICE_NOTICE_FIELDS,
    autoresponder_language,
    fill_placeholders,
    pick_language,
)
from backend.extensions import db
from backend.i18n import LANGUAGES, format_date_in, office_name
from backend.leads.models import Lead, RoutingDecision
from backend.links import public_url
from backend.messaging.models import RENDER, Message
from backend.messaging.unsubscribe import unsubscribe_headers, unsubscribe_url
from backend.messaging.webhooks import lead_payload, slack_text
from backend.offices.models import Office, default_sla_hours

log = logging.getLogger(__name__)


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
    """The values of a template's placeholders; dates, the office's name and the brief's
    offer in the current (mail's) language."""
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
        "office_name": office_name(office),
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


def lead_name(lead: Lead) -> str:
    """How mails and notices to sales name a lead: its name, else company, e-mail, phone,
    else its number (in the current language)."""
    return (
        lead.full_name or lead.company or lead.email or lead.phone
        or gettext("lead %(num)s", num=lead.id)
    )  # fmt: skip


def sla_hours_of(office: Office | None) -> int:
    """The office's SLA in hours (the instance default without an office)."""
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

        hours = sla_hours_of(office)
        due = sla_due_at(
            lead.routed_at, hours, getattr(office, "timezone", None),
            getattr(office, "working_days", None),
        )  # fmt: skip
        with force_locale(language):
            subject = gettext(
                "Reminder: %(name)s is waiting for a first touch", name=lead_name(lead)
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
                name=lead_name(lead), office=office.name if office else gettext("its office"),
            )  # fmt: skip
        return dict(
            subject=header_text(subject),
            body_text=render_lead_mail(
                "escalation", lead, office=office, language=language, sla_hours=sla_hours_of(office)
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
