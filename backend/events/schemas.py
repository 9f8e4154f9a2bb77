from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from backend.events.templates import placeholder_problems
from backend.i18n import LANGUAGES

Short = Annotated[str, StringConstraints(max_length=200)]
Long = Annotated[str, StringConstraints(max_length=20_000)]


def _known_placeholders(text: str) -> str:
    problems = placeholder_problems(text)
    if problems:
        raise ValueError(f"unknown or malformed placeholder: {', '.join(problems)}")
    return text


# Mail texts: only the documented placeholders (events.templates.PLACEHOLDERS); anything
# else in braces is refused before saving rather than sent as typed.
Subject = Annotated[str, StringConstraints(max_length=300), AfterValidator(_known_placeholders)]
MailText = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_known_placeholders)]
# The languages mails and forms come in (i18n.LANGUAGES).
Language = Literal[tuple(LANGUAGES)]
PLACEHOLDER_HELP = (
    "Placeholders: {first_name}, {company}, {event}, {event_dates}, {visit_date}, "
    "{office_name}, {office_phone}, {office_email}, {offer}"
)


class Brief(BaseModel):
    """What marketing promised the visitor; sales sees it beside every lead."""

    offer: Long = ""
    promo_conditions: Long = ""
    talking_points: Long = ""


Option = Annotated[str, StringConstraints(max_length=200)]
ConsentText = Annotated[str, StringConstraints(max_length=4_000)]


class QuestionText(BaseModel):
    """A question's words in one language; options in the same order as the base's."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    options: list[Option] = Field(default_factory=list, max_length=50)


class Question(BaseModel):
    id: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\w-]+$")]
    label: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="In the event's default language"
    )
    type: Literal["text", "choice", "yesno"] = "text"
    options: list[Option] = Field(default_factory=list, max_length=50)
    translations: dict[Language, QuestionText] = Field(
        default_factory=dict,
        description="Label and options by language; a language not given shows the base. "
        "The default language's entry is the base itself.",
    )

    @field_validator("translations")
    @classmethod
    def options_line_up(cls, translations, info):
        options = info.data.get("options") or []
        for lang, text in translations.items():
            if text.options and len(text.options) != len(options):
                raise ValueError(
                    f"{lang}: give as many options as the question has ({len(options)})"
                )
        return translations


class MailTemplate(BaseModel):
    """An event's mail texts in one language; a blank text uses the product's wording."""

    model_config = ConfigDict(extra="forbid")

    autoresponder_subject: Subject = Field(
        "", description="The visitor's mail. " + PLACEHOLDER_HELP
    )
    autoresponder_body: MailText = ""
    office_notice_subject: Subject = Field(
        "", description='The office\'s new-lead notice (blank: "New lead: …")'
    )
    office_notice_body: MailText = Field(
        "", description="A note for sales above the lead in the office notice"
    )


class MailTemplateOut(BaseModel):
    """Stored mail texts as they are (texts saved before the placeholder check included)."""

    autoresponder_subject: str = ""
    autoresponder_body: str = ""
    office_notice_subject: str = ""
    office_notice_body: str = ""


class EventFields(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    venue_city: Short | None = None
    venue_country: Annotated[str, StringConstraints(max_length=100)] | None = None
    venue_latitude: float | None = Field(None, ge=-90, le=90)
    venue_longitude: float | None = Field(None, ge=-180, le=180)
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    cost: Decimal | None = Field(None, ge=0, le=Decimal("1e12"), decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    brief: Brief | None = None
    autoresponder_subject: Subject | None = Field(
        None, description="The autoresponder subject in the event's default language"
    )
    autoresponder_body: MailText | None = Field(
        None, description="The autoresponder body in the event's default language"
    )
    mail_templates: dict[Language, MailTemplate] | None = Field(
        None,
        description="Mail texts by language; each language given replaces that language's "
        "texts (all blank: removed). The flat autoresponder fields, when also given, win "
        "for the default language.",
    )
    questions: list[Question] | None = Field(None, max_length=50)
    consent_text: ConsentText | None = Field(
        None, description="The consent text in the event's default language"
    )
    consent_texts: dict[Language, ConsentText] | None = Field(
        None,
        description="The consent text by language; each language given replaces that "
        "language's text (blank: removed). consent_text, when also given, wins for the "
        "default language.",
    )
    briefs: dict[Language, Brief] | None = Field(
        None,
        description="The brief by language (as consent_texts); brief, when also given, is "
        "the default language's.",
    )
    feedback_sample_size: int | None = Field(None, ge=0, le=1000)
    language: Language | None = Field(
        None, description="The default language of the visitor form and of the mails"
    )

    @field_validator("questions")
    @classmethod
    def unique_question_ids(cls, questions):
        if questions is not None:
            ids = [q.id for q in questions]
            if len(ids) != len(set(ids)):
                raise ValueError("question ids must be unique")
        return questions


class EventIn(EventFields):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class EventPatch(EventFields):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class EventOut(BaseModel):
    id: int
    name: str
    venue_city: str
    venue_country: str
    venue_latitude: float | None
    venue_longitude: float | None
    timezone: str
    starts_on: date | None
    ends_on: date | None
    cost: Decimal
    currency: str
    brief: Brief
    briefs: dict[str, Brief]
    autoresponder_subject: str
    autoresponder_body: str
    mail_templates: dict[str, MailTemplateOut]
    questions: list[Question]
    consent_text: str
    consent_texts: dict[str, str]
    feedback_sample_size: int
    language: str
    join_url: str | None = None
    visitor_url: str | None = None


class EventListOut(BaseModel):
    items: list[EventOut]


class StaffIn(BaseModel):
    user_id: int


class JoinIn(BaseModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class JoinOut(BaseModel):
    event: EventOut


class PublicEvent(BaseModel):
    name: str
    venue_country: str
    consent_text: str
    consent_texts: dict[str, str]
    questions: list[Question]
    language: str


class PublicEventOut(BaseModel):
    event: PublicEvent


class OfficeCard(BaseModel):
    name: str
    email: str
    phone: str
    city: str


class VisitorThanksOut(BaseModel):
    office: OfficeCard | None
