"""Report pages name offices in the reader's language (``Office.names``), as the office
pages do: the dashboard's and the league's tables and the event report's "By office", and
the charts beside them."""

from __future__ import annotations

import pytest

from backend.extensions import db
from tests.reports.conftest import make_lead

RU = {"Accept-Language": "ru"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def named(hand_event):
    hand_event.office_a.names = {"ru": "Москва"}
    hand_event.office_b.names = {"ru": "Санкт-Петербург", "en": "St Petersburg"}
    make_lead(hand_event.event, None, 40)  # one lead nobody routed
    db.session.commit()
    return hand_event


def test_the_dashboard_names_offices_in_the_readers_language(named, marketing, client):
    russian = client.get("/marketing", headers=RU).get_data(as_text=True)
    assert "<tr><td>Москва</td>" in russian and "<tr><td>Санкт-Петербург</td>" in russian
    assert '<td>Москва <span class="muted">MOW</span></td>' in russian  # the league table
    chart = russian.split("chart-grid", 1)[1]  # the charts come first
    assert "<title>Москва</title>" in chart and "Moscow office" not in chart
    english = client.get("/marketing", headers=EN).get_data(as_text=True)
    assert "<tr><td>Moscow office</td>" in english  # no English name: its own name
    assert "<tr><td>St Petersburg</td>" in english
    assert "Москва" not in english


def test_the_league_names_offices_in_the_readers_language(named, marketing, client):
    russian = client.get("/league", headers=RU).get_data(as_text=True)
    assert '<td>Москва <span class="muted">MOW</span></td>' in russian
    assert '<td>Санкт-Петербург <span class="muted">SPB</span></td>' in russian
    english = client.get("/league", headers=EN).get_data(as_text=True)
    assert '<td>Moscow office <span class="muted">MOW</span></td>' in english


def test_the_event_report_names_offices_and_unrouted_leads_in_the_readers_language(
    named, marketing, client
):
    page = f"/events/{named.event.id}/report"
    russian = client.get(page, headers=RU).get_data(as_text=True)
    assert "<tr><td>Москва</td><td>30</td>" in russian
    assert "<tr><td>Санкт-Петербург</td><td>10</td>" in russian
    assert "<tr><td>Не распределены</td><td>1</td>" in russian
    chart = russian.split("chart-grid", 1)[1].split("</svg>", 2)[1]  # leads and wins
    assert "<title>Москва</title>" in chart and "<title>Не распределены</title>" in chart
    assert "Moscow office" not in chart
    english = client.get(page, headers=EN).get_data(as_text=True)
    assert "<tr><td>Moscow office</td><td>30</td>" in english
    assert "<tr><td>Not routed</td><td>1</td>" in english
