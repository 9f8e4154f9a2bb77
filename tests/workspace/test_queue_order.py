"""The queue answers "what now?": a table of leads and where each one must stand.

Time is injected: a Moscow office working Monday to Friday, seen on Tuesday 8 December
2026 at 10:00 Moscow time (07:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.extensions import db
from backend.workspace import queries
from backend.workspace.schemas import QueueQuery
from tests.factories import make_office, make_user

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=MSK).astimezone(UTC)  # Tuesday


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=MSK).astimezone(UTC)


# name, position, how it stands. Saturday 5, Sunday 6, Monday 7, Tuesday 8 December.
TABLE = [
    # untouched: escalated first, then by SLA due time, hot > warm > cold when due together
    ("escalated cold, Monday 09:00", 1, dict(routed_at=msk(7, 9), rating="cold", escalation_level=2)),
    ("hot, Sunday 18:00 (clock starts Monday 00:00)", 2, dict(routed_at=msk(6, 18), rating="hot")),
    ("warm, Saturday 12:00 (clock starts Monday 00:00)", 3, dict(routed_at=msk(5, 12), rating="warm")),
    ("unrated, Sunday 20:00 (clock starts Monday 00:00)", 4, dict(routed_at=msk(6, 20), rating=None)),
    ("hot, Monday 08:00, overdue", 5, dict(routed_at=msk(7, 8), rating="hot")),
    ("cold, Tuesday 09:00", 6, dict(routed_at=msk(8, 9), rating="cold")),
    ("hot, 3 minutes old", 7, dict(routed_at=msk(8, 9, 57), rating="hot")),
    # touched, next step due: by its time
    ("qualified, next step due Monday 15:00", 8,
     dict(routed_at=msk(1, 10), status="qualified", first_touch_at=msk(1, 11),
          next_step="send_offer", next_step_at=msk(7, 15))),
    ("contacted, next step due Tuesday 09:30", 9,
     dict(routed_at=msk(2, 10), status="contacted", first_touch_at=msk(2, 11),
          next_step="call_back", next_step_at=msk(8, 9, 30))),
    # the rest, newest first
    ("new with a note only, Tuesday 08:00", 10,
     dict(routed_at=msk(8, 8), status="new", first_touch_at=msk(8, 8, 30))),
    ("contacted, next step Wednesday (not due)", 11,
     dict(routed_at=msk(7, 12), status="contacted", first_touch_at=msk(7, 13),
          next_step="meeting", next_step_at=msk(9, 10))),
    ("contacted 40 days ago, no next step", 12,
     dict(routed_at=NOW - timedelta(days=40), status="contacted",
          first_touch_at=NOW - timedelta(days=39))),
]  # fmt: skip


@pytest.fixture
def moscow(app):
    office = make_office("MSK", timezone="Europe/Moscow", working_days="12345", sla_hours=24)
    return office, make_user("office_rep", office, name="Rita Rep")


def test_each_lead_stands_where_the_order_says(make_lead, moscow):
    office, rep = moscow
    # Made in reverse so that ids say nothing about the order.
    leads = {name: make_lead(target=office, first_name=name, **fields)
             for name, _, fields in reversed(TABLE)}  # fmt: skip
    db.session.commit()

    page = queries.queue_page(office, rep, QueueQuery(), now=NOW)

    got = [lead.first_name for lead in page.leads]
    assert got == [name for name, _, _ in sorted(TABLE, key=lambda row: row[1])]
    assert [leads[name].id for name in got] == [lead.id for lead in page.leads]


def test_paging_keeps_the_order(make_lead, moscow):
    office, rep = moscow
    for name, _, fields in TABLE:
        make_lead(target=office, first_name=name, **fields)
    db.session.commit()

    pages = [
        queries.queue_page(office, rep, QueueQuery(page=n, per_page=5), now=NOW).leads
        for n in (1, 2, 3)
    ]

    got = [lead.first_name for page in pages for lead in page]
    assert got == [name for name, _, _ in sorted(TABLE, key=lambda row: row[1])]


def test_the_queue_shows_the_next_step_in_office_time_and_marks_it_when_due(make_lead, moscow):
    office, rep = moscow
    due = make_lead(
        target=office,
        status="contacted",
        first_touch_at=msk(7, 11),
        routed_at=msk(7, 10),
        next_step="call_back",
        next_step_at=msk(8, 9, 30),
    )
    later = make_lead(
        target=office,
        status="contacted",
        first_touch_at=msk(7, 11),
        routed_at=msk(7, 10),
        next_step="meeting",
        next_step_at=msk(9, 10),
    )
    db.session.commit()  # fmt: skip

    shown = {i["id"]: i["next_step"] for i in (
        queries.queue_item(lead, office, NOW) for lead in (due, later))}  # fmt: skip

    assert shown[due.id]["label"] == "next: call back Tue 09:30 (Europe/Moscow)"
    assert shown[due.id]["due"] is True
    assert shown[later.id]["label"] == "next: meeting Wed 10:00 (Europe/Moscow)"
    assert shown[later.id]["due"] is False


def test_the_page_says_the_order_in_one_line(make_lead, rep, auth, client):
    make_lead()
    db.session.commit()
    auth.login(rep.email)

    html = client.get("/office").get_data(as_text=True)

    assert 'id="queue-order"' in html
    assert "Order: untouched leads by SLA due time" in html


def test_the_event_filter_lists_events_whose_leads_are_all_closed(make_lead, rep, auth, client):
    from tests.factories import make_event

    closed_event = make_event(name="Closed Expo")
    make_lead(event_id=closed_event.id, status="won", deal_value=100, deal_currency="EUR")
    make_lead()
    db.session.commit()
    auth.login(rep.email)

    html = client.get("/office").get_data(as_text=True)

    assert ">Closed Expo</option>" in html and ">Expo Moscow</option>" in html
