"""An event's mail texts per language, and which language a mail goes out in.

Storage: ``Event.autoresponder_subject`` / ``autoresponder_body`` hold the autoresponder in
the event's default language (``Event.language``); ``Event.mail_templates`` holds the
rest, by language. ``templates_by_language`` is the one view of both that readers use;
``set_templates`` writes a full view back in that shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from backend.events.models import Event
from backend.i18n import LANGUAGES

AUTORESPONDER_FIELDS = ("autoresponder_subject", "autoresponder_body")
OFFICE_NOTICE_FIELDS = ("office_notice_subject", "office_notice_body")
TEMPLATE_FIELDS = AUTORESPONDER_FIELDS + OFFICE_NOTICE_FIELDS
FALLBACK_LANGUAGE = "en"

# The documented placeholders: the only names a mail text can fill in.
PLACEHOLDERS = (
    "first_name", "company", "event", "event_dates", "visit_date",
    "office_name", "office_phone", "office_email", "offer",
)  # fmt: skip
# ``{{`` and ``}}`` are literal braces; ``{anything}`` is a placeholder candidate.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_STRAY = re.compile(r"[{}][^\s{}]{0,40}")


def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """Put ``values`` in for the documented ``{name}`` placeholders, in one pass.

    Nothing else is interpreted: no attribute or index access, no format specs or
    conversions; an unknown or malformed placeholder stays exactly as typed, and a value
    that itself contains braces is not expanded again.
    """

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        return str(values.get(name, "")) if name in PLACEHOLDERS else token

    return _TOKEN.sub(replace, template or "")


def placeholder_problems(template: str) -> list[str]:
    """The unknown or malformed placeholders in ``template``, as typed, in order."""
    template = template or ""
    problems = [
        m.group(0)
        for m in _TOKEN.finditer(template)
        if m.group(0) not in ("{{", "}}") and m.group(1) not in PLACEHOLDERS
    ]
    rest = _TOKEN.sub(" ", template)
    problems += [m.group(0) for m in _STRAY.finditer(rest)]
    return list(dict.fromkeys(problems))


def _clean(texts: dict | None) -> dict[str, str]:
    texts = texts or {}
    return {name: str(texts[name]) for name in TEMPLATE_FIELDS if (texts.get(name) or "").strip()}


def templates_by_language(event: Event | None) -> dict[str, dict[str, str]]:
    """``{language: {field: text}}`` with every non-blank text of the event."""
    if event is None:
        return {}
    found = {lang: _clean(texts) for lang, texts in (event.mail_templates or {}).items()}
    default = event.language or FALLBACK_LANGUAGE
    own = found.setdefault(default, {})
    for name in AUTORESPONDER_FIELDS:
        own.pop(name, None)
        if (getattr(event, name) or "").strip():
            own[name] = getattr(event, name)
    return {lang: texts for lang, texts in found.items() if texts}


def set_templates(event: Event, templates: dict[str, dict[str, str]]) -> None:
    """Store a full ``{language: {field: text}}`` view (after ``event.language`` is set)."""
    default = event.language or FALLBACK_LANGUAGE
    own = _clean(templates.get(default))
    for name in AUTORESPONDER_FIELDS:
        setattr(event, name, own.get(name, ""))
    stored = {}
    for lang, texts in templates.items():
        texts = _clean(texts)
        if lang == default:
            texts = {k: v for k, v in texts.items() if k not in AUTORESPONDER_FIELDS}
        if texts:
            stored[lang] = texts
    event.mail_templates = stored


def supported(language: str | None) -> str | None:
    return language if language in LANGUAGES else None


def candidates(*languages: str | None) -> list[str]:
    """The supported languages among ``languages``, in order, then English, no repeats."""
    return list(dict.fromkeys(lang for lang in (*languages, FALLBACK_LANGUAGE) if supported(lang)))


def pick_language(
    event: Event | None, fields: Iterable[str], *languages: str | None
) -> tuple[str, dict[str, str]]:
    """The first of ``languages`` (then the event default, then English) in which the event
    has one of ``fields`` written, with those texts. When none has, the first supported
    language and no texts: the mail then uses the product's own wording in it."""
    fields = tuple(fields)
    order = candidates(*languages, event.language if event else None)
    templates = templates_by_language(event)
    for lang in order:
        texts = {k: v for k, v in templates.get(lang, {}).items() if k in fields}
        if texts:
            return lang, texts
    return order[0], {}


def autoresponder_language(lead) -> tuple[str, dict[str, str]]:
    """The visitor's mail language and the event's texts in it: the language of the form
    they filled in, else the event's default, else English — the first with a text."""
    return pick_language(lead.event, AUTORESPONDER_FIELDS, lead.language)
