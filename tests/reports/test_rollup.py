"""The dashboard's rollup follows the leads: every change shows on the next view.

Only the cron builds the stored rollup; a view writes nothing. Each test builds the
rollup as the cron does, changes something, and checks the next view (before the cron
runs again, and after) against a value computed by hand from the event in conftest.py.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event, func, select, update

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead
from backend.offices.models import Office
from backend.reports import queries, services
from backend.reports.models import EventOfficeStats, OfficeTouchMedian
from tests.followup import AppSimpleWorker
from tests.reports.conftest import make_lead
from workers.queues import make_worker
from workers.schedule import make_cron


@contextmanager
def writes():
    """The INSERT, UPDATE and DELETE statements run inside the block."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def view() -> dict:
    """One dashboard view, as the page reads it: it writes nothing."""
    with writes() as seen:
        data = services.dashboard()
    assert seen == []
    db.session.rollback()  # as the GET ends
    return data


def cron() -> dict:
    """The rollup build, as the cron's job runs it."""
    return services.refresh_rollup()


def hand_row(data: dict) -> dict:
    return next(e for e in data["events"] if e["name"] == "Hand Expo")


def league(data: dict) -> dict:
    return {row["code"]: row for row in data["league"]}


def run_rollup_cron_job(app) -> dict:
    """Enqueue the cron's rollup job on real Redis, run it on a real (simple) worker."""
    cron = make_cron(app)
    entry = next(job for job in cron.get_jobs() if job.name == "report-rollup")
    db.session.commit()
    job = entry.enqueue(cron.connection)
    make_worker(app, [job.origin], worker_class=AppSimpleWorker).work(burst=True)
    db.session.expire_all()
    job.refresh()
    assert job.get_status() == "finished", job.latest_result().exc_string
    return job.return_value()


def stored_medians() -> dict:
    return dict(
        db.session.execute(
            select(Office.code, OfficeTouchMedian.median_minutes).join(
                Office, Office.id == OfficeTouchMedian.office_id
            )
        ).all()
    )


def test_before_the_cron_ever_ran_a_view_counts_every_lead(hand_event):
    row = hand_row(view())
    assert (row["leads"], row["won"], row["revenue_won"]) == (40, 3, 24500.0)
    assert db.session.scalar(select(func.count()).select_from(EventOfficeStats)) == 0


def test_a_lead_won_after_the_rollup_was_built_shows_on_the_next_view(hand_event):
    cron()
    assert hand_row(view())["revenue_won"] == 24500.0
    lead = hand_event.leads[5]  # contacted, no deal
    lead.status, lead.deal_value, lead.won_at = "won", Decimal("1000"), utcnow()
    db.session.commit()
    row = hand_row(view())  # the cron has not run since
    assert (row["won"], row["revenue_won"], row["qualified"]) == (4, 25500.0, 6)
    cron()
    assert hand_row(view()) == row


def test_a_lead_captured_after_the_rollup_was_built_shows_on_the_next_view(hand_event):
    cron()
    make_lead(hand_event.event, hand_event.office_b, 40)
    db.session.commit()
    data = view()
    assert (hand_row(data)["leads"], hand_row(data)["contacted"]) == (41, 27)
    assert (league(data)["SPB"]["leads"], league(data)["SPB"]["touched_within_sla_pct"]) == (
        11, 18.2,
    )  # fmt: skip


def test_a_bulk_update_statement_is_seen_like_an_orm_change(hand_event):
    cron()
    assert hand_row(view())["stale"] == 2
    db.session.execute(
        update(Lead).where(Lead.id == hand_event.leads[22].id).values(status="stale")
    )
    db.session.commit()
    assert hand_row(view())["stale"] == 3


def test_a_change_stamped_before_the_build_but_committed_after_it_is_still_seen(hand_event):
    cron()
    # As if its transaction flushed a minute before the build and committed after it.
    lead = hand_event.leads[23]
    lead.status, lead.updated_at = "lost", utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert queries.stale_event_ids() == [hand_event.event.id]
    assert hand_row(view())["contacted"] == 28  # lost counts as contacted: 27 + 1


