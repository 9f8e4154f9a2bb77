"""Web forms for events and the planner: form fields in, schema dicts out."""

from __future__ import annotations

from backend.events.forms import (
    content_values,
    parse_content_form,
    parse_questions,
    parse_template_form,
    question_rows,
    template_values,
)
from backend.events.models import Event
from backend.formatting import money_field
from backend.rates.services import reporting_currency

TEXT_FIELDS = (
    "name", "venue_city", "venue_country", "timezone", "currency",
    "autoresponder_subject", "autoresponder_body", "language",
)  # fmt: skip
OPTIONAL_FIELDS = (
    "venue_latitude", "venue_longitude", "starts_on", "ends_on", "cost", "feedback_sample_size",
)  # fmt: skip
BRIEF_FIELDS = ("offer", "promo_conditions", "talking_points")


class FormError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.message = message
        self.fields = [{"field": field, "message": message}]


def event_values(event: Event | None) -> dict:
    """The form's initial values for ``event`` (or a new event)."""
    if event is None:
        return {
            "currency": reporting_currency(),
            "timezone": "UTC",
            "feedback_sample_size": "20",
            "language": "en",
            **content_values(None),
        }
    values = {name: getattr(event, name) for name in TEXT_FIELDS + OPTIONAL_FIELDS}
    values = {k: "" if v is None else str(v) for k, v in values.items()}
    values.update(template_values(event))
    values.update(content_values(event))
    return values


def form_values(form) -> dict:
    """A posted form's values, to show it again with its errors."""
    values = form.to_dict()
    values["question_rows"] = question_rows(form)
    return values


def parse_event_form(form, event: Event | None = None) -> dict:
    """Turn the posted form into the fields of EventIn / EventPatch (blank = unset)."""
    data: dict = {}
    for name in TEXT_FIELDS:
        if name in form:
            data[name] = form[name].strip()
    for name in ("venue_country", "timezone", "currency", "language", "consent_text"):
        if data.get(name) == "":
            data.pop(name)
    for name in OPTIONAL_FIELDS:
        if name in form:
            data[name] = form[name].strip() or None
    if data.get("cost") is not None:
        data["cost"] = money_field(data["cost"])  # "500 000", "500,000.50", "500 000,50"
    # The flat brief and consent fields (the default language's) are the API's; the form
    # has one block per language.
    if any(name in form for name in BRIEF_FIELDS):
        data["brief"] = {name: form.get(name, "").strip() for name in BRIEF_FIELDS}
    if form.get("consent_text", "").strip():
        data["consent_text"] = form["consent_text"].strip()
    if "questions-editor" in form:  # the editor was on the page: its rows are the questions
        default = data.get("language") or (event.language if event else None) or "en"
        data["questions"] = parse_questions(form, default)
    data.update(parse_template_form(form))
    data.update(parse_content_form(form))
    return data


def parse_plan_form(form) -> dict:
    data: dict = {"revenue_target": money_field(form.get("revenue_target", "").strip() or None)}
    if form.get("event_id"):
        data["event_id"] = form["event_id"]
    if form.get("currency", "").strip():
        data["currency"] = form["currency"].strip()
    return data
