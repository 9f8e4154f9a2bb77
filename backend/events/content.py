"""An event's content per language: qualification questions, consent text and brief.

Storage: the base fields (``questions[].label`` and ``options``, ``consent_text``,
``brief``) hold the event's default language (``Event.language``); the other languages
live in ``questions[].translations``, ``consent_texts`` and ``briefs``. The API shows
every language (the default one included) in those maps; a language that has no text
falls back to the base. ``*_in(event, language)`` are what readers call.
"""

from __future__ import annotations

from backend.events.models import DEFAULT_CONSENT_TEXT, Event
from backend.i18n import LANGUAGES

BRIEF_FIELDS = ("offer", "promo_conditions", "talking_points")
# The built-in consent text in each language (an event that wrote none shows this).
DEFAULT_CONSENT_TEXTS = {
    "en": DEFAULT_CONSENT_TEXT,
    "ru": "Я согласен(на), что экспонент может связаться со мной по этому запросу и хранить "
    "мои данные для этой цели.",
}


def _default(event: Event) -> str:
    return event.language or "en"


def _brief(raw: dict | None) -> dict[str, str]:
    raw = raw or {}
    return {name: str(raw.get(name) or "") for name in BRIEF_FIELDS}


# --- reading ------------------------------------------------------------------------


def consent_texts(event: Event) -> dict[str, str]:
    """``{language: consent text}`` for every language that has one."""
    default, base = _default(event), event.consent_text or ""
    # The built-in text is not the event's own words: it is shown in every language.
    found = dict(DEFAULT_CONSENT_TEXTS) if base == DEFAULT_CONSENT_TEXT else {default: base}
    for lang, text in (event.consent_texts or {}).items():
        if lang in LANGUAGES and lang != default and (text or "").strip():
            found[lang] = text
    return {lang: text for lang, text in found.items() if text.strip()}


def consent_in(event: Event, language: str | None) -> str:
    """The consent text in ``language``, else in the event's default language."""
    texts = consent_texts(event)
    return texts.get(language or "") or event.consent_text or ""


def briefs(event: Event) -> dict[str, dict[str, str]]:
    """``{language: brief}`` for every language with a brief (the default's always)."""
    found = {_default(event): _brief(event.brief)}
    for lang, brief in (event.briefs or {}).items():
        brief = _brief(brief)
        if lang in LANGUAGES and lang != _default(event) and any(brief.values()):
            found[lang] = brief
    return found


def brief_in(event: Event | None, language: str | None) -> dict[str, str]:
    """The brief in ``language``; each blank field falls back to the default language's."""
    if event is None:
        return _brief(None)
    base = _brief(event.brief)
    own = briefs(event).get(language or "", {})
    return {name: own.get(name) or base[name] for name in BRIEF_FIELDS}


def question_view(question: dict, default: str) -> dict:
    """A stored question with ``translations`` for every language it has (the default's too)."""
    translations = {
        default: {
            "label": question.get("label", ""),
            "options": list(question.get("options") or []),
        }
    }
    for lang, text in (question.get("translations") or {}).items():
        if lang in LANGUAGES and lang != default and (text or {}).get("label"):
            translations[lang] = {
                "label": text["label"],
                "options": list(text.get("options") or []),
            }
    return {
        "id": question["id"],
        "label": question.get("label", ""),
        "type": question.get("type", "text"),
        "options": list(question.get("options") or []),
        "translations": translations,
    }


def questions_view(event: Event) -> list[dict]:
    return [question_view(q, _default(event)) for q in (event.questions or [])]


def question_in(question: dict, language: str | None) -> dict:
    """The question's label and options in ``language`` (else the base); the options'
    values stay those of the base, so answers compare across languages."""
    text = (question.get("translations") or {}).get(language or "") or {}
    options = list(question.get("options") or [])
    shown = list(text.get("options") or [])
    return {
        "id": question["id"],
        "type": question.get("type", "text"),
        "label": text.get("label") or question.get("label", ""),
        "options": options,
        "option_labels": shown if len(shown) == len(options) else options,
    }


