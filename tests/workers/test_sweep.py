"""The sweep: SLA ladder, weekend pause, stale leads, alerts to marketing — time injected."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from backend.audit.models import AuditEntry
from backend.cli import main
from backend.extensions import db
from backend.leads.models import Lead, QualityFeedback, RoutingDecision
from tests.factories import make_office, make_user
from tests.followup import at_once, messages
from workers.sweep import run_sweep


def _reload(lead) -> Lead:
    db.session.expire_all()
    return db.session.get(Lead, lead.id)


def _route_at(lead, at: datetime) -> Lead:
    db.session.execute(db.update(Lead).where(Lead.id == lead.id).values(routed_at=at))
    db.session.commit()
    return _reload(lead)


@pytest.fixture
def every_day(world):
    for office in (world["mow"], world["spb"]):
        office.working_days, office.timezone = "1234567", "UTC"
    db.session.commit()
    return world


def test_each_ladder_step_fires_once_at_its_share_of_the_sla(every_day, capture, run_worker, smtp):
    [lead] = capture()
    start = lead.routed_at
    assert run_sweep(now=start + timedelta(hours=17, minutes=59))["reminded"] == []

    report = run_sweep(now=start + timedelta(hours=18))
    assert report["reminded"] == [lead.id]
    assert _reload(lead).escalation_level == 1
    [reminder] = messages(kind="sla_reminder")
    assert {"mow@offices.example.com", "rep@mow.example.com"} <= set(reminder.recipient.split(", "))
    assert run_sweep(now=start + timedelta(hours=20))["reminded"] == []

    report = run_sweep(now=start + timedelta(hours=24))
    assert report["escalated"] == [lead.id]
    lead = _reload(lead)
    assert lead.escalation_level == 2 and lead.escalated_at == start + timedelta(hours=24)
    [escalation] = messages(kind="escalation")
    assert set(escalation.recipient.split(", ")) == {
        "boss@mow.example.com",
        "marketing@example.com",
    }

    report = run_sweep(now=start + timedelta(hours=48))
    assert report["reassigned"] == [lead.id]
    lead = _reload(lead)
    assert (lead.escalation_level, lead.office_id) == (3, every_day["spb"].id)
    decision = db.session.scalars(
        db.select(RoutingDecision)
        .where(RoutingDecision.lead_id == lead.id)
        .order_by(RoutingDecision.id)
    ).all()[-1]
    assert decision.method == "escalation"
    told = {m.office_id for m in messages(kind="reassigned")}
    assert told == {every_day["mow"].id, every_day["spb"].id}

    run_worker()
    assert len(smtp.to("boss@mow.example.com")) >= 1
    assert any("Reassigned" in m["Subject"] for m in smtp.to("boss@spb.example.com"))
    assert {m.status for m in messages()} == {"sent"}


def test_a_touched_lead_is_never_escalated(every_day, capture):
    [lead] = capture()
    lead.first_touch_at = lead.routed_at + timedelta(hours=1)
    db.session.commit()
    report = run_sweep(now=lead.routed_at + timedelta(days=3))
    assert report["reminded"] == report["escalated"] == report["reassigned"] == []


def test_a_lead_found_late_gets_only_its_furthest_step(every_day, capture):
    [lead] = capture()
    report = run_sweep(now=lead.routed_at + timedelta(hours=30))
    assert report["escalated"] == [lead.id] and report["reminded"] == []
    assert [m.kind for m in messages(lead_id=lead.id) if m.kind.startswith(("sla", "esc"))] == [
        "escalation"
    ]


def test_a_friday_evening_lead_in_moscow_is_not_escalated_over_the_weekend(world, capture):
    # 2026-11-27 is a Friday; 16:00 UTC is 19:00 in Moscow: 5 working hours are left.
    [lead] = capture()
    friday_evening = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    lead = _route_at(lead, friday_evening)
    sunday_night = datetime(2026, 11, 29, 20, 59, tzinfo=UTC)  # 23:59 Sunday in Moscow
    report = run_sweep(now=sunday_night)
    assert report["reminded"] == report["escalated"] == []
    # Monday 13:00 Moscow: 5 h on Friday + 13 h on Monday = 18 h = 75 % of 24 h.
    assert run_sweep(now=datetime(2026, 11, 30, 10, 0, tzinfo=UTC))["reminded"] == [lead.id]
    assert run_sweep(now=datetime(2026, 11, 30, 15, 59, tzinfo=UTC))["escalated"] == []
    assert run_sweep(now=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))["escalated"] == [lead.id]


def test_a_lead_untouched_for_thirty_days_goes_stale(every_day, capture):
    [fresh, old] = capture(2)
    db.session.execute(
        db.update(Lead)
        .where(Lead.id == old.id)
        .values(received_at=old.received_at - timedelta(days=30))
    )
    db.session.commit()
    report = run_sweep(now=fresh.received_at + timedelta(minutes=1))
    assert report["stale"] == [old.id]
    assert _reload(old).status == "stale" and _reload(fresh).status == "new"


def test_two_overlapping_sweeps_notify_once(every_day, capture, app):
    leads = capture(5)
    now = leads[0].routed_at + timedelta(hours=25)
    reports = at_once(app, lambda: run_sweep(now=now), 3)
    escalated = sorted(i for r in reports for i in r["escalated"])
    assert escalated == sorted(lead.id for lead in leads)
    assert len(messages(kind="escalation")) == 5


def test_a_dry_run_reports_without_changing_anything(every_day, capture, runner):
    [lead] = capture()
    now = (lead.routed_at + timedelta(hours=25)).isoformat()
    result = runner.invoke(main, args=["sweep", "--now", now, "--dry-run"])  # `leadrelay sweep`
    assert result.exit_code == 0, result.output
    assert f'"escalated": [\n    {lead.id}\n  ]' in result.output
    assert _reload(lead).escalation_level == 0
    assert messages(kind="escalation") == []


def _decisions(lead) -> list[RoutingDecision]:
    return db.session.scalars(
        db.select(RoutingDecision)
        .where(RoutingDecision.lead_id == lead.id)
        .order_by(RoutingDecision.id)
    ).all()


def _ladder_mails(lead) -> list[tuple[str, int]]:
    kinds = ("sla_reminder", "escalation", "reassigned")
    return [(m.kind, m.office_id) for m in messages(lead_id=lead.id) if m.kind in kinds]


def test_the_new_office_gets_its_own_reminder_and_escalation_after_a_reassignment(
    every_day, capture, run_worker, smtp, receiver, app
):
    app.config["WEBHOOK_URL"] = receiver.url
    mow, spb = every_day["mow"].id, every_day["spb"].id
    [lead] = capture()
    start = lead.routed_at
    run_sweep(now=start + timedelta(hours=18))
    run_sweep(now=start + timedelta(hours=24))
    moved_at = start + timedelta(hours=48)
    assert run_sweep(now=moved_at)["reassigned"] == [lead.id]
    lead = _reload(lead)
    # The new office's clock starts when the lead reaches it.
    assert (lead.office_id, lead.routed_at) == (spb, moved_at)

    assert run_sweep(now=moved_at + timedelta(hours=17, minutes=59))["reminded"] == []
    assert run_sweep(now=moved_at + timedelta(hours=18))["reminded"] == [lead.id]
    assert run_sweep(now=moved_at + timedelta(hours=20))["reminded"] == []
    assert run_sweep(now=moved_at + timedelta(hours=24))["escalated"] == [lead.id]
    assert run_sweep(now=moved_at + timedelta(hours=30))["escalated"] == []
    assert _ladder_mails(lead) == [
        ("sla_reminder", mow), ("escalation", mow), ("reassigned", mow), ("reassigned", spb),
        ("sla_reminder", spb), ("escalation", spb),
    ]  # fmt: skip
    lead = _reload(lead)
    # Still one escalated lead for the reports, escalated since its first office's SLA.
    assert lead.escalation_level >= 2 and lead.escalated_at == start + timedelta(hours=24)

    run_worker()
    spb_mails = [m["Subject"].strip() for m in smtp.to("boss@spb.example.com")]
    assert any(s.startswith("Reminder:") for s in spb_mails), spb_mails
    assert any(s.startswith("Escalated:") and "Saint Petersburg" in s for s in spb_mails)
    escalated = [h for h in receiver.hits if h[1]["x-leadrelay-event"] == "lead.escalated"]
    offices = [json.loads(body)["office"]["code"] for _, _, body in escalated]
    assert sorted(offices) == ["MOW", "SPB"]
    assert {m.status for m in messages()} == {"sent"}


def test_a_lead_ignored_at_its_second_office_is_not_sent_back_to_the_first(every_day, capture):
    [lead] = capture()
    run_sweep(now=lead.routed_at + timedelta(hours=48))
    moved_at = _reload(lead).routed_at
    report = run_sweep(now=moved_at + timedelta(hours=48))
    assert report["reassigned"] == [] and report["not_reassigned"] == [lead.id]
    lead = _reload(lead)
    assert lead.office_id == every_day["spb"].id and len(_decisions(lead)) == 2
    [stays] = [m for m in messages(kind="reassigned") if m.subject.startswith("Not reassigned")]
    assert "marketing@example.com" in stays.recipient and "spb@" in stays.recipient
    # The ladder has ended at this office: nothing more until the lead goes stale.
    sent = len(messages())
    for days in (3, 5, 10):
        report = run_sweep(now=moved_at + timedelta(days=days))
        assert report["reminded"] == report["escalated"] == report["not_reassigned"] == []
    assert len(messages()) == sent


def test_a_third_office_takes_the_lead_then_marketing_decides(every_day, capture):
    nsk = make_office("NSK", working_days="1234567", timezone="UTC")
    db.session.commit()
    [lead] = capture()
    at = lead.routed_at
    offices = []
    for _ in range(3):
        at += timedelta(hours=48)
        run_sweep(now=at)
        offices.append(_reload(lead).office_id)
    assert offices == [every_day["spb"].id, nsk.id, nsk.id]
    assert [d.method for d in _decisions(lead)][1:] == ["escalation", "escalation"]
    [stays] = [m for m in messages(kind="reassigned") if m.subject.startswith("Not reassigned")]
    assert "marketing@example.com" in stays.recipient
    assert "2 times already" in stays.body_text


def test_an_automatic_reassignment_is_in_the_audit_log_as_the_systems(
    every_day, capture, client, auth
):
    [lead] = capture()
    run_sweep(now=lead.routed_at + timedelta(hours=48))
    [entry] = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "lead.reassigned")
    ).all()
    assert entry.user_id is None and (entry.target_type, entry.target_id) == ("lead", str(lead.id))
    assert entry.detail["actor"] == "system"
    assert (entry.detail["from"], entry.detail["to"]) == ("MOW", "SPB")

    make_user("admin", email="admin@example.com")
    db.session.commit()
    assert auth.login("admin@example.com").status_code == 200
    page = client.get("/admin/audit?action=lead.reassigned").get_data(as_text=True)
    assert "lead.reassigned</code>" in page and f"lead {lead.id}" in page
    assert "<em>LeadRelay (automatic)</em>" in page  # who did it: no person, the system


def test_a_handed_over_lead_starts_a_fresh_ladder_at_its_new_office(every_day, capture):
    from backend.workspace.services import hand_over

    [lead] = capture()
    run_sweep(now=lead.routed_at + timedelta(hours=18))
    hand_over(lead, every_day["mow_manager"], office_code="SPB", reason="they know the client")
    db.session.commit()
    lead = _reload(lead)
    report = run_sweep(now=lead.routed_at + timedelta(hours=18))
    assert report["reminded"] == [lead.id]
    assert _ladder_mails(lead) == [
        ("sla_reminder", every_day["mow"].id),
        ("sla_reminder", every_day["spb"].id),
    ]


def test_two_overlapping_sweeps_remind_the_new_office_once(every_day, capture, app):
    leads = capture(4)
    run_sweep(now=leads[0].routed_at + timedelta(hours=48))
    now = _reload(leads[0]).routed_at + timedelta(hours=19)
    reports = at_once(app, lambda: run_sweep(now=now), 3)
    assert sorted(i for r in reports for i in r["reminded"]) == sorted(x.id for x in leads)
    spb = every_day["spb"].id
    assert len([m for m in messages(kind="sla_reminder") if m.office_id == spb]) == 4


class TestSilenceAlerts:
    @pytest.fixture
    def running_event(self, world):
        event = world["event"]
        event.starts_on, event.ends_on, event.timezone = (
            date(2026, 6, 2),
            date(2026, 6, 4),
            "Europe/Moscow",
        )
        db.session.commit()
        return event

    def test_three_quiet_hours_of_event_time_tell_marketing_once_per_window(self, running_event):
        noon = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, open since 09:00
        assert len(run_sweep(now=noon - timedelta(minutes=1))["alerts"]) == 0
        assert run_sweep(now=noon)["alerts"] == [f"silence:event:{running_event.id}:2026-06-03:4"]
        assert run_sweep(now=noon + timedelta(minutes=30))["alerts"] == []
        assert len(run_sweep(now=noon + timedelta(hours=3))["alerts"]) == 1
        [first, _] = messages(kind="silence_alert")
        assert first.recipient == "marketing@example.com" and "Innoprom" in first.subject

    def test_a_recent_lead_keeps_the_alert_quiet(self, running_event, capture):
        capture(captured_at="2026-06-03T08:00:00+00:00")  # 11:00 Moscow
        assert run_sweep(now=datetime(2026, 6, 3, 10, 59, tzinfo=UTC))["alerts"] == []
        assert len(run_sweep(now=datetime(2026, 6, 3, 11, 0, tzinfo=UTC))["alerts"]) == 1

    def test_no_alert_outside_the_event_dates_or_at_night(self, running_event):
        assert run_sweep(now=datetime(2026, 6, 5, 12, 0, tzinfo=UTC))["alerts"] == []
        assert run_sweep(now=datetime(2026, 6, 3, 20, 0, tzinfo=UTC))["alerts"] == []

    def test_an_office_far_below_its_order_by_mid_month_tells_marketing_once(self, world, capture):
        world["spb"].monthly_lead_order = 100
        db.session.commit()
        assert run_sweep(now=datetime(2026, 6, 10, 12, tzinfo=UTC))["alerts"] == []
        report = run_sweep(now=datetime(2026, 6, 16, 12, tzinfo=UTC))
        assert report["alerts"] == [f"order_shortfall:office:{world['spb'].id}:2026-06"]
        assert run_sweep(now=datetime(2026, 6, 20, 12, tzinfo=UTC))["alerts"] == []
        assert len(messages(kind="order_alert")) == 1


def test_marketing_gets_the_quality_summary_once_the_whole_sample_is_rated(world, capture):
    leads = capture(3)
    sampled = [lead for lead in leads if lead.feedback_requested]
    assert len(sampled) == 2
    db.session.add(QualityFeedback(lead_id=sampled[0].id, verdict="good"))
    db.session.commit()
    assert run_sweep()["alerts"] == []
    db.session.add(QualityFeedback(lead_id=sampled[1].id, verdict="bad", reason="student"))
    db.session.commit()
    assert run_sweep()["alerts"] == [f"quality_summary:event:{world['event'].id}"]
    assert run_sweep()["alerts"] == []
    [summary] = messages(kind="quality_summary")
    assert "1 good, 1 bad of 2" in summary.subject
    assert "student: 1" in summary.body_text


def test_the_sweep_deletes_sign_ins_no_cookie_can_use_and_keeps_the_live_one(
    world, app, client, auth
):
    from backend.auth.models import UserSession

    def sessions() -> list[UserSession]:
        db.session.expire_all()
        return list(db.session.scalars(db.select(UserSession).order_by(UserSession.id)))

    me = "/api/v1/me"
    assert auth.login("mkt@example.com").status_code == 200
    assert auth.logout().status_code == 200  # ended: its cookies are refused from now on
    assert auth.login("mkt@example.com").status_code == 200
    ended, live = sessions()
    assert ended.ended_at is not None and live.ended_at is None
    assert run_sweep()["sessions_pruned"] == 1
    assert [s.id for s in sessions()] == [live.id]
    assert client.get(me).status_code == 200  # still signed in

    lifetime = app.config["REMEMBER_COOKIE_DURATION"] + app.permanent_session_lifetime
    assert run_sweep(now=live.created_at + lifetime - timedelta(minutes=1))["sessions_pruned"] == 0
    assert run_sweep(now=live.created_at + lifetime)["sessions_pruned"] == 1
    assert sessions() == [] and client.get(me).status_code == 401


def test_a_sweep_reads_the_offices_once_per_step_however_many_there_are(every_day, capture):
    """Each ladder step is committed before the next one claims, which expires what the
    sweep read: the offices are read again in one query per step, not one per office."""
    [lead] = capture()

    def statements(now) -> list[str]:
        executed = []
        record = lambda *args: executed.append(args[2])  # noqa: E731
        db.event.listen(db.engine, "before_cursor_execute", record)
        try:
            run_sweep(now=now)
        finally:
            db.event.remove(db.engine, "before_cursor_execute", record)
        return executed

    start = lead.routed_at
    few = statements(start + timedelta(hours=1))
    for n in range(12):  # on the same schedule: a claim is one statement per schedule
        make_office(f"X{n:02d}", working_days="1234567", timezone="UTC", sla_hours=24)
    db.session.commit()
    many = statements(start + timedelta(hours=2))
    assert len(many) == len(few), [s for s in many if s not in few]
    assert run_sweep(now=start + timedelta(hours=18))["reminded"] == [lead.id]
