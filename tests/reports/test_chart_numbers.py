"""The dashboard's charts write numbers and days in the reader's language, as the tables
beside them do: a Russian page read "1.4M" and "12-07" under "1 450 000,00 €" and
"7 дек. 2026 г."."""

from __future__ import annotations

from decimal import Decimal

from backend.extensions import db

RU = {"Accept-Language": "ru"}
EN = {"Accept-Language": "en"}


def _charts(client, event_id: int, headers: dict) -> str:
    page = client.get(f"/marketing?day_event={event_id}", headers=headers).get_data(as_text=True)
    return page.split("chart-grid", 1)[1]


def test_chart_labels_in_the_readers_language(hand_event, marketing, client):
    hand_event.event.cost = Decimal("1450000")
    db.session.commit()
    russian = _charts(client, hand_event.event.id, RU)
    assert ">1,4\u00a0млн</text>" in russian  # the cost bar
    assert ">40</text>" in russian  # the funnel's first stage
    assert ">25 нояб.</text>" in russian  # the day under the column
    assert "1.4M" not in russian and ">11-25<" not in russian
    english = _charts(client, hand_event.event.id, EN)
    assert ">1.4M</text>" in english and ">Nov 25</text>" in english