def question_labels(event: Event, language: str | None) -> dict[str, str]:
    """``{question id: label in language}``, for showing answers."""
    return {q["id"]: question_in(q, language)["label"] for q in (event.questions or [])}


# --- writing ------------------------------------------------------------------------


def content_views(event: Event) -> dict:
    """Every language's content, read before the default language may change."""
    return {
        "consent": consent_texts(event) if event.id is not None else {},
        "briefs": briefs(event) if event.id is not None else {},
        "questions": questions_view(event),
    }


def store_consent(event: Event, texts: dict[str, str]) -> None:
    """Store ``{language: text}`` under the event's (possibly new) default language."""
    default = _default(event)
    texts = {k: v for k, v in texts.items() if k in LANGUAGES and (v or "").strip()}
    own = texts.get(default)
    if own == DEFAULT_CONSENT_TEXTS.get(default) or not (own or event.consent_text):
        event.consent_text = DEFAULT_CONSENT_TEXT  # the built-in text, in every language
    elif own:
        event.consent_text = own
    # With the built-in text as the base, the built-in translations come by themselves.
    builtin = event.consent_text == DEFAULT_CONSENT_TEXT
    event.consent_texts = {
        lang: text
        for lang, text in texts.items()
        if lang != default and not (builtin and text == DEFAULT_CONSENT_TEXTS.get(lang))
    }


def store_briefs(event: Event, found: dict[str, dict]) -> None:
    default = _default(event)
    found = {k: _brief(v) for k, v in found.items() if k in LANGUAGES}
    event.brief = found.get(default) or _brief(event.brief)
    event.briefs = {
        lang: brief for lang, brief in found.items() if lang != default and any(brief.values())
    }


def store_questions(event: Event, questions: list[dict]) -> None:
    """Store questions given with ``translations`` for every language (the default one's
    text becomes the base; with none, the base stays as it was)."""
    default = _default(event)
    stored = []
    for q in questions:
        translations = {
            lang: {"label": t["label"], "options": list(t.get("options") or [])}
            for lang, t in (q.get("translations") or {}).items()
            if lang in LANGUAGES and (t or {}).get("label")
        }
        own = translations.pop(default, None) or {
            "label": q.get("label", ""),
            "options": list(q.get("options") or []),
        }
        row = {
            "id": q["id"],
            "label": own["label"],
            "type": q.get("type", "text"),
            "options": own["options"],
        }
        if translations:
            row["translations"] = translations
        stored.append(row)
    event.questions = stored


# --- in mails -------------------------------------------------------------------------


def answer_rows(event: Event | None, answers: dict | None, language: str | None) -> list:
    """``[(question label, answer)]`` in ``language``, in the event's question order;
    a choice shows its option in that language, yes/no the word in the current locale."""
    from flask_babel import gettext

    answers = answers or {}
    rows = []
    for question in (event.questions or []) if event else []:
        if question["id"] not in answers or answers[question["id"]] in (None, ""):
            continue
        shown = question_in(question, language)
        value = answers[question["id"]]
        if shown["type"] == "yesno" or isinstance(value, bool):
            text = gettext("yes") if value in (True, "yes") else gettext("no")
        elif shown["type"] == "choice" and value in shown["options"]:
            text = shown["option_labels"][shown["options"].index(value)]
        else:
            text = str(value)
        rows.append((shown["label"], text))
    return rows


def agreed_consent(event: Event | None, stored: str, language: str | None) -> str:
    """The consent text a lead agreed to, in ``language`` when it is one of the event's
    own texts (the booth may have shown another language's version)."""
    if event is None:
        return stored
    texts = consent_texts(event)
    if not stored or stored in texts.values() or stored == event.consent_text:
        return texts.get(language or "") or stored or event.consent_text or ""
    return stored
