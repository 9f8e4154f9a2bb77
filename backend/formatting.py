"""Numbers and money for the reader: Babel formatting per page language, and the parser
for money typed into forms.

Pages format every amount with the jinja filters ``money`` and ``number`` registered
here ("1 200 000,00 ₽" in Russian, "€1,200,000.00" in English); forms read amounts with
``parse_money``, which takes what people type in either language ("500 000",
"500,000.50", "500 000,50").
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, has_app_context
from flask_babel import get_locale

# Spaces people and spreadsheets put between digit groups: space, no-break space, narrow
# no-break space, thin space, and the Swiss apostrophe.
_GROUP_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")
_MONEY_TEXT = re.compile(r"^[+-]?(\d+([.,]\d+)*)?([.,]\d*)?$")


def _locale() -> str:
    locale = get_locale() if has_app_context() else None
    if locale:
        return str(locale)
    return current_app.config.get("DEFAULT_LANGUAGE", "en") if has_app_context() else "en"


def format_number(value, digits: int | None = None, group: bool = True) -> str:
    """A number with the locale's grouping and decimal sign (``digits`` fixes the decimals)."""
    if value is None:
        return ""
    if digits is None and group:
        return babel_numbers.format_decimal(value, locale=_locale())
    digits = 0 if digits is None else digits
    pattern = ("#,##0" if group else "0") + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(
        round(Decimal(str(value)), digits), format=pattern, locale=_locale()
    )


def format_compact(value) -> str:
    """A chart's short label for a large number in the page's language: "1.4M", "45K" in
    English, "1,4 млн", "45 тыс." in Russian; below 10,000 the whole number, grouped."""
    if abs(value) >= 10_000:
        return babel_numbers.format_compact_decimal(value, locale=_locale(), fraction_digits=1)
    return format_number(value, 0)


def format_day(value: str) -> str:
    """A chart's short label for an ISO day ("2026-12-07"): "Dec 7", "7 дек."."""
    day = date.fromisoformat(value[:10])
    return babel_dates.format_skeleton("MMMd", day, locale=_locale())


def format_money(value, currency: str | None = None, digits: int | None = None) -> str:
    """An amount of money in ``currency`` per the page's locale ("1 200 000,00 ₽",
    "€1,200,000.00"); ``digits`` fixes the decimals (default: the currency's own).

    A currency without a symbol in the locale keeps its code, spaced from the digits
    ("RUB 1,200,000.00" rather than Babel's "RUB1,200,000.00"). No currency: a plain number.
    """
    if value is None:
        return ""
    if not currency:
        return format_number(value, digits)
    locale = _locale()
    currency = currency.upper()
    if digits is None:
        text = babel_numbers.format_currency(value, currency, locale=locale)
    else:
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
        pattern = pattern.replace("#,##0.00", "#,##0" + ("." + "0" * digits if digits else ""))
        text = babel_numbers.format_currency(
            round(Decimal(str(value)), digits), currency, format=pattern,
            locale=locale, currency_digits=False,
        )  # fmt: skip
    # CLDR's currency spacing: a letter symbol never touches a digit.
    return re.sub(r"(?<=[A-Z]{3})(?=[\d-])|(?<=\d)(?=[A-Z]{3})", "\u00a0", text)


def parse_money(text: str | None) -> Decimal | None:
    """An amount typed in a form, in English or Russian writing: "500 000", "500,000.50",
    "500 000,50", "1.200.000,50". Blank gives None.

    With both "," and "." the later one is the decimal sign; a lone sign followed by
    exactly three digits groups thousands ("500,000"), otherwise it is the decimal sign
    ("1,5", "12.75"). Raises ValueError when the text is not an amount.
    """
    if text is None:
        return None
    cleaned = _GROUP_SPACES.sub("", str(text))
    if not cleaned:
        return None
    if not _MONEY_TEXT.match(cleaned) or not any(ch.isdigit() for ch in cleaned):
        raise ValueError("not an amount")
    commas, dots = cleaned.count(","), cleaned.count(".")
    if commas and dots:
        decimal_sign = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif commas + dots == 1:
        sign = "," if commas else "."
        whole, _, fraction = cleaned.partition(sign)
        grouping = len(fraction) == 3 and whole.lstrip("+-") not in ("", "0")
        decimal_sign = None if grouping else sign
    else:
        decimal_sign = None  # "1,200,000" or "1.200.000": only grouping
    group_sign = {",": ".", ".": ","}.get(decimal_sign or "")
    if group_sign:
        cleaned = cleaned.replace(group_sign, "")
    if decimal_sign is None:
        cleaned = cleaned.replace(",", "").replace(".", "")
    else:
        whole, _, fraction = cleaned.rpartition(decimal_sign)
        if decimal_sign in whole:
            raise ValueError("not an amount")
        cleaned = whole.replace(",", "").replace(".", "") + "." + fraction
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc


def money_field(value):
    """A form's money field for a schema: parsed when it reads as an amount, else left as
    typed so the schema reports it ("must be a number")."""
    if value is None or isinstance(value, Decimal | int | float):
        return value
    try:
        amount = parse_money(value)
    except ValueError:
        return value
    return None if amount is None else str(amount)


def init_formatting(app: Flask) -> None:
    """Register the ``money`` and ``number`` filters."""
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["money"] = format_money
