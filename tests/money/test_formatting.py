"""Numbers and money for the reader's language, and money typed the way people write it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask_babel import force_locale

from backend.extensions import db
from backend.formatting import format_money, format_number, parse_money
from backend.reports import svg
from tests.factories import make_event, make_office, make_user

NBSP = "\u00a0"


def test_russian_readers_see_spaces_between_thousands_a_decimal_comma_and_the_rouble_sign(app):
    with app.test_request_context(), force_locale("ru"):
        assert format_money(1_200_000, "RUB") == f"1{NBSP}200{NBSP}000,00{NBSP}₽"
        assert format_money(Decimal("24500.5"), "EUR") == f"24{NBSP}500,50{NBSP}€"
        assert format_number(1_200_000.5) == f"1{NBSP}200{NBSP}000,5"


def test_english_readers_see_commas_between_thousands_and_the_sign_first(app):
    with app.test_request_context(), force_locale("en"):
        assert format_money(1_200_000, "EUR") == "€1,200,000.00"
        # No rouble sign in English: the code, spaced from the digits.
        assert format_money(1_200_000, "RUB") == f"RUB{NBSP}1,200,000.00"
        assert format_money(5000, "EUR", 0) == "€5,000"


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("500 000", Decimal("500000")),
        ("500,000.50", Decimal("500000.50")),
        ("500 000,50", Decimal("500000.50")),
        (f"1{NBSP}200{NBSP}000,00", Decimal("1200000.00")),  # pasted from a Russian page
        ("1.200.000,50", Decimal("1200000.50")),
        ("12.75", Decimal("12.75")),
        ("1,5", Decimal("1.5")),
        ("7500", Decimal("7500")),
    ],
)
def test_money_inputs_accept_what_people_type(typed, amount):
    assert parse_money(typed) == amount


@pytest.mark.parametrize("typed", ["abc", "12,5,0.1.2", "5 000 €x", "--5"])
def test_money_inputs_refuse_what_is_not_an_amount(typed):
    with pytest.raises(ValueError):
        parse_money(typed)


def _csrf(client, url: str) -> str:
    return re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)
    ).group(1)


def test_the_event_form_takes_a_cost_written_the_russian_way(app, client, auth):
    user = make_user("marketing", email="cost@example.com")
    event = make_event(name="Cost Expo")
    db.session.commit()
    auth.login(user.email)
    url = f"/events/{event.id}/edit"
    response = client.post(url, data={"csrf_token": _csrf(client, url), "name": "Cost Expo",
                                      "cost": "1 500 000,50", "currency": "RUB"})  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(event)
    assert event.cost == Decimal("1500000.50")


def test_a_rep_marks_a_deal_won_typing_the_value_with_spaces(app, client, auth):
    office = make_office("MOW", working_days="1234567")
    rep = make_user("office_rep", office, name="Rita Rep", language="ru")
    event = make_event(name="Rouble Expo", currency="RUB")
    from tests.reports.conftest import make_lead

    lead = make_lead(event, office, 0, status="qualified")
    db.session.commit()
    auth.login(rep.email)
    url = f"/office/leads/{lead.id}"
    response = client.post(
        f"{url}/status",
        data={"csrf_token": _csrf(client, url), "status": "won", "deal_value": "1 200 000",
              "deal_currency": "RUB"},
        follow_redirects=True,
    )  # fmt: skip
    db.session.refresh(lead)
    assert (lead.status, lead.deal_value) == ("won", Decimal("1200000"))
    # The lead page shows it the Russian way, not "1200000.00 RUB".
    assert f"Сделка: 1{NBSP}200{NBSP}000,00{NBSP}₽" in response.get_data(as_text=True)


def test_chart_labels_wrap_instead_of_being_cut():
    chart = str(svg.grouped_bars("t", ["Yekaterinburg office", "Novosibirsk office"],
                                 [("Leads", "chart-a", [3, 4])]))  # fmt: skip
    text = re.sub(r"<title>.*?</title>", "", chart)
    words = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text)
    assert "Yekaterinburg office" in " ".join(words)
    assert "Novosibirsk office" in " ".join(words)
    assert "Yekaterinburg of<" not in chart and "Novosibirsk offi<" not in chart
