"""Exchange rates come in from the Central Bank of Russia's daily XML or a plain CSV,
through the CLI and the admin page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from sqlalchemy import select

from backend.extensions import db
from backend.rates.models import ExchangeRate
from backend.rates.services import Converter, reporting_currency
from tests.factories import make_user

CBR_FILE = Path(__file__).parent / "data" / "cbr_XML_daily_2026-12-03.xml"


def stored(currency: str, quote: str = "RUB") -> list[tuple[date, Decimal]]:
    return [
        (r.day, Decimal(r.rate).normalize())
        for r in db.session.scalars(
            select(ExchangeRate)
            .where(ExchangeRate.currency == currency, ExchangeRate.quote == quote)
            .order_by(ExchangeRate.day)
        )
    ]


def test_the_cbr_daily_xml_imports_through_the_cli_with_nominal_and_comma_decimals(runner):
    # The file is the bank's own format: windows-1251, one line, comma decimals.
    assert CBR_FILE.read_bytes().startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    result = runner.invoke(args=["rates", "import", str(CBR_FILE)])
    assert result.exit_code == 0, result.output
    assert "12 rates imported (2026-12-03 – 2026-12-03, cbr)" in result.output
    assert stored("EUR") == [(date(2026, 12, 3), Decimal("90.7413"))]
    assert stored("USD") == [(date(2026, 12, 3), Decimal("78.2284"))]
    # Nominal 100 yen cost 50,2566 roubles; 1,000 won 53,2171.
    assert stored("JPY") == [(date(2026, 12, 3), Decimal("0.502566"))]
    assert stored("KRW") == [(date(2026, 12, 3), Decimal("0.0532171"))]


def test_importing_the_same_day_again_replaces_its_rates(runner):
    runner.invoke(args=["rates", "import", str(CBR_FILE)])
    result = runner.invoke(args=["rates", "import", str(CBR_FILE)])
    assert result.exit_code == 0
    assert len(stored("EUR")) == 1


def test_a_csv_of_rates_to_the_reporting_currency_imports(runner, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(
        'date,currency,rate_to_reporting\n2026-11-02,EUR,91.5\n2026-11-03,EUR,"92,25"\n'
        "2026-11-03,USD,79.1\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["rates", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert reporting_currency() == "RUB"  # the default of the product's first market
    assert stored("EUR") == [
        (date(2026, 11, 2), Decimal("91.5")),
        (date(2026, 11, 3), Decimal("92.25")),
    ]


def test_a_bad_rates_file_is_refused_with_the_line_that_is_wrong(runner, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate_to_reporting\n2026-11-02,EURO,91.5\n")
    result = runner.invoke(args=["rates", "import", str(path)])
    assert result.exit_code != 0
    assert "line 2: currency 'EURO' is not three letters" in result.output
    assert db.session.scalar(select(ExchangeRate.id)) is None


def test_a_rate_holds_until_the_next_one_and_crosses_through_roubles(app):
    from backend.rates.services import ParsedRate, store_rates

    store_rates(
        [
            ParsedRate(date(2026, 11, 1), "EUR", "RUB", Decimal("100")),
            ParsedRate(date(2026, 11, 10), "EUR", "RUB", Decimal("120")),
            ParsedRate(date(2026, 11, 1), "USD", "RUB", Decimal("80")),
        ],
        "csv",
    )
    to_rub, to_eur = Converter("RUB"), Converter("EUR")
    assert to_rub.convert(10, "EUR", date(2026, 11, 9)) == Decimal("1000.00")  # nearest earlier
    assert to_rub.convert(10, "EUR", date(2026, 11, 10)) == Decimal("1200.00")
    assert to_rub.convert(10, "EUR", date(2026, 10, 31)) is None  # before the first rate
    assert to_eur.convert(1_200_000, "RUB", date(2026, 11, 5)) == Decimal("12000.00")
    assert to_eur.convert(100, "USD", date(2026, 11, 5)) == Decimal("80.00")  # USD→RUB→EUR
    assert to_eur.convert(5, "GBP", date(2026, 11, 5)) is None


def test_the_admin_imports_rates_and_changes_the_reporting_currency_on_the_rates_page(
    app, client, auth
):
    admin = make_user("admin", email="admin-rates@example.com")
    db.session.commit()
    auth.login(admin.email)
    page = client.get("/admin/rates")
    assert page.status_code == 200 and "RUB" in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/admin/rates/import",
        data={"csrf_token": token, "file": (BytesIO(CBR_FILE.read_bytes()), "XML_daily.xml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "12 rates imported (2026-12-03 – 2026-12-03)." in html
    assert "90.7413 RUB" in html
    response = client.post(
        "/admin/rates/currency",
        data={"csrf_token": token, "reporting_currency": "eur"},
        follow_redirects=True,
    )
    assert "Reports now sum money in EUR." in response.get_data(as_text=True)
    assert reporting_currency() == "EUR"


def test_xml_with_entities_is_refused_before_parsing(runner, tmp_path):
    path = tmp_path / "laughs.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        '<ValCurs Date="03.12.2026"><Valute><CharCode>EUR</CharCode><Nominal>1</Nominal>'
        "<Value>&lol;</Value></Valute></ValCurs>"
    )
    result = runner.invoke(args=["rates", "import", str(path)])
    assert result.exit_code != 0
    assert "DOCTYPE or entities is not accepted" in result.output
