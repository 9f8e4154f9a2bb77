"""Languages: Flask-Babel with gettext catalogues in ``backend/translations``.

The language of a page is the user's profile language, else the one they picked with the
switcher (kept in the session), else the browser's ``Accept-Language``, else the instance
default. ``make i18n`` extracts and updates the catalogues; ``compile_catalogs`` turns the
``.po`` files into ``.mo`` files when they are stale (run by setup, tests and the image).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, has_app_context, has_request_context, request, session
from flask_babel import Babel, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_login import current_user
from jinja2 import pass_context
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from backend.formatting import format_number, init_formatting
from backend.routing.reasons import REASONS, reason_values

LANGUAGES = {"en": "English", "ru": "Русский"}
# Visitors from these countries get Russian mails when nobody chose a language for them
# (the booth app proposes the same); others get the event's default language.
RUSSIAN_MAIL_COUNTRIES = frozenset({"RU", "BY", "KZ", "KG"})


def mail_language_for_country(country: str | None) -> str | None:
    """The language a lead from ``country`` is mailed in when the capture named none:
    ``"ru"`` for Russia, Belarus, Kazakhstan and Kyrgyzstan, else None (the event's)."""
    return "ru" if (country or "").upper() in RUSSIAN_MAIL_COUNTRIES else None


TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()

# The product's stored words (statuses, ratings, kinds, flags) as pages show them. The
# database and the JSON API keep the English codes; ``{{ code | label("status") }}``.
LABELS = {
    "status": {
        "new": _l("new"),
        "contacted": _l("contacted"),
        "qualified": _l("qualified"),
        "won": _l("won"),
        "lost": _l("lost"),
        "stale": _l("stale"),
    },
    "rating": {
        "hot": _l("hot"),
        "warm": _l("warm"),
        "cold": _l("cold"),
        "unrated": _l("not rated"),
    },
    "touch": {
        "call": _l("call"),
        "email": _l("e-mail"),
        "meeting": _l("meeting"),
        "message": _l("message"),
        "note": _l("note"),
    },
    "next_step": {
        "call_back": _l("call back"),
        "send_offer": _l("send offer"),
        "meeting": _l("meeting"),
    },
    "flag": {
        "bad_email": _l("e-mail looks wrong"),
        "bad_phone": _l("phone looks wrong"),
        "bad_country": _l("country not recognised"),
        "bad_rating": _l("rating not understood"),
        "bad_coordinates": _l("coordinates not understood"),
        "bad_captured_at": _l("capture time not understood"),
        "location_unknown": _l("place unknown: routed by the venue"),
        "over_capacity": _l("office over its capacity"),
        "capacity_spill": _l("nearest office was full"),
        "coordinates_invalid": _l("coordinates invalid"),
        "feedback_requested": _l("marketing asks: good lead?"),
        "card_check": _l("check the card"),
    },
    "attachment": {
        "card_front": _l("card, front"),
        "card_back": _l("card, back"),
        "voice": _l("voice note"),
        "photo": _l("photo"),
    },
    "method": {
        "territory": _l("territory"),
        "nearest": _l("nearest"),
        "capacity_spill": _l("nearest office was full"),
        "fallback": _l("fallback"),
        "escalation": _l("escalation"),
        "handover": _l("handover"),
    },
    "verdict": {"good": _l("good"), "bad": _l("bad")},
    "feedback_reason": {
        "wrong_target": _l("Wrong target"),
        "no_budget": _l("No budget"),
        "student_or_job_seeker": _l("Student or job seeker"),
        "competitor": _l("Competitor"),
        "duplicate": _l("Duplicate"),
        "other": _l("Other"),
    },
    "message_kind": {
        "autoresponder": _l("autoresponder"),
        "office_notice": _l("office notice"),
        "sla_reminder": _l("SLA reminder"),
        "escalation": _l("escalation"),
        "reassigned": _l("reassigned"),
        "silence": _l("silence"),
        "quality_summary": _l("quality summary"),
        "order_shortfall": _l("order shortfall"),
        "next_steps": _l("overdue next steps"),
        "silence_alert": _l("no leads alert"),
        "order_alert": _l("lead order alert"),
        "webhook:lead.routed": _l("webhook: lead routed"),
        "webhook:lead.escalated": _l("webhook: lead escalated"),
        "webhook:lead.won": _l("webhook: lead won"),
        "telegram": _l("Telegram message"),
    },
    "source": {
        "staff": _l("booth staff"),
        "kiosk": _l("visitor's own form"),
        "badge": _l("badge scan"),
    },
    "role": {
        "admin": _l("admin"),
        "marketing": _l("marketing"),
        "office_manager": _l("office manager"),
        "office_rep": _l("sales rep"),
        "staff": _l("booth staff"),
    },
    "channel": {
        "email": _l("e-mail"),
        "webhook": _l("webhook"),
        "telegram": _l("Telegram"),
    },
    "message_status": {
        "pending": _l("pending"),
        "sending": _l("sending"),
        "sent": _l("sent"),
        "recorded": _l("recorded"),
        "failed": _l("failed"),
        "skipped": _l("skipped"),
    },
}


def label(code: str | None, kind: str, capital: bool = False) -> str:
    """The page's word for a stored code; unknown codes show with spaces for underscores.

    ``capital`` starts it with a capital letter (a tag or a cell standing alone, not a
    word inside a sentence): ``{{ lead.status | label("status", capital=True) }}``.
    """
    if code is None:
        return ""
    word = LABELS.get(kind, {}).get(code)
    word = str(word) if word is not None else str(code).replace("_", " ")
    return word[:1].upper() + word[1:] if capital else word


@pass_context
def _label_filter(context, code: str | None, kind: str, capital: bool = False) -> str:
    # Taking the context keeps Jinja from folding ``'new' | label('status')`` into the
    # compiled template in whatever language the first page that used it was in.
    return label(code, kind, capital)


def select_locale() -> Locale:
    """The request's language: the user's own, else the one chosen on the sign-in page
    (the session), else the browser's best match, else the instance default."""
    if not has_request_context():
        # Jobs and shell code format in the instance default (mails choose their own).
        return _babel_locale(current_app.config["DEFAULT_LANGUAGE"])
    user_language = getattr(current_user, "language", None) if current_user else None
    if user_language in LANGUAGES:
        return _babel_locale(user_language)
    if session.get("language") in LANGUAGES:
        return _babel_locale(session["language"])
    accepted = _best_match(request.headers.get("Accept-Language", ""))
    return _babel_locale(accepted or current_app.config["DEFAULT_LANGUAGE"])


# Every API call asks for its language (an office's name, a routing reason): parsing the
# same header and building the same Locale per request was most of that cost.
@lru_cache(maxsize=16)
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


@lru_cache(maxsize=512)
def _best_match(accept_language: str) -> str | None:
    return parse_accept_header(accept_language, LanguageAccept).best_match(LANGUAGES)


def _locale():
    return get_locale() or current_app.config.get("DEFAULT_LANGUAGE", "en")


def _zone(zone) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_datetime_in(value: datetime | None, zone=None, format: str = "medium") -> str:
    """``value`` (naive means UTC, as SQLite returns it) in ``zone``, per the page's locale.

    ``format`` is a Babel width ("short", "long", ...), "medium" (a medium date with a short
    time: "May 18, 2026, 8:00 PM", "18 мая 2026 г., 20:00") or a CLDR pattern such as
    ``"EEE dd MMM HH:mm"`` (names of days and months come out in the page's language).
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    locale = _locale()
    if format == "medium":
        local = value.astimezone(_zone(zone))
        return babel_dates.get_datetime_format("medium", locale=locale).format(
            babel_dates.format_time(local, "short", locale=locale),
            babel_dates.format_date(local, "medium", locale=locale),
        )
    return babel_dates.format_datetime(value, format, tzinfo=_zone(zone), locale=locale)


def zone_name(zone=None) -> str:
    """How pages name a time zone: its IANA name ("Europe/Moscow"), "UTC" for none."""
    return str(getattr(_zone(zone), "key", None) or "UTC")


def format_datetime_zoned(value: datetime | None, zone=None, format: str = "medium") -> str:
    """A moment in ``zone`` per the page's locale, followed by the zone's name, so every time
    says its zone: "2 мар. 2026 г., 12:30 Europe/Moscow", "Mar 2, 2026, 12:30 PM UTC"."""
    if value is None:
        return ""
    return format_datetime_in(value, zone, format) + " " + zone_name(zone)


def format_date_in(value: date | datetime | None, zone=None, format: str = "medium") -> str:
    """A date (or the local date of a datetime in ``zone``) per the page's locale."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # SQLite hands dates back as ISO text
        value = (
            datetime.fromisoformat(value)
            if "T" in value or " " in value
            else date.fromisoformat(value)
        )
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(_zone(zone)).date()
    return babel_dates.format_date(value, format, locale=_locale())


def format_percent(value, digits: int = 0) -> str:
    """A share (0.25) as a percentage per the page's locale ("25 %", "25%")."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return babel_numbers.format_percent(value, format=pattern, locale=_locale())


# Validation messages forms show beside a field: pydantic's and the services' English, in
# the reader's language. Patterns are tried in order; unknown messages show unchanged.
ERROR_TEXTS = [
    (re.compile(r"^Field required$"), _l("is required")),
    (re.compile(r"^is required$"), _l("is required")),
    (re.compile(r"^unknown country$"), _l("unknown country")),
    (re.compile(r"^unknown time zone$"), _l("unknown time zone")),
    (re.compile(r"^must not be before starts_on$"), _l("must not be before the start date")),
    (re.compile(r"^Input should be a valid (?:number|decimal|integer)"), _l("must be a number")),
    (re.compile(r"^Input should be a finite number$"), _l("must be a finite number")),
    (re.compile(r"^Input should be a valid date"), _l("must be a date (YYYY-MM-DD)")),
    (re.compile(r"^Input should be greater than or equal to (?P<n>\S+)$"), _l("must be at least %(n)s")),
    (re.compile(r"^Input should be greater than (?P<n>\S+)$"), _l("must be above %(n)s")),
    (re.compile(r"^Input should be less than or equal to (?P<n>\S+)$"), _l("must be at most %(n)s")),
    (re.compile(r"^String should have at least (?P<n>\d+) characters?$"), _l("must have at least %(n)s characters")),
    (re.compile(r"^String should have at most (?P<n>\d+) characters?$"), _l("must have at most %(n)s characters")),
    (re.compile(r"^line (?P<n>\d+): write id \| label \| type \| options$"), _l("line %(n)s: write id | label | type | options")),
    (re.compile(r"^Input should be (?P<n>'.*')$"), _l("must be one of: %(n)s")),
    (re.compile(r"^Value error, unknown or malformed placeholder: (?P<p>.+)$"),
     _l("unknown or malformed placeholder: %(p)s (it would be sent as typed)")),
]  # fmt: skip


def error_text(message: str | None) -> str:
    """A form error message in the page's language (unknown messages are shown as they are)."""
    message = str(message or "")
    for pattern, text in ERROR_TEXTS:
        match = pattern.match(message)
        if match:
            # "'en' or 'ru'" (pydantic's list of choices) becomes "'en', 'ru'".
            values = {k: v.replace("' or '", "', '") for k, v in match.groupdict().items()}
            return str(text) % values if values else str(text)
    return message


# Routing reasons are stored as a code and its parameters (``backend.routing.reasons``,
# where each code's English text is its message id); pages, mails and the API's
# ``reason_display`` show them in the reader's language.


def distance_text(km: float) -> str:
    """A distance as the page's language writes it, one decimal under 10 km ("0,4 км",
    "634 км"): the reasons' rule, for every distance a page shows beside one."""
    return str(_l("%(km)s km")) % {"km": format_number(km, 1 if km < 10 else 0)}


def _reason_none(name: str) -> str:
    # The word agrees with its noun in some languages.
    return str(_lp("city", "none") if name == "city" else _lp("country", "none"))


def office_name(office) -> str:
    """The office's name in the page's (or mail's) language where it has one (``names``),
    else its own name: "Новосибирск" for a Russian reader of "Novosibirsk office".
    ``office`` is an Office or a report's row (a mapping with ``code`` and ``name``, whose
    ``names`` are read once per request by code)."""
    if office is None:
        return ""
    if isinstance(office, Mapping):
        from backend.offices.models import office_names

        names = office.get("names") or office_names().get(office.get("code")) or {}
        return names.get(str(_locale())[:2]) or office.get("name") or ""
    names = getattr(office, "names", None) or {}
    return names.get(str(_locale())[:2]) or office.name


def _reason_quote(value: str) -> str:
    # What the visitor typed, in Russian quotation marks (English keeps the API's 'quotes').
    return f"«{value}»" if str(_locale()).startswith("ru") else repr(value)


def routing_reason(decision) -> str:
    """Why a lead went where it went, in the page's language, naming offices as the reader
    does. ``decision`` is anything with ``reason_code`` and ``reason_params`` (a stored
    decision, the engine's, the sweep's ``Reason``); one without a known code (an earlier
    version's text the conversion did not read) shows its stored ``reason`` as it is."""
    if decision is None:
        return ""
    code = getattr(decision, "reason_code", None) or ""
    if code not in REASONS:
        return str(getattr(decision, "reason", "") or "")
    return reason_text(code, offices_in_reader_words(getattr(decision, "reason_params", None)))


def reason_text(code: str, params: Mapping | None) -> str:
    """The reason ``code`` (one of ``REASONS``) with ``params`` as they are, in the page's
    language."""
    return gettext(REASONS[code]) % reason_values(
        params, distance_text, _reason_none, _reason_quote
    )


# The parameters of a reason that name an office: by its own name, as the engine and the
# hand-over wrote it.
_OFFICE_PARAMS = ("office", "full_office", "source")


def offices_in_reader_words(params: Mapping | None) -> Mapping | None:
    """``params`` with each office named as the reader reads it ("Москва" for a Russian
    reader of "Moscow office"), as the office's name beside the reason is."""
    named = [name for name in _OFFICE_PARAMS if isinstance((params or {}).get(name), str)]
    if not named or not has_app_context():
        return params
    from backend.offices.models import office_names_by_name

    by_name, language = office_names_by_name(), str(_locale())[:2]
    local = dict(params)
    for name in named:
        local[name] = (by_name.get(local[name]) or {}).get(language) or local[name]
    return local


def labels(kind: str, capital: bool = False) -> dict[str, str]:
    """Every code of ``kind`` with the page's word for it (for scripts that render rows)."""
    return {code: label(code, kind, capital) for code in LABELS.get(kind, {})}


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every stale ``messages.po`` under ``directory``; returns the files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


def init_i18n(app: Flask) -> None:
    app.config.setdefault("DEFAULT_LANGUAGE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["label"] = _label_filter
    app.jinja_env.filters["error_text"] = error_text
    app.jinja_env.filters["routing_reason"] = routing_reason
    app.jinja_env.filters["distance"] = distance_text
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.filters["datetime_in"] = format_datetime_in
    app.jinja_env.filters["date_in"] = format_date_in
    init_formatting(app)
    app.jinja_env.filters["datetime_zoned"] = format_datetime_zoned
    app.jinja_env.filters["office_name"] = office_name
    app.jinja_env.filters["percent"] = format_percent
