"""Web forms for events and the planner: form fields in, schema dicts out."""

from __future__ import annotations

from backend.events.forms import parse_template_form, template_values
from backend.events.models import Event
from backend.formatting import money_field
from backend.rates.services import reporting_currency

TEXT_FIELDS = (
    "name", "venue_city", "venue_country", "timezone", "currency",
    "autoresponder_subject", "autoresponder_body", "consent_text", "language",
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


def questions_text(questions: list[dict]) -> str:
    """Questions as lines of ``id | label | type | option, option``."""
    lines = []
    for q in questions or []:
        parts = [q["id"], q["label"], q.get("type", "text")]
        if q.get("options"):
            parts.append(", ".join(q["options"]))
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def parse_questions(text: str) -> list[dict]:
    """Parse ``id | label | type | options`` lines; raises FormError on a short line."""
    questions = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            raise FormError("questions", f"line {number}: write id | label | type | options")
        question = {
            "id": parts[0],
            "label": parts[1],
            "type": (parts[2] if len(parts) > 2 else "") or "text",
        }
        if len(parts) > 3 and parts[3]:
            question["options"] = [o.strip() for o in parts[3].split(",") if o.strip()]
        questions.append(question)
    return questions


def event_values(event: Event | None) -> dict:
    """The form's initial values for ``event`` (or a new event)."""
    if event is None:
        return {
            "currency": reporting_currency(),
            "timezone": "UTC",
            "feedback_sample_size": "20",
            "language": "en",
        }
    values = {name: getattr(event, name) for name in TEXT_FIELDS + OPTIONAL_FIELDS}
    values = {k: "" if v is None else str(v) for k, v in values.items()}
    for name in BRIEF_FIELDS:
        values[name] = (event.brief or {}).get(name, "")
    values["questions"] = questions_text(event.questions)
    values.update(template_values(event))
    return values


def parse_event_form(form) -> dict:
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
    data["brief"] = {name: form.get(name, "").strip() for name in BRIEF_FIELDS}
    data["questions"] = parse_questions(form.get("questions", ""))
    data.update(parse_template_form(form))
    return data


def parse_plan_form(form) -> dict:
    data: dict = {"revenue_target": money_field(form.get("revenue_target", "").strip() or None)}
    if form.get("event_id"):
        data["event_id"] = form["event_id"]
    if form.get("currency", "").strip():
        data["currency"] = form["currency"].strip()
    return data
