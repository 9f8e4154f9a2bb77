"""The event report equals figures computed by hand (see conftest.py for the event)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from backend.extensions import db
from backend.reports import services
from backend.reports.services import event_report
from tests.factories import make_event, make_user


def test_every_figure_of_the_event_report_equals_the_hand_computed_value(hand_event):
    report = event_report(hand_event.event)

    # Revenue: 12,000 + 8,500 + 4,000; ROI = (24,500 − 10,000) / 10,000.
    assert report["revenue_won"] == 24500.0
    assert report["cost"] == 10000.0
    assert report["currency"] == "EUR"
    assert report["roi"] == 1.45
    assert report["pipeline_value"] == 5000.25  # open qualified leads 3 (5,000.25) and 4 (none)
    assert report["leads"] == 40
    assert report["by_rating"] == {"hot": 14, "warm": 13, "cold": 13}
    # contacted: 26 touched (0–20, 30–34) + lead 21 (status contacted, no touch logged)
    assert report["contacted"] == 27
    assert report["qualified"] == 5  # qualified 3, 4 + won 0, 1, 30
    assert report["won"] == 3
    assert report["lost"] == 1
    assert report["stale"] == 2
    assert report["escalated"] == 3
    # within SLA: A leads 0–19 (≤ 200 min of 1440), B leads 30, 31 (≤ 120 of 240) → 22 / 40
    assert report["touched_within_sla_pct"] == 55.0
    # From arrival, 26 sorted values: …, 120, 120 (12th, 13th), …, 300, 600 (22nd, 23rd), …
    # median at 0.5·25 = 12.5 → 120; p90 at 0.9·25 = 22.5 → 300 + 0.5·300 = 450.
    assert report["first_touch_minutes"] == {"median": 120.0, "p90": 450.0}
    # From capture (+30 for leads 0–9, +5 otherwise): positions 12, 13 hold 125 and 130 →
    # 127.5; positions 22, 23 hold 305 and 605 → 455.
    assert report["capture_to_touch_minutes"] == {"median": 127.5, "p90": 455.0}
    assert report["quality"] == {
        "good": 12,
        "bad": 5,
        "pending": 3,  # 20 flagged, 17 answered
        "top_bad_reasons": [
            {"reason": "no budget", "count": 3},
            {"reason": "student", "count": 1},
            {"reason": "unspecified", "count": 1},
        ],
    }
    assert report["cost_per_lead"] == 250.0
    assert report["cost_per_qualified"] == 2000.0
    assert report["cost_per_won"] == 3333.33
    assert report["funnel"] == [
        {"stage": "captured", "count": 40, "conversion": None},
        {"stage": "contacted", "count": 27, "conversion": 0.675},
        {"stage": "qualified", "count": 5, "conversion": 0.1852},  # 5 / 27
        {"stage": "won", "count": 3, "conversion": 0.6},
    ]


def test_the_report_splits_leads_by_office_with_each_offices_figures(hand_event):
    a, b = event_report(hand_event.event)["by_office"]
    assert (a["code"], a["leads"], a["contacted"], a["qualified"], a["won"]) == (
        "MOW",
        30,
        22,
        4,
        2,
    )
    assert a["revenue_won"] == 20500.0
    assert a["touched_within_sla_pct"] == 66.7  # 20 / 30
    assert (b["code"], b["leads"], b["contacted"], b["qualified"], b["won"]) == ("SPB", 10, 5, 1, 1)
    assert b["revenue_won"] == 4000.0
    assert b["touched_within_sla_pct"] == 20.0  # 2 / 10


def test_a_first_touch_right_at_the_sla_deadline_is_within_sla_a_second_later_is_not(hand_event):
    on_time, late = hand_event.leads[37], hand_event.leads[38]  # St Petersburg, SLA 4 h
    on_time.first_touch_at = on_time.routed_at + timedelta(hours=4)
    late.first_touch_at = late.routed_at + timedelta(hours=4, seconds=1)
    db.session.commit()
    report = event_report(hand_event.event)
    assert report["by_office"][1]["touched_within_sla_pct"] == 30.0  # 30, 31 and 37 of 10
    assert report["touched_within_sla_pct"] == 57.5  # 23 / 40
    league = {row["code"]: row for row in services.dashboard()["league"]}
    assert league["SPB"]["touched_within_sla_pct"] == 30.0


def test_the_json_report_has_exactly_the_documented_keys(hand_event, marketing, api):
    response = api.get(f"/api/v1/events/{hand_event.event.id}/report")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == [
        "revenue_won", "cost", "currency", "event_currency", "cost_original", "revenue_original",
        "not_converted", "pipeline_not_converted", "roi", "pipeline_value", "leads", "by_rating",
        "by_office", "contacted", "qualified", "won", "lost", "stale", "escalated",
        "touched_within_sla_pct", "first_touch_minutes", "capture_to_touch_minutes", "quality",
        "cost_per_lead", "cost_per_qualified", "cost_per_won", "funnel",
    ]  # fmt: skip
    assert body["revenue_won"] == 24500.0
    assert body["first_touch_minutes"] == {"median": 120.0, "p90": 450.0}


def test_an_event_without_leads_reports_nulls_and_no_division_error(app, marketing, api):
    event = make_event(cost=Decimal("10000"))
    db.session.commit()
    body = api.get(f"/api/v1/events/{event.id}/report").get_json()
    assert body["leads"] == 0 and body["won"] == 0 and body["revenue_won"] == 0.0
    assert body["roi"] == -1.0  # the money was spent and nothing came back
    for key in ("cost_per_lead", "cost_per_qualified", "cost_per_won", "touched_within_sla_pct"):
        assert body[key] is None
    assert body["first_touch_minutes"] == {"median": None, "p90": None}
    assert body["capture_to_touch_minutes"] == {"median": None, "p90": None}
    assert [s["conversion"] for s in body["funnel"]] == [None, None, None, None]
    assert body["by_office"] == []
    assert body["quality"] == {"good": 0, "bad": 0, "pending": 0, "top_bad_reasons": []}


def test_a_free_event_has_no_roi_rather_than_a_division_error(app):
    event = make_event(cost=Decimal("0"))
    db.session.commit()
    report = event_report(event)
    assert report["roi"] is None
    assert report["cost_per_lead"] is None


def test_office_roles_may_not_read_the_event_report(hand_event, auth, api):
    rep = make_user("office_rep", hand_event.office_a)
    db.session.commit()
    auth.login(rep.email)
    assert api.get(f"/api/v1/events/{hand_event.event.id}/report").status_code == 403


def test_an_unknown_event_is_a_404(app, marketing, api):
    assert api.get("/api/v1/events/999/report").status_code == 404
