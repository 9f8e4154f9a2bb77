"""The wins board (newest first, with the rep) and the weekly digest content."""

from __future__ import annotations

from datetime import timedelta

from backend.extensions import db
from backend.reports.services import weekly_digest, wins_json
from tests.factories import make_user
from tests.reports.conftest import T0


def test_wins_are_listed_newest_first_with_event_office_rep_and_value(hand_event):
    wins = wins_json()
    assert [(w["value"], w["rep"], w["office"]) for w in wins] == [
        (8500.0, "Rep 1", "Moscow office"),  # no claimer: the latest toucher
        (12000.0, "Rep 0", "Moscow office"),  # the claimer
        (4000.0, "Rep 2", "Saint Petersburg office"),
    ]
    assert {w["event"]["name"] for w in wins} == {"Hand Expo"}
    assert wins[0]["currency"] == "EUR"


def test_office_reps_see_the_wins_board_and_the_league_table(hand_event, auth, api, client):
    rep = make_user("office_rep", hand_event.office_b)
    db.session.commit()
    auth.login(rep.email)
    assert len(api.get("/api/v1/wins").get_json()["items"]) == 3
    page = client.get("/wins").get_data(as_text=True)
    assert "€8,500.00" in page and "Rep 1" in page
    league = client.get("/league")
    assert league.status_code == 200 and "Saint Petersburg office" in league.get_data(as_text=True)
    assert client.get("/marketing").status_code == 403


def test_the_weekly_digest_lists_the_weeks_wins_and_event_results(hand_event):
    subject, text = weekly_digest(T0 + timedelta(days=4))
    assert subject == "LeadRelay weekly: 3 win(s), 24,500 EUR won from event leads"
    assert "12,000 EUR — Company 0 (Hand Expo; Moscow office; Rep 0)" in text
    assert "Hand Expo: revenue 24,500 EUR, cost 10,000 EUR, ROI 145%" in text


def test_a_quiet_week_makes_a_digest_that_says_so(hand_event):
    subject, text = weekly_digest(T0 + timedelta(days=60))
    assert subject.startswith("LeadRelay weekly: 0 win(s)")
    assert "No deals were won this week." in text
    assert "No event had activity this week." in text


def test_the_office_league_has_hand_computed_speed_sla_and_touch_buckets(hand_event):
    from backend.reports.services import office_league

    moscow, spb = office_league()  # fastest median first
    # Moscow: touches at 10, 20, …, 200 and 2000 min → median of 21 values = 110.
    assert (moscow["code"], moscow["median_first_touch_minutes"]) == ("MOW", 110.0)
    assert (moscow["touched_within_sla_pct"], moscow["won"], moscow["win_rate"]) == (
        66.7,
        2,
        0.0667,
    )
    # ≤15: 10 | ≤60: 20–60 | ≤240: 70–200 | ≤1440: none | >1440: 2000; 9 untouched.
    assert moscow["buckets"] == [1, 5, 14, 0, 1] and moscow["untouched"] == 9
    # St Petersburg: 60, 120, 300, 600, 1500 → median 300; 4 h SLA met by 60 and 120.
    assert (spb["median_first_touch_minutes"], spb["touched_within_sla_pct"]) == (300.0, 20.0)
    assert spb["buckets"] == [0, 1, 1, 2, 1] and spb["untouched"] == 5
