"""The event form's texts per language: mail texts (``ru-autoresponder_body``), consent
and brief (``ru-consent_text``, ``ru-offer``) and the question editor's rows."""

from __future__ import annotations

import re

from backend.events.content import briefs, consent_texts, questions_view
from backend.events.models import Event
from backend.events.templates import TEMPLATE_FIELDS, templates_by_language
from backend.i18n import LANGUAGES


def field_name(language: str, field: str) -> str:
    return f"{language}-{field}"


def template_values(event: Event | None) -> dict[str, str]:
    """The form's initial values of every language's mail texts."""
    templates = templates_by_language(event)
    return {
        field_name(lang, field): templates.get(lang, {}).get(field, "")
        for lang in LANGUAGES
        for field in TEMPLATE_FIELDS
    }


def parse_template_form(form) -> dict:
    """``{"mail_templates": {language: {field: text}}}`` for the languages the form posted."""
    templates = {}
    for lang in LANGUAGES:
        names = {field: field_name(lang, field) for field in TEMPLATE_FIELDS}
        if any(name in form for name in names.values()):
            templates[lang] = {field: form.get(name, "").strip() for field, name in names.items()}
    return {"mail_templates": templates} if templates else {}


# --- questions, consent and brief per language ----------------------------------------

BRIEF_FIELDS = ("offer", "promo_conditions", "talking_points")
QUESTION_TYPES = ("text", "choice", "yesno")
_QUESTION_FIELD = re.compile(r"^q-(\d+)-type$")


def content_values(event: Event | None) -> dict:
    """The form's initial consent texts and briefs (``ru-offer``) and question rows."""
    values: dict = {"question_rows": questions_view(event) if event else []}
    texts = consent_texts(event) if event else {}
    found = briefs(event) if event else {}
    for lang in LANGUAGES:
        values[field_name(lang, "consent_text")] = texts.get(lang, "")
        for name in BRIEF_FIELDS:
            values[field_name(lang, name)] = found.get(lang, {}).get(name, "")
    return values


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "_", text.strip().lower()).strip("_")[:40]


def question_rows(form) -> list[dict]:
    """The question editor's rows in the order posted (``q-0-type``, ``q-0-label-ru``,
    ``q-0-options-ru`` one option a line, hidden ``q-0-id``), each with ``translations``
    for every language given; rows with no label in any language are left out."""
    rows = []
    numbers = sorted(int(m[1]) for key in form if (m := _QUESTION_FIELD.match(key)))
    for n in numbers:
        translations = {}
        for lang in LANGUAGES:
            label = form.get(f"q-{n}-label-{lang}", "").strip()
            options = [o.strip() for o in form.get(f"q-{n}-options-{lang}", "").splitlines()]
            if label:
                translations[lang] = {"label": label, "options": [o for o in options if o]}
        if translations:
            rows.append(
                {
                    "id": form.get(f"q-{n}-id", "").strip(),
                    "type": form.get(f"q-{n}-type", "text"),
                    "translations": translations,
                }
            )
    return rows


def parse_questions(form, default: str) -> list[dict]:
    """The posted questions as the API takes them: label and options in ``default`` (else
    the first language written), every language in ``translations``; a new question's id
    is made from its label."""
    questions, taken = [], set()
    for number, row in enumerate(question_rows(form), 1):
        translations = row["translations"]
        base = translations.get(default) or next(iter(translations.values()))
        if row["type"] != "choice":
            translations = {k: {**t, "options": []} for k, t in translations.items()}
            base = {**base, "options": []}
        qid = row["id"] or _slug(base["label"]) or f"q{number}"
        while qid in taken:
            qid = f"{qid}_{number}"
        taken.add(qid)
        questions.append(
            {
                "id": qid,
                "type": row["type"] if row["type"] in QUESTION_TYPES else "text",
                "label": base["label"],
                "options": base["options"],
                "translations": translations,
            }
        )
    return questions


def parse_content_form(form) -> dict:
    """``consent_texts`` and ``briefs`` for the languages the form posted."""
    data: dict = {}
    texts = {
        lang: form[field_name(lang, "consent_text")].strip()
        for lang in LANGUAGES
        if field_name(lang, "consent_text") in form
    }
    if texts:
        data["consent_texts"] = texts
    found = {}
    for lang in LANGUAGES:
        names = {name: field_name(lang, name) for name in BRIEF_FIELDS}
        if any(n in form for n in names.values()):
            found[lang] = {name: form.get(n, "").strip() for name, n in names.items()}
    if found:
        data["briefs"] = found
    return data
