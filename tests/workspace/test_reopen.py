"""Undo a close: a won lead goes back to qualified and leaves the revenue, a lost one goes
back to the status it had; the closer or a manager may, with a reason, audited."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.leads.models import QualityFeedback
from backend.reports.services import event_report
from backend.workspace import queries, services


def _won(make_lead, rep, value="1200000"):
    lead = make_lead(status="qualified", first_touch_at=None)
    services.change_status(
        lead, rep, status="won", deal_value=Decimal(value), deal_currency="RUB"
    )  # the reporting currency
    db.session.commit()
    return lead


def test_the_rep_who_won_it_reopens_it_and_the_revenue_follows(make_lead, event, rep, auth, api):
    lead = _won(make_lead, rep)
    assert Decimal(str(event_report(event)["revenue_won"])) == Decimal("1200000")
    auth.login(rep.email)

    response = api.post(f"/api/v1/leads/{lead.id}/reopen", json={"reason": "typo: wrong lead"})

    assert response.status_code == 200, response.json
    assert response.json["status"] == "qualified"
    assert response.json["deal_value"] is None and response.json["won_at"] is None
    db.session.expire_all()
    assert Decimal(str(event_report(event)["revenue_won"])) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "lead.reopened"))
    assert entry.user_id == rep.id and entry.target_id == str(lead.id)
    assert entry.detail["from"] == "won" and entry.detail["to"] == "qualified"
    assert (
        entry.detail["reason"] == "typo: wrong lead" and entry.detail["deal_value"] == "1200000.00"
    )


def test_a_lost_lead_goes_back_to_the_status_it_had(make_lead, rep, manager, auth, api):
    lead = make_lead(status="contacted")
    services.change_status(lead, rep, status="lost", lost_reason="no budget")
    db.session.commit()
    auth.login(manager.email)  # a manager may reopen what a rep closed

    response = api.post(f"/api/v1/leads/{lead.id}/reopen", json={"reason": "budget found"})

    assert response.status_code == 200, response.json
    assert response.json["status"] == "contacted" and response.json["lost_reason"] is None


def test_another_rep_may_not_reopen_and_an_open_lead_cannot_be(make_lead, rep, rep2, auth, api):
    lead = _won(make_lead, rep)
    open_lead = make_lead(status="contacted")
    db.session.commit()
    auth.login(rep2.email)

    refused = api.post(f"/api/v1/leads/{lead.id}/reopen", json={"reason": "not mine"})
    not_closed = api.post(f"/api/v1/leads/{open_lead.id}/reopen", json={"reason": "why not"})
    no_reason = api.post(f"/api/v1/leads/{lead.id}/reopen", json={})

    assert refused.status_code == 403
    assert not_closed.status_code == 422 and not_closed.json["error"]["code"] == "not_closed"
    assert no_reason.status_code == 422


def _csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_lead_page_has_a_reopen_button_for_the_closer_in_russian_too(
    make_lead, rep, rep2, auth, client
):
    lead = _won(make_lead, rep)
    rep.language = "ru"
    db.session.commit()
    url = f"/office/leads/{lead.id}"
    auth.login(rep2.email)
    assert 'id="reopen"' not in client.get(url).get_data(as_text=True)
    auth.login(rep.email)

    page = client.get(url).get_data(as_text=True)
    after = client.post(f"{url}/reopen", data={"csrf_token": _csrf(client, url),
                                                "reason": "ошибся"}, follow_redirects=True)  # fmt: skip

    assert 'id="reopen"' in page and "Открыть снова" in page
    html = after.get_data(as_text=True)
    assert "Лид снова открыт: квалифицирован." in html
    assert 'id="move-status"' in html and 'id="log-touch"' in html


def test_feedback_requested_clears_once_the_verdict_is_in(make_lead, office, rep, auth, client):
    lead = make_lead(feedback_requested=True)
    db.session.commit()
    page = queries.queue_page(office, rep, _query())
    assert (
        "feedback_requested" in queries.queue_item(lead, office, page.now, page.awaiting)["flags"]
    )

    db.session.add(QualityFeedback(lead_id=lead.id, user_id=rep.id, verdict="good"))
    db.session.commit()
    page = queries.queue_page(office, rep, _query())
    auth.login(rep.email)

    assert (
        "feedback_requested"
        not in queries.queue_item(lead, office, page.now, page.awaiting)["flags"]
    )
    assert "Marketing asks: good lead?" not in client.get(f"/office/leads/{lead.id}").get_data(
        as_text=True
    )
    queue = client.get("/office").get_data(as_text=True)
    assert '<span class="tag">Marketing asks: good lead?</span>' not in queue


def _query():
    from backend.workspace.schemas import QueueQuery

    return QueueQuery()