def test_a_view_reads_the_stored_rollup_alone_while_no_lead_changed(hand_event):
    # The fixture's leads were stamped a moment ago, inside the lag that keeps an event
    # stale after every build; stamped an hour ago, they are long covered.
    db.session.execute(update(Lead).values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    cron()
    assert queries.stale_event_ids() == []
    assert queries.rollup().stats is EventOfficeStats.__table__
    rows = set(db.session.scalars(select(EventOfficeStats.id)))
    assert hand_row(view())["leads"] == 40
    assert set(db.session.scalars(select(EventOfficeStats.id))) == rows


def test_an_office_sla_change_moves_its_within_sla_share_without_any_lead_change(hand_event):
    cron()
    assert league(view())["SPB"]["touched_within_sla_pct"] == 20.0
    hand_event.office_b.sla_hours = 24  # 60, 120, 300, 600 of 60…1500 min are now in time
    db.session.commit()
    assert league(view())["SPB"]["touched_within_sla_pct"] == 40.0


def test_an_office_median_follows_a_new_first_touch(hand_event):
    cron()
    assert league(view())["MOW"]["median_first_touch_minutes"] == 110.0
    lead = hand_event.leads[22]  # Moscow, untouched
    lead.first_touch_at = lead.received_at + timedelta(minutes=5)
    db.session.commit()
    # 22 values: 5, 10, 20, …, 200, 2000 → 11th and 12th are 100 and 110.
    assert league(view())["MOW"]["median_first_touch_minutes"] == 105.0
    assert stored_medians()["MOW"] == 110.0  # the view computed it, the cron stores it
    cron()
    assert stored_medians()["MOW"] == 105.0
    assert league(view())["MOW"]["median_first_touch_minutes"] == 105.0


def test_revenue_follows_the_events_currency_when_it_changes(hand_event):
    cron()
    assert hand_row(view())["revenue_won"] == 24500.0
    hand_event.event.currency = "USD"  # only lead 0's deal has no currency of its own
    db.session.commit()
    # Lead 0's 12,000 is now in USD, which has no rate: it is counted apart, not as 0.
    row = hand_row(view())
    assert row["revenue_won"] == 12500.0
    assert row["not_converted"] == {
        "deals": 1, "amounts": [{"currency": "USD", "amount": 12000.0}],
    }  # fmt: skip


def test_the_rollup_holds_the_same_counts_as_the_leads(hand_event):
    cron()
    summed = db.session.execute(
        select(func.sum(EventOfficeStats.leads), func.sum(EventOfficeStats.touched))
    ).one()
    touched = db.session.scalar(select(func.count()).where(Lead.first_touch_at.is_not(None)))
    assert tuple(summed) == (40, touched) == (40, 26)


def test_the_cron_job_builds_the_rollup_that_the_next_view_reads(app, hand_event):
    # Leads last changed an hour ago: any build covers them.
    db.session.execute(update(Lead).values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert queries.stale_event_ids() == [hand_event.event.id]

    assert run_rollup_cron_job(app) == {"events": 1, "offices": 2}
    assert queries.stale_event_ids() == []
    # Moscow: 10, 20, …, 200 and 2000 → 11th of 21 is 110; St Petersburg: 60 … 1500 → 300.
    assert stored_medians() == {"MOW": 110.0, "SPB": 300.0}
    rows = set(db.session.scalars(select(EventOfficeStats.id)))
    data = view()
    assert set(db.session.scalars(select(EventOfficeStats.id))) == rows
    row = hand_row(data)
    assert (row["leads"], row["won"], row["revenue_won"]) == (40, 3, 24500.0)
    assert league(data)["SPB"]["median_first_touch_minutes"] == 300.0


def test_the_next_cron_run_rebuilds_a_changed_event_and_only_the_moved_office(app, hand_event):
    run_rollup_cron_job(app)
    won = hand_event.leads[5]  # Moscow, contacted, no deal; its touch stays
    won.status, won.deal_value, won.won_at = "won", Decimal("1000"), utcnow()
    touched = hand_event.leads[37]  # St Petersburg, untouched
    touched.first_touch_at = touched.received_at + timedelta(minutes=30)
    db.session.commit()

    assert run_rollup_cron_job(app) == {"events": 1, "offices": 1}
    stats = EventOfficeStats
    in_rollup = db.session.execute(
        select(func.sum(stats.won), func.sum(stats.revenue_won), func.sum(stats.touched))
    ).one()
    assert tuple(in_rollup) == (4, Decimal("25500"), 27)
    # St Petersburg: 30, 60, 120, 300, 600, 1500 → (120 + 300) / 2.
    assert stored_medians() == {"MOW": 110.0, "SPB": 210.0}
