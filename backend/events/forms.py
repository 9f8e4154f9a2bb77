"""The event form's mail texts: one block of fields per language (``ru-autoresponder_body``)."""

from __future__ import annotations

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
