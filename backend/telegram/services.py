"""Linking Telegram accounts, reps' choices of channel per kind of notice, and the outbox
rows that carry notices to Telegram.

Every notice to office people is first written as an e-mail row (as before);
``apply_preferences`` then takes the fresh rows of the kinds reps choose for, drops the
addresses of those who want no e-mail of that kind, and adds one ``telegram`` row per
linked person who wants Telegram. The rows go out through the same outbox (claimed once,
retried, kept pending while Redis or Telegram is down).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import func, select

from backend.auth.models import User
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.i18n import LANGUAGES, label
from backend.leads.models import Lead
from backend.links import public_url
from backend.messaging.models import Message
from backend.messaging.rendering import lead_name
from backend.process_cache import ProcessCache
from backend.telegram import api
from backend.telegram.models import (
    DEFAULT_CHANNEL,
    NOTICE_CHANNELS,
    NOTICE_KINDS,
    NoticePreference,
    TelegramCursor,
    TelegramLink,
)
from backend.transaction import after_commit

log = logging.getLogger(__name__)

CODE_VALID_FOR = timedelta(hours=1)
# Outbox kinds that reps choose a channel for, and the choice that applies.
MESSAGE_KINDS = {
    "office_notice": "new_lead",
    "sla_reminder": "sla_reminder",
    "escalation": "escalation",
    "next_steps": "next_step",
}
# A new kind of notice starts as it was before there was a choice.
DEFAULTS = {kind: DEFAULT_CHANNEL for kind in NOTICE_KINDS} | {"won": "none"}
TEXT_LIMIT = 4096  # sendMessage's limit


# --------------------------------------------------------------------------- choices


def preferences(user_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Each user's channel per kind (defaults filled in), in one query."""
    ids = list(set(user_ids))
    found = {uid: dict(DEFAULTS) for uid in ids}
    if ids:
        for uid, kind, channel in db.session.execute(
            select(NoticePreference.user_id, NoticePreference.kind, NoticePreference.channel)
            .where(NoticePreference.user_id.in_(ids))
        ):  # fmt: skip
            found[uid][kind] = channel
    return found


def set_preferences(user: User, choices: dict[str, str]) -> dict[str, str]:
    """Save the user's channel per kind; unknown kinds or channels are refused (422)."""
    for kind, channel in choices.items():
        if kind not in NOTICE_KINDS or channel not in NOTICE_CHANNELS:
            raise ApiError(422, "invalid", f"Unknown kind or channel: {kind}={channel}.",
                           [{"field": kind, "message": "unknown kind or channel"}])  # fmt: skip
    existing = {
        p.kind: p
        for p in db.session.scalars(
            select(NoticePreference).where(NoticePreference.user_id == user.id)
        )
    }
    for kind, channel in choices.items():
        if kind in existing:
            existing[kind].channel = channel
        else:
            db.session.add(NoticePreference(user_id=user.id, kind=kind, channel=channel))
    db.session.flush()
    return preferences([user.id])[user.id]


# --------------------------------------------------------------------------- linking

_bot_names: dict[str, str] = {}


def bot_username() -> str:
    """The bot's @username (getMe, asked once per process and token)."""
    token = current_app.config.get("TELEGRAM_BOT_TOKEN") or ""
    if token not in _bot_names:
        _bot_names[token] = api.call("getMe")["username"]
    return _bot_names[token]


def link_of(user: User) -> TelegramLink | None:
    return db.session.scalar(select(TelegramLink).where(TelegramLink.user_id == user.id))


def start_link(user: User, now: datetime | None = None) -> str:
    """A one-time deep link (valid an hour) that links the user's Telegram when opened.

    Raises ApiError(503) when no bot is configured or Telegram cannot name it.
    """
    if not api.configured():
        raise ApiError(503, "telegram_off", "Telegram is not set up on this site.")
    try:
        name = bot_username()
    except api.TelegramError as exc:
        raise ApiError(503, "telegram_down", "Telegram cannot be reached; try again.") from exc
    link = link_of(user) or TelegramLink(user_id=user.id)
    link.code = secrets.token_urlsafe(24)  # base64url: what a start parameter allows
    link.code_created_at = now or utcnow()
    db.session.add(link)
    db.session.flush()
    return f"https://t.me/{name}?start={link.code}"


