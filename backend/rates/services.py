"""Exchange rates: imports (the Central Bank of Russia's daily XML, a plain CSV), the
install's reporting currency, and conversion at the rate of an amount's own date.

A rate holds for its day and every later day until the next one ("the nearest earlier
rate"); an amount dated before the first rate of its currency has no rate. Conversion
takes, in order: the same currency; a rate straight into the reporting currency; the
inverse of a rate from the reporting currency; a cross through a common quote (the CBR's
roubles: EUR → RUB ← USD gives EUR → USD).
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from flask import current_app
from sqlalchemy import delete, func, select

from backend.admin.models import SiteSetting
from backend.db_types import utcnow
from backend.errors import ApiError
from backend.extensions import db
from backend.rates.models import ExchangeRate

CURRENCY = re.compile(r"^[A-Z]{3}$")
ONE, CENT = Decimal(1), Decimal("0.01")
CBR_QUOTE = "RUB"
REPORTING_CURRENCY_KEY = "reporting_currency"  # a SiteSetting: the admin's choice


class RatesFileError(ValueError):
    """A rates file that cannot be read; the message says where and why."""


# --- the reporting currency ----------------------------------------------------------


def reporting_currency() -> str:
    """The currency reports sum money in: the admin's choice, else REPORTING_CURRENCY."""
    chosen = db.session.get(SiteSetting, REPORTING_CURRENCY_KEY)
    return (chosen.value if chosen else "") or current_app.config.get("REPORTING_CURRENCY", "RUB")


def set_reporting_currency(currency: str) -> str:
    """Make ``currency`` the reporting currency (flushes). Raises ApiError for a code that
    is not three letters."""
    code = (currency or "").strip().upper()
    if not CURRENCY.match(code):
        raise ApiError(
            422, "invalid_currency", "A currency is three letters, such as RUB or EUR.",
            [{"field": "reporting_currency", "message": "must be three letters"}],
        )  # fmt: skip
    setting = db.session.get(SiteSetting, REPORTING_CURRENCY_KEY)
    if setting is None:
        setting = SiteSetting(key=REPORTING_CURRENCY_KEY)
        db.session.add(setting)
    setting.value, setting.source = code, "admin"
    db.session.flush()
    return code


# --- imports -------------------------------------------------------------------------


@dataclass
class ParsedRate:
    day: date
    currency: str
    quote: str
    rate: Decimal


