"""Working a lead: claim, touches, the pipeline, hand-over, contact fixes, feedback, assigning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from standardwebhooks import Webhook

from backend.audit.models import AuditEntry
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import QualityFeedback, RoutingDecision, Touch
from backend.messaging.models import Message
from backend.workspace import queries, services

WEBHOOK_SECRET = "whsec_" + "d29uLWxlYWQtc2VjcmV0"  # base64 of "won-lead-secret"


def _iso(value: datetime) -> str:
    return value.isoformat()


# --------------------------------------------------------------------------- claim


def test_a_rep_claims_a_free_lead_and_a_second_rep_is_refused(make_lead, rep, rep2, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    claimed = api.post(f"/api/v1/leads/{lead.id}/claim")
    assert claimed.status_code == 200
    assert claimed.json["claimed_by"]["name"] == "Rita Rep"

    auth.login(rep2.email)
    refused = api.post(f"/api/v1/leads/{lead.id}/claim")
    assert refused.status_code == 409
    assert "Rita Rep" in refused.json["error"]["message"]
    assert api.post(f"/api/v1/leads/{lead.id}/unclaim").status_code == 403


def test_the_claimer_releases_the_claim(make_lead, rep, auth, api):
    lead = make_lead(claimed_by_id=rep.id, claimed_at=utcnow())
    db.session.commit()
    auth.login(rep.email)

    response = api.post(f"/api/v1/leads/{lead.id}/unclaim")

    assert response.status_code == 200 and response.json["claimed_by"] is None


# --------------------------------------------------------------------------- touches


def test_the_first_touch_stops_the_sla_clock_and_makes_the_lead_contacted(
    make_lead, office, rep, auth, api
):
    lead = make_lead(age=timedelta(hours=30))
    db.session.commit()
    assert queries.sla_view(lead, office, utcnow())["overdue"] is True
    auth.login(rep.email)
    called_at = utcnow() - timedelta(minutes=20)

    response = api.post(
        f"/api/v1/leads/{lead.id}/touches",
        json={"kind": "call", "outcome": "reached", "note": "wants a demo", "at": _iso(called_at)},
    )

    assert response.status_code == 201, response.json
    assert response.json["touch"]["kind"] == "call"
    db.session.refresh(lead)
    assert lead.first_touch_at == called_at
    assert lead.status == "contacted"
    assert lead.claimed_by_id == rep.id
    clock = queries.sla_view(lead, office, utcnow())
    assert clock["due_at"] is None and clock["overdue"] is False and clock["label"] == "touched"
    page = api.get("/api/v1/queue").json
    assert page["counts"]["overdue"] == 0


def test_a_later_touch_keeps_the_first_touch_time(make_lead, rep):
    lead = make_lead(age=timedelta(hours=3))
    first = utcnow() - timedelta(hours=2)
    services.log_touch(lead, rep, kind="note", at=first)
    assert lead.status == "new"  # a note is a touch, not yet a contact
    services.log_touch(lead, rep, kind="email")
    assert lead.first_touch_at == first
    assert lead.status == "contacted"


def test_a_touch_defaults_to_now(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    before = utcnow()

    response = api.post(f"/api/v1/leads/{lead.id}/touches", json={"kind": "meeting"})

    assert response.status_code == 201
    at = datetime.fromisoformat(response.json["touch"]["at"])
    assert before - timedelta(seconds=1) <= at <= utcnow()


def test_a_touch_in_the_future_is_refused(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)

    response = api.post(
        f"/api/v1/leads/{lead.id}/touches",
        json={"kind": "call", "at": _iso(utcnow() + timedelta(hours=1))},
    )

    assert response.status_code == 422
    assert response.json["error"]["code"] == "touch_in_future"
    assert response.json["error"]["fields"][0]["field"] == "at"
    assert db.session.scalar(db.select(db.func.count()).select_from(Touch)) == 0


def test_a_touch_before_the_lead_arrived_is_refused_with_the_arrival_time(
    make_lead, rep, auth, api
):
    arrived = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    lead = make_lead(routed_at=arrived)
    db.session.commit()
    auth.login(rep.email)

    response = api.post(
        f"/api/v1/leads/{lead.id}/touches",
        json={"kind": "call", "at": _iso(arrived - timedelta(minutes=1))},
    )

    assert response.status_code == 422
    assert "2026-03-02 09:30 UTC" in response.json["error"]["message"]
    db.session.refresh(lead)
    assert lead.first_touch_at is None


def test_a_touch_time_without_a_time_zone_is_refused(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)

    response = api.post(
        f"/api/v1/leads/{lead.id}/touches", json={"kind": "call", "at": "2026-05-01T10:00:00"}
    )

    assert response.status_code == 422
    assert response.json["error"]["fields"][0]["field"] == "at"


# --------------------------------------------------------------------------- pipeline


def test_a_lead_moves_new_contacted_qualified_won_with_its_deal_value(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    url = f"/api/v1/leads/{lead.id}"

    assert api.patch(url, json={"status": "contacted"}).status_code == 200
    assert api.patch(url, json={"status": "qualified"}).status_code == 200
    won = api.patch(url, json={"status": "won", "deal_value": "12500.50"})

    assert won.status_code == 200, won.json
    assert won.json["status"] == "won"
    assert won.json["deal_value"] == "12500.50"
    assert won.json["deal_currency"] == "EUR"  # the event's currency
    assert won.json["won_at"] is not None
    entries = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "lead.status").order_by(AuditEntry.id)
    )
    assert [e.detail["to"] for e in entries] == ["contacted", "qualified", "won"]


def test_an_invalid_jump_is_refused_naming_the_allowed_statuses(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)

    response = api.patch(f"/api/v1/leads/{lead.id}", json={"status": "won", "deal_value": 100})

    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_transition"
    assert error["message"] == (
        "A new lead cannot become won; allowed: contacted, qualified, lost."
    )
    db.session.refresh(lead)
    assert lead.status == "new"


def test_a_won_or_lost_lead_is_final(make_lead, rep):
    lead = make_lead(status="won")
    try:
        services.change_status(lead, rep, status="contacted")
    except services.ApiError as exc:
        assert exc.status == 422 and "final" in exc.message
    else:
        raise AssertionError("a won lead was reopened")


def test_won_needs_a_deal_value_above_zero(make_lead, rep, auth, api):
    lead = make_lead(status="qualified")
    db.session.commit()
    auth.login(rep.email)
    url = f"/api/v1/leads/{lead.id}"

    missing = api.patch(url, json={"status": "won"})
    zero = api.patch(url, json={"status": "won", "deal_value": 0, "deal_currency": "USD"})

    assert missing.status_code == zero.status_code == 422
    assert missing.json["error"]["code"] == "deal_value_required"
    assert zero.json["error"]["fields"] == [
        {"field": "deal_value", "message": "must be above zero"}
    ]
    ok = api.patch(url, json={"status": "won", "deal_value": 900, "deal_currency": "usd"})
    assert ok.status_code == 200 and ok.json["deal_currency"] == "USD"


def test_lost_needs_a_reason(make_lead, rep, auth, api):
    lead = make_lead(status="contacted")
    db.session.commit()
    auth.login(rep.email)
    url = f"/api/v1/leads/{lead.id}"

    assert api.patch(url, json={"status": "lost"}).json["error"]["code"] == "lost_reason_required"
    lost = api.patch(url, json={"status": "lost", "lost_reason": "chose a competitor"})
    assert lost.status_code == 200 and lost.json["lost_reason"] == "chose a competitor"


def test_a_stale_lead_is_revived_by_contacting_it(make_lead, rep):
    lead = make_lead(status="stale")
    services.change_status(lead, rep, status="contacted")
    assert lead.status == "contacted"


# --------------------------------------------------------------------------- hand-over


def test_a_hand_over_writes_a_routing_decision_and_clears_the_claim(
    make_lead, rep, other_rep, other_office, auth, api
):
    lead = make_lead(claimed_by_id=rep.id, claimed_at=utcnow(), age=timedelta(hours=5))
    db.session.commit()
    auth.login(rep.email)

    response = api.post(
        f"/api/v1/leads/{lead.id}/handover",
        json={"office_code": "SPB", "reason": "the client's HQ is in Saint Petersburg"},
    )

    assert response.status_code == 200, response.json
    assert response.json["office"]["code"] == "SPB"
    assert response.json["claimed_by"] is None
    decision = db.session.scalars(
        db.select(RoutingDecision).where(RoutingDecision.lead_id == lead.id)
        .order_by(RoutingDecision.id.desc())
    ).first()  # fmt: skip
    assert decision.method == "handover"
    assert decision.office_id == other_office.id
    assert decision.decided_by_id == rep.id
    assert "the client's HQ is in Saint Petersburg" in decision.reason
    assert decision.distance_km > 500
    # Gone from the old office, in the new one's queue with a fresh SLA clock.
    assert api.get(f"/api/v1/leads/{lead.id}").status_code == 404
    auth.login(other_rep.email)
    items = api.get("/api/v1/queue").json["items"]
    assert [i["id"] for i in items] == [lead.id]
    assert items[0]["sla"]["remaining_seconds"] > 23 * 3600


def test_a_hand_over_to_an_unknown_or_the_same_office_is_refused(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    url = f"/api/v1/leads/{lead.id}/handover"

    assert api.post(url, json={"office_code": "XXX", "reason": "why not"}).status_code == 404
    assert api.post(url, json={"office_code": "MOW", "reason": "why not"}).status_code == 422
    assert api.post(url, json={"office_code": "MOW", "reason": ""}).status_code == 422


# --------------------------------------------------------------------------- permissions


def test_another_office_lead_is_a_404_for_pages_and_every_action(
    make_lead, other_office, rep, auth, api, client
):
    lead = make_lead(target=other_office)
    db.session.commit()
    auth.login(rep.email)
    base = f"/api/v1/leads/{lead.id}"

    assert client.get(f"/office/leads/{lead.id}").status_code == 404
    assert api.post(f"{base}/claim").status_code == 404
    assert api.post(f"{base}/touches", json={"kind": "call"}).status_code == 404
    assert api.patch(base, json={"status": "contacted"}).status_code == 404
    assert (
        api.post(f"{base}/handover", json={"office_code": "MOW", "reason": "mine"}).status_code
        == 404
    )
    assert api.patch(f"{base}/contact", json={"phone": "+74950000009"}).status_code == 404
    assert api.post(f"{base}/feedback", json={"verdict": "good"}).status_code == 404
    db.session.refresh(lead)
    assert lead.claimed_by_id is None and lead.status == "new"


# --------------------------------------------------------------------------- contact data


def test_fixing_contact_data_keeps_the_original_capture_and_records_the_change(
    make_lead, rep, auth, api
):
    lead = make_lead(email="ivan@exmaple", flags=["bad_email"],
                     original={"email": "ivan@exmaple", "first_name": "Ivan"})  # fmt: skip
    db.session.commit()
    auth.login(rep.email)

    response = api.patch(
        f"/api/v1/leads/{lead.id}/contact", json={"email": "ivan@example.com", "company": "Acme"}
    )

    assert response.status_code == 200, response.json
    assert response.json["email"] == "ivan@example.com"
    assert "bad_email" not in response.json["flags"]
    db.session.refresh(lead)
    assert lead.original["email"] == "ivan@exmaple"
    assert lead.email_normalized == "ivan@example.com"
    entry = db.session.scalar(
        db.select(AuditEntry).where(AuditEntry.action == "lead.contact_fixed")
    )
    assert entry.detail == {"email": ["ivan@exmaple", "ivan@example.com"]}
    assert entry.user_id == rep.id


# --------------------------------------------------------------------------- feedback


def test_quality_feedback_is_recorded_once_per_lead(make_lead, rep, rep2, auth, api):
    lead = make_lead(feedback_requested=True)
    db.session.commit()
    auth.login(rep.email)
    url = f"/api/v1/leads/{lead.id}/feedback"

    first = api.post(url, json={"verdict": "bad", "reason": "student_or_job_seeker"})
    assert first.status_code == 201, first.json
    assert first.json["reason"] == "student_or_job_seeker"

    auth.login(rep2.email)
    second = api.post(url, json={"verdict": "good"})
    assert second.status_code == 409
    rows = db.session.scalars(db.select(QualityFeedback)).all()
    assert [(r.verdict, r.user_id) for r in rows] == [("bad", rep.id)]


def test_feedback_needs_a_sampled_lead_and_a_reason_when_bad(make_lead, rep, auth, api):
    sampled = make_lead(feedback_requested=True)
    unsampled = make_lead()
    db.session.commit()
    auth.login(rep.email)

    assert api.post(f"/api/v1/leads/{unsampled.id}/feedback",
                    json={"verdict": "good"}).status_code == 422  # fmt: skip
    no_reason = api.post(f"/api/v1/leads/{sampled.id}/feedback", json={"verdict": "bad"})
    assert no_reason.json["error"]["code"] == "reason_required"
    bad_reason = api.post(f"/api/v1/leads/{sampled.id}/feedback",
                          json={"verdict": "bad", "reason": "ugly"})  # fmt: skip
    assert bad_reason.status_code == 422


# --------------------------------------------------------------------------- manager


def test_a_manager_assigns_a_lead_to_a_rep_and_sees_the_team_load(
    make_lead, manager, rep, rep2, other_rep, auth, api
):
    lead = make_lead()
    make_lead(age=timedelta(hours=40))  # unclaimed and overdue
    db.session.commit()
    auth.login(manager.email)

    assigned = api.post(f"/api/v1/leads/{lead.id}/assign", json={"user_id": rep2.id})
    outsider = api.post(f"/api/v1/leads/{lead.id}/assign", json={"user_id": other_rep.id})

    assert assigned.status_code == 200
    assert assigned.json["claimed_by"] == {"id": rep2.id, "name": "Roman Rep"}
    assert outsider.status_code == 422
    load = {(r["user"] or {}).get("name"): (r["open"], r["overdue"])
            for r in api.get("/api/v1/office/team").json["reps"]}  # fmt: skip
    assert load == {
        "Maria Manager": (0, 0), "Rita Rep": (0, 0), "Roman Rep": (1, 0), None: (1, 1)
    }  # fmt: skip


def test_a_rep_may_not_assign_leads(make_lead, rep, rep2, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)

    response = api.post(f"/api/v1/leads/{lead.id}/assign", json={"user_id": rep2.id})

    assert response.status_code == 403


def test_the_office_manager_sets_the_monthly_lead_order(
    make_lead, manager, rep, other_office, auth, api, client
):
    make_lead()
    make_lead()
    db.session.commit()
    auth.login(manager.email)

    response = api.client.put(
        "/api/v1/offices/MOW/order", json={"monthly_lead_order": 150},
        headers={"X-Requested-With": "fetch"},
    )  # fmt: skip

    assert response.status_code == 200, response.json
    assert response.json["monthly_lead_order"] == 150
    assert response.json["received_this_month"] == 2
    html = client.get("/office").get_data(as_text=True)
    assert "received of <strong>150</strong> ordered" in html
    other = api.client.put(
        "/api/v1/offices/SPB/order", json={"monthly_lead_order": 5},
        headers={"X-Requested-With": "fetch"},
    )  # fmt: skip
    assert other.status_code == 404
    auth.login(rep.email)
    refused = api.client.put(
        "/api/v1/offices/MOW/order", json={"monthly_lead_order": 1},
        headers={"X-Requested-With": "fetch"},
    )  # fmt: skip
    assert refused.status_code == 403


def test_winning_a_lead_on_its_page_posts_a_signed_lead_won_webhook(
    app, make_lead, rep, auth, client, receiver, run_worker
):
    app.config.update(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=WEBHOOK_SECRET)
    lead = make_lead(status="qualified")
    db.session.commit()
    auth.login(rep.email)
    page = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    won = client.post(
        f"/office/leads/{lead.id}/status",
        data={"csrf_token": csrf, "status": "won", "deal_value": "12 500"},
    )

    assert won.status_code == 302
    db.session.expire_all()
    [row] = db.session.scalars(
        select(Message).where(Message.lead_id == lead.id, Message.kind == "webhook:lead.won")
    ).all()
    assert row.status == "pending"
    run_worker(("webhooks",))  # woken by the request's commit: no sweep needed
    [(_, headers, body)] = receiver.hits
    data = Webhook(WEBHOOK_SECRET).verify(body, headers)
    assert data["event"] == "lead.won" and data["lead"]["id"] == lead.id
    assert data["lead"]["deal_value"] == "12500.00"
    assert db.session.get(Message, row.id).status == "sent"


def test_a_refused_win_writes_no_webhook(app, make_lead, rep, auth, api, receiver):
    app.config.update(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=WEBHOOK_SECRET)
    lead = make_lead(status="new")  # won only after qualified
    db.session.commit()
    auth.login(rep.email)

    response = api.patch(f"/api/v1/leads/{lead.id}", json={"status": "won", "deal_value": 10})

    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