def unlink(user: User) -> None:
    link = link_of(user)
    if link is not None:
        link.chat_id, link.code, link.linked_at, link.username = None, None, None, ""
        db.session.flush()


def _reply(chat_id: int, text: str, key: str) -> dict:
    return dict(key=key, kind="telegram_reply", channel="telegram", recipient=str(chat_id),
                body_text=text)  # fmt: skip


def handle_update(update: dict, now: datetime | None = None) -> list[dict]:
    """Act on one update from Telegram; returns outbox rows (replies) to write.

    ``/start <code>`` from a private chat links the code's user to that chat (a code
    works once, for an hour). Everything else is answered with how to link.
    """
    now = now or utcnow()
    message = update.get("message") or {}
    chat = message.get("chat") or {}
    text = (message.get("text") or "").strip()
    if chat.get("type") != "private" or "id" not in chat:
        return []
    key = f"telegram_reply:update:{update.get('update_id')}"
    code = text.split(maxsplit=1)[1] if text.startswith("/start ") else ""
    link = None
    if code:
        link = db.session.scalar(select(TelegramLink).where(TelegramLink.code == code))
    if link is None or link.code_created_at is None or now - link.code_created_at > CODE_VALID_FOR:
        with force_locale(_chat_language(message)):
            text = gettext(
                "Open your LeadRelay profile and press “Link Telegram” to get notices here."
            )
        return [_reply(chat["id"], text, key)]
    link.chat_id = int(chat["id"])
    link.username = ((message.get("from") or {}).get("username") or "")[:64]
    link.code, link.code_created_at, link.linked_at = None, None, now
    user = db.session.get(User, link.user_id)
    db.session.flush()
    with force_locale(_language(user)):
        text = gettext("Linked: LeadRelay will send your notices here, %(name)s.",
                       name=user.name or user.email)  # fmt: skip
    return [_reply(chat["id"], text, key)]


def _chat_language(message: dict) -> str:
    code = ((message.get("from") or {}).get("language_code") or "")[:2]
    return code if code in LANGUAGES else current_app.config.get("DEFAULT_LANGUAGE", "en")


def _language(user: User | None) -> str:
    if user is not None and user.language in LANGUAGES:
        return user.language
    return current_app.config.get("DEFAULT_LANGUAGE", "en")


def write_replies(rows: list[dict]) -> list[int]:
    """Write the bot's replies to the outbox (flushes); the workers are woken once the
    caller (the webhook request, the polling job) has committed."""
    from backend.messaging.planning import insert_messages
    from backend.messaging.sending import enqueue_messages

    ids = insert_messages(rows)
    if ids:
        after_commit(partial(enqueue_messages, ids))
    return ids


def read_updates(timeout: int = 25) -> int:
    """Long-poll getUpdates once from the stored offset, act on what came, store the next
    offset (flushed with the links and replies: the job commits them together, so an
    update is never acted on twice). Returns how many updates were read. Raises
    TelegramError when Telegram cannot be reached."""
    cursor = db.session.get(TelegramCursor, 1) or TelegramCursor(id=1, next_update_id=0)
    updates = api.call(
        "getUpdates",
        {"offset": cursor.next_update_id, "timeout": timeout, "allowed_updates": ["message"]},
        timeout=timeout + 10,
    )
    rows = []
    for update in updates or []:
        rows += handle_update(update)
        cursor.next_update_id = max(cursor.next_update_id, int(update["update_id"]) + 1)
    db.session.add(cursor)
    write_replies(rows)
    db.session.flush()
    return len(updates or [])