def _decimal(text: str | None, where: str) -> Decimal:
    try:
        value = Decimal(
            (text or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        )
    except InvalidOperation:
        raise RatesFileError(f"{where}: {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise RatesFileError(f"{where}: a rate must be above zero")
    return value


def parse_cbr_xml(data: bytes) -> list[ParsedRate]:
    """Rates from the CBR's daily XML (``ValCurs Date="dd.mm.yyyy"`` with ``Valute``
    entries of ``CharCode``, ``Nominal`` and a comma-decimal ``Value`` in roubles per
    ``Nominal`` units). Raises RatesFileError when the file is not in that format.

    A document type declaration is refused: the bank's files have none, and entities
    are how XML files blow up (billion laughs) or reach for other files.
    """
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise RatesFileError("XML with a DOCTYPE or entities is not accepted")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise RatesFileError(f"not XML: {exc}") from None
    if root.tag != "ValCurs":
        raise RatesFileError("not the Central Bank of Russia's format (no ValCurs)")
    try:
        day = datetime.strptime(root.get("Date", ""), "%d.%m.%Y").date()
    except ValueError:
        raise RatesFileError(f"ValCurs Date {root.get('Date')!r} is not dd.mm.yyyy") from None
    rates = []
    for n, valute in enumerate(root.iter("Valute"), 1):
        code = (valute.findtext("CharCode") or "").strip().upper()
        where = f"Valute {n} ({code or 'no CharCode'})"
        if not CURRENCY.match(code):
            raise RatesFileError(f"{where}: CharCode must be three letters")
        nominal = _decimal(valute.findtext("Nominal") or "1", where)
        value = _decimal(valute.findtext("Value"), where)
        rates.append(ParsedRate(day, code, CBR_QUOTE, value / nominal))
    if not rates:
        raise RatesFileError("the file has no Valute entries")
    return rates


def parse_rates_csv(text: str, quote: str) -> list[ParsedRate]:
    """Rates from a CSV with the header ``date,currency,rate_to_reporting`` (dates as
    YYYY-MM-DD; the rate is what one unit is worth in ``quote``, the reporting currency).
    Raises RatesFileError naming the first bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    wanted = {"date", "currency", "rate_to_reporting"}
    if not reader.fieldnames or not wanted <= {f.strip() for f in reader.fieldnames}:
        raise RatesFileError("the CSV header must be date,currency,rate_to_reporting")
    rates = []
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        where = f"line {reader.line_num}"
        if not any(row.values()):
            continue
        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            raise RatesFileError(f"{where}: date {row['date']!r} is not YYYY-MM-DD") from None
        code = row["currency"].upper()
        if not CURRENCY.match(code):
            raise RatesFileError(f"{where}: currency {row['currency']!r} is not three letters")
        rates.append(ParsedRate(day, code, quote, _decimal(row["rate_to_reporting"], where)))
    if not rates:
        raise RatesFileError("the CSV has no rates")
    return rates


def parse_rates_file(data: bytes, filename: str = "") -> list[ParsedRate]:
    """Either format, told apart by content (an XML declaration or ``<ValCurs``)."""
    head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or filename.lower().endswith(".xml"):
        return parse_cbr_xml(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RatesFileError("the CSV must be UTF-8") from None
    return parse_rates_csv(text, reporting_currency())


def store_rates(rates: Iterable[ParsedRate], source: str) -> int:
    """Insert or replace the rates (one per currency, quote and day); flushes. Returns
    how many were stored."""
    rates = list({(r.currency, r.quote, r.day): r for r in rates}.values())
    for r in rates:
        db.session.execute(
            delete(ExchangeRate).where(
                ExchangeRate.currency == r.currency,
                ExchangeRate.quote == r.quote,
                ExchangeRate.day == r.day,
            )
        )
    db.session.add_all(
        ExchangeRate(day=r.day, currency=r.currency, quote=r.quote, rate=r.rate, source=source)
        for r in rates
    )
    db.session.flush()
    return len(rates)


def import_rates(data: bytes, filename: str = "") -> dict:
    """Parse and store a rates file (CBR XML or CSV); flushes. Returns ``{"rates": n,
    "days": [first, last], "source": "cbr" | "csv"}``. Raises RatesFileError."""
    rates = parse_rates_file(data, filename)
    source = "cbr" if rates[0].quote == CBR_QUOTE and data.lstrip()[:1] == b"<" else "csv"
    stored = store_rates(rates, source)
    days = sorted(r.day for r in rates)
    return {"rates": stored, "days": [days[0], days[-1]], "source": source}


def latest_rates(limit: int = 200) -> list[dict]:
    """Each currency's latest rate per quote, for the admin page."""
    latest = (
        select(ExchangeRate.currency, ExchangeRate.quote, func.max(ExchangeRate.day).label("day"))
        .group_by(ExchangeRate.currency, ExchangeRate.quote)
        .subquery()
    )
    rows = db.session.execute(
        select(ExchangeRate.currency, ExchangeRate.quote, ExchangeRate.day, ExchangeRate.rate,
               ExchangeRate.source)
        .join(latest, (latest.c.currency == ExchangeRate.currency)
              & (latest.c.quote == ExchangeRate.quote) & (latest.c.day == ExchangeRate.day))
        .order_by(ExchangeRate.currency, ExchangeRate.quote)
        .limit(limit)
    ).mappings()  # fmt: skip
    return [dict(row) for row in rows]


def rate_count() -> int:
    return db.session.scalar(select(func.count(ExchangeRate.id))) or 0


# --- conversion ----------------------------------------------------------------------


@dataclass
class Series:
    days: list[date] = field(default_factory=list)
    rates: list[Decimal] = field(default_factory=list)

    def on(self, day: date) -> Decimal | None:
        """The rate in force on ``day``: the nearest earlier (or same-day) one."""
        index = bisect_right(self.days, day)
        return self.rates[index - 1] if index else None


class Converter:
    """Converts amounts into one currency at the rate of each amount's date.

    Reads nothing while every amount is already in the target currency, and each
    (currency, quote) series once, on first use, so a report converting a few hundred
    grouped sums reads the rates table a handful of times.
    """

    def __init__(self, target: str | None = None):
        self.target = (target or reporting_currency()).upper()
        self._series: dict[tuple[str, str], Series] = {}
        self._quotes: dict[str, list[str]] = {}
        self._cache: dict[tuple[str, date], Decimal | None] = {}

    def _quotes_of(self, currency: str) -> list[str]:
        """The currencies ``currency`` has rates into (an index range of the unique key)."""
        if currency not in self._quotes:
            self._quotes[currency] = list(
                db.session.scalars(
                    select(ExchangeRate.quote)
                    .where(ExchangeRate.currency == currency)
                    .distinct()
                    .order_by(ExchangeRate.quote)
                )
            )
        return self._quotes[currency]

    def _rate(self, currency: str, quote: str, day: date) -> Decimal | None:
        if quote not in self._quotes_of(currency):
            return None
        key = (currency, quote)
        if key not in self._series:
            series = Series()
            for d, r in db.session.execute(
                select(ExchangeRate.day, ExchangeRate.rate)
                .where(ExchangeRate.currency == currency, ExchangeRate.quote == quote)
                .order_by(ExchangeRate.day)
            ):
                series.days.append(d)
                series.rates.append(Decimal(r))
            self._series[key] = series
        return self._series[key].on(day)

    def rate(self, currency: str | None, day: date | datetime | None) -> Decimal | None:
        """What one unit of ``currency`` was worth in the target currency on ``day``
        (today when None), or None when no rate covers it."""
        currency = (currency or self.target).upper()
        if currency == self.target:
            return ONE
        if isinstance(day, datetime):
            day = day.date()
        day = day or utcnow().date()
        key = (currency, day)
        if key not in self._cache:  # a report converts many sums of the same day
            self._cache[key] = self._lookup(currency, day)
        return self._cache[key]

    def _lookup(self, currency: str, day: date) -> Decimal | None:
        simple = self._simple(currency, self.target, day)
        if simple is not None:
            return simple
        for quote in self._quotes_of(currency):
            there = self._rate(currency, quote, day)
            onward = self._simple(quote, self.target, day) if there is not None else None
            if onward is not None:
                return there * onward
        return None

    def _simple(self, currency: str, target: str, day: date) -> Decimal | None:
        if currency == target:
            return ONE
        direct = self._rate(currency, target, day)
        if direct is not None:
            return direct
        inverse = self._rate(target, currency, day)
        return None if inverse is None else 1 / inverse

    def convert(self, amount, currency: str | None, day: date | datetime | None) -> Decimal | None:
        """``amount`` of ``currency`` in the target currency at ``day``'s rate, or None."""
        if amount is None:
            return None
        rate = self.rate(currency, day)
        if rate is None:
            return None
        return amount if rate is ONE else (Decimal(amount) * rate).quantize(CENT)


@dataclass
class Total:
    """A sum converted into one currency, with what could not be converted kept apart."""

    amount: Decimal = Decimal(0)
    deals: int = 0
    missing_deals: int = 0
    # Amounts left unconverted, per their own currency.
    missing: dict[str, Decimal] = field(default_factory=dict)
    # Every amount added, converted or not, per its own currency.
    originals: dict[str, Decimal] = field(default_factory=dict)

    def add(self, converter: Converter, amount, currency, day, deals: int = 1) -> None:
        if amount is None:
            return
        code = (currency or converter.target).upper()
        amount = amount if isinstance(amount, Decimal) else Decimal(amount)
        _add_to(self.originals, code, amount)
        converted = converter.convert(amount, code, day)
        if converted is None:
            _add_to(self.missing, code, amount)
            self.missing_deals += deals
        else:
            self.amount += converted
            self.deals += deals

    def merge(self, other: Total) -> None:
        self.amount += other.amount
        self.deals += other.deals
        self.missing_deals += other.missing_deals
        for code, value in other.missing.items():
            _add_to(self.missing, code, value)
        for code, value in other.originals.items():
            _add_to(self.originals, code, value)

    def not_converted(self) -> dict:
        """``{"deals": n, "amounts": [{"currency", "amount"}]}`` for pages and the API."""
        return {
            "deals": self.missing_deals,
            "amounts": [
                {"currency": code, "amount": float(value)}
                for code, value in sorted(self.missing.items())
            ],
        }


def _add_to(sums: dict[str, Decimal], code: str, value: Decimal) -> None:
    sums[code] = sums.get(code, Decimal(0)) + value
