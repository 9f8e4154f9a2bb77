"""The office queue: most urgent first, filters, the SLA clock, polling and the pages."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead
from backend.workspace import queries
from backend.workspace.schemas import QueueQuery

RATINGS = ("hot", "warm", "cold", None)
ESCALATIONS = (0, 1, 2, 3)
AGES_HOURS = (1, 5, 30)


def test_every_combination_of_escalation_rating_and_age_comes_out_in_urgency_order(
    make_lead, rep, auth, api
):
    expected = []
    base = utcnow()
    for level, rating, hours in itertools.product(ESCALATIONS, RATINGS, AGES_HOURS):
        lead = make_lead(
            routed_at=base - timedelta(hours=hours), rating=rating, escalation_level=level,
            first_name=f"L{level}-{rating}-{hours}",
        )  # fmt: skip
        escalated = 0 if level >= 2 else 1
        rank = {"hot": 0, "warm": 1, "cold": 2, None: 3}[rating]
        # escalated first, then the earliest SLA due time (oldest arrival in a 7-day
        # office), hot before warm before cold when due together; ties by id
        expected.append(((escalated, -hours, rank, lead.id), lead.id))
    db.session.commit()
    auth.login(rep.email)

    response = api.get("/api/v1/queue?per_page=500")

    assert response.status_code == 200
    got = [item["id"] for item in response.json["items"]]
    assert got == [lead_id for _, lead_id in sorted(expected)]
    assert response.json["counts"]["total"] == len(expected)
    first = response.json["items"][0]
    assert first["escalated"] is True and first["rating"] == "hot"


def test_the_queue_shows_open_leads_only_unless_a_status_is_asked(make_lead, rep, auth, api):
    open_lead = make_lead(status="contacted")
    won = make_lead(status="won")
    db.session.commit()
    auth.login(rep.email)

    assert [i["id"] for i in api.get("/api/v1/queue").json["items"]] == [open_lead.id]
    assert [i["id"] for i in api.get("/api/v1/queue?status=won").json["items"]] == [won.id]


def test_filters_pick_event_rating_mine_and_unclaimed(make_lead, rep, rep2, auth, api):
    from tests.factories import make_event

    other_event = make_event(name="Other expo")
    mine = make_lead(rating="warm", claimed_by_id=rep.id)
    theirs = make_lead(rating="warm", claimed_by_id=rep2.id)
    free = make_lead(rating=None)
    elsewhere = make_lead(rating="cold", event_id=other_event.id)
    db.session.commit()
    auth.login(rep.email)

    def ids(query):
        return {i["id"] for i in api.get(f"/api/v1/queue?{query}").json["items"]}

    assert ids("mine=1") == {mine.id}
    assert ids("unclaimed=true") == {free.id, elsewhere.id}
    assert ids("rating=warm") == {mine.id, theirs.id}
    assert ids("rating=unrated") == {free.id}
    assert ids(f"event={other_event.id}") == {elsewhere.id}


def test_polling_with_since_returns_only_leads_routed_after_it(make_lead, rep, auth, api):
    make_lead(age=timedelta(minutes=5))
    db.session.commit()
    auth.login(rep.email)
    since = api.get("/api/v1/queue").json["now"]
    fresh = make_lead(age=timedelta(0), first_name="Fresh")
    db.session.commit()

    response = api.get("/api/v1/queue", query_string={"since": since})

    assert [i["id"] for i in response.json["items"]] == [fresh.id]


def test_the_sla_clock_stands_still_over_a_weekend_in_a_moscow_office(make_lead, office, rep):
    office.timezone, office.working_days, office.sla_hours = "Europe/Moscow", "12345", 24
    # Friday 15 May 2026, 20:00 in Moscow (17:00 UTC): four working hours left that day.
    friday_evening = datetime(2026, 5, 15, 17, 0, tzinfo=UTC)
    lead = make_lead(routed_at=friday_evening)
    monday_morning = datetime(2026, 5, 18, 7, 0, tzinfo=UTC)  # 10:00 in Moscow

    page = queries.queue_page(office, rep, QueueQuery(), now=monday_morning)
    item = queries.queue_item(page.leads[0], office, monday_morning)

    assert item["id"] == lead.id
    # Friday 4 h + Monday 10 h used: 10 h left, due Monday 20:00 Moscow time.
    assert item["sla"]["remaining_seconds"] == 10 * 3600
    assert item["sla"]["overdue"] is False
    assert item["sla"]["label"] == "10 h 0 min left"
    assert item["sla"]["due_at"] == datetime(2026, 5, 18, 17, 0, tzinfo=UTC)
    assert item["sla"]["due_local"].startswith("Mon 18 May 20:00")
    assert page.overdue == 0

    tuesday = datetime(2026, 5, 19, 7, 0, tzinfo=UTC)
    late = queries.queue_page(office, rep, QueueQuery(), now=tuesday)
    assert late.overdue == 1
    assert queries.sla_view(lead, office, tuesday)["label"] == "overdue 14 h 0 min"


def test_the_overdue_count_agrees_with_the_sla_clock_of_each_lead(make_lead, office, rep):
    office.timezone, office.working_days = "Asia/Novosibirsk", "12345"
    now = datetime(2026, 5, 18, 3, 0, tzinfo=UTC)  # Monday 10:00 in Novosibirsk
    leads = [make_lead(routed_at=now - timedelta(hours=h)) for h in range(0, 24 * 6, 7)]

    page = queries.queue_page(office, rep, QueueQuery(per_page=500), now=now)

    expected = sum(queries.sla_view(lead, office, now)["overdue"] for lead in leads)
    assert 0 < page.overdue == expected < len(leads)


def test_the_queue_page_lists_leads_with_their_clock_flags_and_brief_links(
    make_lead, rep, auth, client
):
    make_lead(first_name="<script>alert(1)</script>", feedback_requested=True,
              flags=["bad_email"])  # fmt: skip
    db.session.commit()
    auth.login(rep.email)

    html = client.get("/office").get_data(as_text=True)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "Marketing asks: good lead?" in html and "E-mail looks wrong" in html
    assert "left" in html  # the SLA clock
    assert 'src="/static/workspace.js"' in html


def test_marketing_may_read_any_office_queue_but_not_work_a_lead(
    make_lead, other_office, auth, api
):
    from tests.factories import make_user

    lead = make_lead(target=other_office)
    marketer = make_user("marketing")
    db.session.commit()
    auth.login(marketer.email)

    response = api.get("/api/v1/queue?office=SPB")
    assert [i["id"] for i in response.json["items"]] == [lead.id]
    assert api.post(f"/api/v1/leads/{lead.id}/claim").status_code == 403


def test_a_rep_does_not_see_another_office_queue(make_lead, other_office, rep, auth, api):
    make_lead(target=other_office)
    db.session.commit()
    auth.login(rep.email)

    assert api.get("/api/v1/queue").json["items"] == []
    assert api.get("/api/v1/queue?office=SPB").status_code == 404


def test_the_queue_is_paged_with_counts_over_every_page(make_lead, rep, auth, api):
    for _ in range(7):
        make_lead()
    db.session.commit()
    auth.login(rep.email)

    body = api.get("/api/v1/queue?per_page=5&page=2").json

    assert len(body["items"]) == 2
    assert body["counts"] == {"total": 7, "unclaimed": 7, "overdue": 0}
    assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 7


def test_an_office_without_its_own_sla_follows_default_sla_hours(app, make_lead, office, rep):
    """DEFAULT_SLA_HOURS is the SLA of offices that set none: the queue's clock, its
    overdue count and the office list agree on it."""
    app.config["DEFAULT_SLA_HOURS"] = 8
    office.sla_hours = None
    now = datetime(2026, 5, 18, 12, 0, tzinfo=UTC)
    lead = make_lead(routed_at=now - timedelta(hours=9))
    make_lead(routed_at=now - timedelta(hours=7))

    page = queries.queue_page(office, rep, QueueQuery(), now=now)

    assert office.sla == 8
    assert queries.sla_view(lead, office, now)["overdue"] is True
    assert page.overdue == 1
