"""Revenue in every currency: a deal counts in the reporting currency at the rate of the
day it was won, an event's cost at the rate of its first day; a deal with no rate is
counted apart as "not converted" and shown, never as zero.

Rates (roubles per euro, as the CBR quotes them): 100 from 1 Nov 2026, 110 from 20 Nov.
Euro Expo (EUR) starts on 2 Nov and cost 10,000 EUR. Moscow wins 1,200,000 RUB on
25 Nov (lead 0); Saint Petersburg wins 5,000 EUR on 21 Nov (lead 1).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backend.extensions import db
from backend.rates.services import ParsedRate, set_reporting_currency, store_rates
from backend.reports import services
from tests.factories import make_event, make_office, make_user
from tests.reports.conftest import make_lead

RUB_DEAL_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EUR_DEAL_DAY = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class World:
    pass


@pytest.fixture
def euro_expo(app):
    store_rates(
        [
            ParsedRate(date(2026, 11, 1), "EUR", "RUB", Decimal("100")),
            ParsedRate(date(2026, 11, 20), "EUR", "RUB", Decimal("110")),
        ],
        "cbr",
    )
    world = World()
    world.moscow = make_office("MOW", name="Moscow office")
    world.spb = make_office("SPB", name="Saint Petersburg office")
    world.event = make_event(
        name="Euro Expo", cost=Decimal("10000"), currency="EUR", starts_on=date(2026, 11, 2)
    )
    world.leads = []
    for i in range(10):
        lead = make_lead(world.event, world.moscow if i % 2 == 0 else world.spb, i)
        world.leads.append(lead)
    won_rub, won_eur = world.leads[0], world.leads[1]
    won_rub.status, won_rub.deal_value, won_rub.deal_currency = "won", Decimal("1200000"), "RUB"
    won_rub.won_at = RUB_DEAL_DAY
    won_eur.status, won_eur.deal_value, won_eur.deal_currency = "won", Decimal("5000"), "EUR"
    won_eur.won_at = EUR_DEAL_DAY
    for lead in world.leads[2:4]:
        lead.status = "qualified"
    db.session.commit()
    return world


def test_in_roubles_the_moscow_deal_counts_in_full_and_the_euro_cost_converts(euro_expo):
    # The default reporting currency is RUB. Revenue: 1,200,000 + 5,000 × 110 (21 Nov);
    # cost: 10,000 × 100 (2 Nov) = 1,000,000; ROI 0.75.
    report = services.event_report(euro_expo.event)
    assert report["currency"] == "RUB"
    assert report["revenue_won"] == 1_750_000.0
    assert report["cost"] == 1_000_000.0
    assert report["cost_original"] == {"amount": 10000.0, "currency": "EUR"}
    assert report["roi"] == 0.75
    assert report["not_converted"] == {"deals": 0, "amounts": []}


def _eur_revenue_everywhere(event) -> dict:
    report = services.event_report(event)
    dashboard = services.dashboard()
    league = {row["code"]: row for row in services.office_league()}
    plan = services.plan(100_000, currency="EUR")
    db.session.commit()
    return {"report": report, "dashboard": dashboard, "league": league, "plan": plan}


def test_a_rub_deal_on_an_eur_event_converts_at_the_deal_days_rate_everywhere(euro_expo):
    set_reporting_currency("EUR")
    db.session.commit()
    # 1,200,000 RUB on 25 Nov at 110 RUB/EUR = 10,909.09 EUR (not at 100, the rate of the
    # event's first day); plus 5,000 EUR.
    seen = _eur_revenue_everywhere(euro_expo.event)
    report = seen["report"]
    assert report["revenue_won"] == 15_909.09
    assert report["revenue_original"] == [{"currency": "RUB", "amount": 1_200_000.0}]
    assert report["cost"] == 10_000.0 and report["roi"] == 0.5909
    offices = {row["code"]: row["revenue_won"] for row in report["by_office"]}
    assert offices == {"MOW": 10_909.09, "SPB": 5_000.0}

    row = next(e for e in seen["dashboard"]["events"] if e["name"] == "Euro Expo")
    assert row["revenue_won"] == 15_909.09
    assert seen["dashboard"]["revenue_won"] == 15_909.09
    assert seen["league"]["MOW"]["revenue_won"] == 10_909.09
    assert seen["league"]["SPB"]["revenue_won"] == 5_000.0

    # The planner's average deal is the converted deals' mean, not a zero for the RUB one.
    plan = seen["plan"]
    assert plan["rates"]["avg_deal_value"] == 7954.545
    assert plan["deals_needed"] == 13  # ceil(100,000 / 7,954.545)
    assert plan["not_converted_deals"] == 0


def test_the_planner_answers_in_the_currency_it_was_asked_in(euro_expo, app):
    # Reporting in RUB; asked in EUR: today's rate is 110, so the average deal
    # (1,750,000 / 2 = 875,000 RUB) is 7,954.55 EUR and the budget comes back in EUR.
    result = services.plan(50_000_000, currency="RUB")
    assert result["currency"] == "RUB" and result["rates"]["avg_deal_value"] == 875_000.0
    assert result["deals_needed"] == 58  # ceil(50,000,000 / 875,000)
    in_eur = services.plan(100_000, currency="EUR")
    assert in_eur["currency"] == "EUR"
    assert in_eur["rates"]["avg_deal_value"] == 7954.545455
    # Cost per lead: 1,000,000 RUB / 10 leads = 100,000 RUB = 909.09 EUR.
    assert in_eur["rates"]["cost_per_lead"] == 909.090909


def test_the_plan_page_says_to_win_in_the_asked_currency(euro_expo, client, auth):
    user = make_user("marketing", email="plan-rub@example.com")
    db.session.commit()
    auth.login(user.email)
    html = client.get("/plan").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(
        "/plan", data={"csrf_token": token, "revenue_target": "50 000 000", "currency": "RUB"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "To win RUB\u00a050,000,000.00" in html
    assert "58" in html


def test_a_deal_without_a_rate_is_counted_as_not_converted_and_shown(euro_expo, client, auth):
    usd = euro_expo.leads[4]
    usd.status, usd.deal_value, usd.deal_currency = "won", Decimal("900"), "USD"
    usd.won_at = RUB_DEAL_DAY
    user = make_user("marketing", email="nc@example.com")
    db.session.commit()

    report = services.event_report(euro_expo.event)
    assert report["won"] == 3
    assert report["revenue_won"] == 1_750_000.0  # the USD deal is not summed as 0 …
    assert report["not_converted"] == {  # … it has its own line
        "deals": 1, "amounts": [{"currency": "USD", "amount": 900.0}],
    }  # fmt: skip
    assert services.dashboard()["not_converted"]["deals"] == 1
    db.session.commit()

    auth.login(user.email)
    for url in (f"/events/{euro_expo.event.id}/report", "/marketing"):
        html = client.get(url).get_data(as_text=True)
        line = re.search(r'<p class="warning-line not-converted-line"[^>]*>(.*?)</p>', html, re.S)
        assert line, url
        assert "Not converted: 1 deal" in line.group(1) and "$900.00" in line.group(1)
    wins = client.get("/wins").get_data(as_text=True)
    assert "not converted: no exchange rate for its day" in wins


def test_wins_and_the_digest_show_the_reporting_currency_and_the_original(euro_expo, client, auth):
    set_reporting_currency("EUR")
    user = make_user("marketing", email="wins@example.com")
    db.session.commit()
    auth.login(user.email)
    html = client.get("/wins").get_data(as_text=True)
    assert "€10,909.09" in html and "(RUB\u00a01,200,000.00)" in html
    subject, text = services.weekly_digest(datetime(2026, 11, 26, tzinfo=UTC))
    assert subject == "LeadRelay weekly: 2 win(s), 15,909 EUR won from event leads"
    assert "10,909 EUR (1,200,000 RUB)" in text


def test_the_csv_export_adds_the_reporting_currency_value(euro_expo, client, auth):
    user = make_user("marketing", email="csv@example.com")
    db.session.commit()
    auth.login(user.email)
    body = client.get("/api/v1/export/leads.csv").get_data(as_text=True)
    header, *rows = body.lstrip("\ufeff").splitlines()
    assert header.endswith("Deal Value,Deal Currency,Deal Value (Reporting Currency),"
                           "Reporting Currency,Notes,LeadRelay ID")  # fmt: skip
    assert any("5000.00,EUR,550000.00,RUB" in row for row in rows)
    assert any("1200000.00,RUB,1200000.00,RUB" in row for row in rows)
    # An empty text cell stays empty: no lone ' for the CRM to import.
    assert not any(",'," in row or row.endswith(",'") for row in rows)