def webhook_secret() -> str:
    """The secret Telegram sends back in ``X-Telegram-Bot-Api-Secret-Token``."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"telegram-webhook", hashlib.sha256).hexdigest()[:64]


def set_webhook() -> None:
    """Ask Telegram to post updates to this site (TELEGRAM_WEBHOOK on)."""
    api.call("setWebhook", {"url": public_url("/telegram/webhook"),
                            "secret_token": webhook_secret(),
                            "allowed_updates": ["message"]})  # fmt: skip


def send(message: Message) -> str:
    """Deliver one outbox row of channel ``telegram`` (sendMessage). Raises TelegramError."""
    if not api.configured():
        return "recorded"  # no bot (the demo): kept in the Outbox
    payload = {
        "chat_id": int(message.recipient),
        "text": message.body_text[:TEXT_LIMIT],
        "link_preview_options": {"is_disabled": True},
    }
    markup = (message.payload or {}).get("reply_markup")
    if markup:
        payload["reply_markup"] = markup
    api.call("sendMessage", payload)
    return "sent"


# --------------------------------------------------------------------------- notices


def _button(lead_id: int) -> dict:
    return {"text": gettext("Open the lead"), "url": public_url(f"/office/leads/{lead_id}")}


def notice_text(kind: str, leads: Sequence[Lead]) -> str:
    """The short message of one notice, in the current locale."""
    lead = leads[0]
    name = lead_name(lead)
    if kind == "new_lead":
        text = gettext("New lead: %(name)s", name=name)
        details = [lead.company if lead.full_name else "", label(lead.rating, "rating"),
                   lead.event.name if lead.event else ""]  # fmt: skip
        return text + "".join(f"\n{d}" for d in details if d)
    if kind == "sla_reminder":
        return gettext("Reminder: %(name)s is waiting for a first touch.", name=name)
    if kind == "escalation":
        return gettext("Escalated: %(name)s was not touched within the SLA.", name=name)
    if kind == "next_step":
        head = ngettext("%(num)s overdue next step:", "%(num)s overdue next steps:", len(leads))
        lines = [f"• {label(x.next_step, 'next_step')}: {lead_name(x)}" for x in leads[:10]]
        return "\n".join([head, *lines])
    if kind == "won":
        from backend.formatting import format_money

        return gettext("Won: %(name)s, %(value)s", name=name,
                       value=format_money(lead.deal_value, lead.deal_currency))  # fmt: skip
    raise ValueError(kind)


def telegram_rows(kind: str, key: str, leads: Sequence[Lead], users: Iterable[User],
                  links: dict[int, TelegramLink], office_id: int | None = None) -> list[dict]:  # fmt: skip
    """One telegram row per linked user, in their language, with buttons opening the leads."""
    rows = []
    for user in users:
        link = links.get(user.id)
        if link is None or link.chat_id is None:
            continue
        with force_locale(_language(user)):
            text = notice_text(kind, leads)
            buttons = [[_button(lead.id)] for lead in leads[:5]]
        rows.append(dict(
            key=f"telegram:{key}:user:{user.id}", kind=kind, channel="telegram",
            recipient=str(link.chat_id), body_text=text, lead_id=leads[0].id,
            office_id=office_id, payload={"reply_markup": {"inline_keyboard": buttons}},
        ))  # fmt: skip
    return rows


def _links(user_ids: Iterable[int]) -> dict[int, TelegramLink]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {
        link.user_id: link
        for link in db.session.scalars(select(TelegramLink).where(TelegramLink.user_id.in_(ids)))
    }


def _any_choice() -> bool:
    return db.session.scalar(select(NoticePreference.id).limit(1)) is not None


# Read per captured batch: kept per process (seen at once here, within 5 s elsewhere).
_anyone_chose = ProcessCache("notice_choices", (NoticePreference,), _any_choice)


def anyone_chose() -> bool:
    """Whether any rep has chosen a channel (``apply_preferences`` has work to do)."""
    return bool(_anyone_chose.get())


def apply_preferences(message_ids: Sequence[int], *, chosen: bool | None = None) -> list[int]:
    """Apply reps' choices to fresh e-mail rows (not yet enqueued; the caller commits).

    Drops the addresses of people who want no e-mail of that kind (a row left with no
    address is skipped), and writes a Telegram row for each linked person who wants one.
    Returns the ids of the Telegram rows. No query while nobody has chosen anything
    (``chosen``: what ``anyone_chose()`` told the caller, who planned its writes by it).
    """
    if not message_ids or not (anyone_chose() if chosen is None else chosen):
        return []
    messages = db.session.scalars(
        select(Message).where(
            Message.id.in_(list(message_ids)),
            Message.kind.in_(list(MESSAGE_KINDS)),
            Message.channel == "email",
        )
    ).all()
    if not messages:
        return []
    emails = {e.strip().lower() for m in messages for e in m.recipient.split(",") if e.strip()}
    users = {
        u.email.lower(): u
        for u in db.session.scalars(
            select(User).where(User.active.is_(True), func.lower(User.email).in_(list(emails)))
        )
    }
    chosen = preferences(u.id for u in users.values())
    links = _links(chosen)
    leads = {
        lead.id: lead
        for lead in db.session.scalars(
            select(Lead).where(Lead.id.in_([m.lead_id for m in messages if m.lead_id]))
        )
    }
    rows = []
    for message in messages:
        kind = MESSAGE_KINDS[message.kind]
        keep, wanting = [], []
        for address in [e.strip() for e in message.recipient.split(",") if e.strip()]:
            user = users.get(address.lower())
            channel = chosen[user.id][kind] if user else "email"
            if channel in ("email", "both"):
                keep.append(address)
            if user and channel in ("telegram", "both"):
                wanting.append(user)
        if len(keep) != len(message.recipient.split(",")):
            message.recipient = ", ".join(keep)
            if not keep:
                message.status, message.last_error = "skipped", "nobody wants this by e-mail"
        lead_list = _leads_of(message, leads)
        if lead_list:
            rows += telegram_rows(kind, message.key, lead_list, wanting, links, message.office_id)
    db.session.flush()
    from backend.messaging.planning import insert_messages

    return insert_messages(rows)


def _leads_of(message: Message, leads: dict[int, Lead]) -> list[Lead]:
    ids = (message.payload or {}).get("lead_ids") or ([message.lead_id] if message.lead_id else [])
    found = [leads.get(i) or db.session.get(Lead, i) for i in ids]
    return [lead for lead in found if lead is not None]


def won_rows(lead: Lead) -> list[dict]:
    """ "Won in the office" for its members who want it: an e-mail and/or a Telegram row."""
    from backend.auth.models import OFFICE_ROLES

    members = db.session.scalars(
        select(User).where(
            User.office_id == lead.office_id, User.active.is_(True), User.role.in_(OFFICE_ROLES)
        )
    ).all()
    chosen = preferences(m.id for m in members)
    wanting_mail = [m for m in members if chosen[m.id]["won"] in ("email", "both")]
    wanting_tg = [m for m in members if chosen[m.id]["won"] in ("telegram", "both")]
    rows = telegram_rows("won", f"won:lead:{lead.id}:{lead.won_at.isoformat()}", [lead],
                         wanting_tg, _links(m.id for m in wanting_tg), lead.office_id)  # fmt: skip
    for member in wanting_mail:
        with force_locale(_language(member)):
            text = notice_text("won", [lead])
            rows.append(dict(
                key=f"won:lead:{lead.id}:{lead.won_at.isoformat()}:user:{member.id}", kind="won",
                recipient=member.email, subject=text, lead_id=lead.id, office_id=lead.office_id,
                body_text=text + "\n\n" + public_url(f"/office/leads/{lead.id}"),
            ))  # fmt: skip
    return rows
