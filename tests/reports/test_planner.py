"""The funnel planner: a revenue target decomposed up the funnel with measured rates."""

from __future__ import annotations

from decimal import Decimal

from backend.extensions import db
from backend.reports.services import PLAN_DEFAULTS, plan
from tests.factories import make_event
from tests.reports.conftest import make_lead


def test_with_one_past_event_the_plan_equals_the_hand_computed_decomposition(hand_event):
    # History: 40 leads, 5 qualified, 3 won for 24,500, cost 10,000.
    # avg deal 8,166.67 → 100,000 needs ceil(12.24) = 13 deals; win rate 3/5 = 0.6 →
    # ceil(21.67) = 22 qualified; qualification 5/40 = 0.125 → 176 leads; 250 per lead → 44,000.
    result = plan(100_000)
    assert (result["deals_needed"], result["qualified_needed"], result["leads_needed"]) == (
        13,
        22,
        176,
    )
    assert result["budget_needed"] == 44000.0
    assert result["expected_cost"] == 44000.0
    assert result["rates"] == {
        "avg_deal_value": 8166.666667,
        "win_rate": 0.6,
        "qualification_rate": 0.125,
        "cost_per_lead": 250.0,
    }
    assert result["defaults_used"] == {}
    assert result["based_on_events"] == [{"id": hand_event.event.id, "name": "Hand Expo"}]
    # Win rate 0.48: ceil(27.08) = 28 qualified → 224 leads → 56,000.
    # Win rate 0.72: ceil(18.06) = 19 qualified → 152 leads → 38,000.
    low, high = result["sensitivity"]
    assert (low["win_rate"], low["qualified_needed"], low["leads_needed"], low["budget_needed"]) == (
        0.48, 28, 224, 56000.0,
    )  # fmt: skip
    assert (high["win_rate"], high["qualified_needed"], high["leads_needed"], high["budget_needed"]) == (
        0.72, 19, 152, 38000.0,
    )  # fmt: skip


def test_rates_are_pooled_over_past_events_in_the_plans_currency(hand_event):
    # A second EUR event: cost 5,000, 10 leads, 1 won (6,000) + 1 qualified.
    second = make_event(name="Second Expo", cost=Decimal("5000"))
    for i in range(10):
        status = {0: "won", 1: "qualified"}.get(i, "new")
        make_lead(second, hand_event.office_a, i, status=status,
                  deal_value=Decimal("6000") if i == 0 else None)  # fmt: skip
    # A USD event is not mixed into EUR rates.
    usd = make_event(name="Dollar Expo", cost=Decimal("99999"), currency="USD")
    make_lead(usd, hand_event.office_a, 0)
    db.session.commit()
    # Pooled: 50 leads, 7 qualified, 4 won for 30,500, cost 15,000.
    # avg deal 7,625 → ceil(13.11) = 14 deals; win 4/7 → ceil(24.5) = 25 qualified;
    # qualification 7/50 = 0.14 → ceil(178.6) = 179 leads; 300 per lead → 53,700.
    result = plan(100_000, currency="eur")
    assert result["currency"] == "EUR"
    assert (result["deals_needed"], result["qualified_needed"], result["leads_needed"]) == (
        14,
        25,
        179,
    )
    assert result["budget_needed"] == 53700.0
    assert {e["name"] for e in result["based_on_events"]} == {"Hand Expo", "Second Expo"}


def test_without_history_the_plan_states_the_defaults_it_used(app):
    result = plan(100_000)
    assert result["defaults_used"] == PLAN_DEFAULTS
    assert result["based_on_events"] == []
    # 100,000 / 10,000 = 10 deals; / 0.2 = 50 qualified; / 0.25 = 200 leads; × 100 = 20,000.
    assert (result["deals_needed"], result["qualified_needed"], result["leads_needed"]) == (
        10,
        50,
        200,
    )
    assert result["budget_needed"] == 20000.0


def test_the_plan_api_compares_with_a_chosen_event(hand_event, marketing, api):
    response = api.post(
        "/api/v1/plan", json={"revenue_target": 100000, "event_id": hand_event.event.id}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["compare"]["event_name"] == "Hand Expo"
    assert body["compare"]["leads_needed"] == 176
    assert body["leads_needed"] == 176


def test_the_plan_api_refuses_a_target_that_is_not_positive(app, marketing, api):
    response = api.post("/api/v1/plan", json={"revenue_target": 0})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][0]["field"] == "revenue_target"


def test_the_plan_page_shows_the_decomposition(hand_event, marketing, client):
    page = client.get("/plan")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/plan", data={"revenue_target": "100000", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "176" in html and "€44,000.00" in html and "Hand Expo" in html
