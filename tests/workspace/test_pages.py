"""The server-rendered workspace: the lead page shows everything, and its forms work."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Touch
from backend.messaging.models import Message


def _csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_lead_page_shows_contact_capture_routing_brief_and_autoresponder(
    make_lead, rep, auth, client
):
    lead = make_lead(answers={"budget": ">10k"}, notes="met at the bar",
                     badge_raw="BEGIN:VCARD", phone_normalized="+74950000001")  # fmt: skip
    db.session.add(
        Message(key=f"autoresponder:lead:{lead.id}", kind="autoresponder", lead_id=lead.id,
                recipient=lead.email, subject="Thanks for visiting us at Expo Moscow, Ivan",
                body_text="Hello Ivan, here is your 20% offer.", status="sent")
    )  # fmt: skip
    db.session.commit()
    auth.login(rep.email)

    html = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)

    assert 'href="tel:+74950000001"' in html and 'href="mailto:ivan@example.com"' in html
    assert "20% off the first year" in html and "until 31 Dec" in html and "uptime" in html
    assert "Thanks for visiting us at Expo Moscow, Ivan" in html and ">sent<" in html
    assert "<dt>Budget</dt><dd>&gt;10k</dd>" in html  # the question's label, not its id
    assert "met at the bar" in html and "BEGIN:VCARD" in html
    assert "nearest office (3 km)" in html
    assert "No touches yet" in html


def test_a_touch_logged_through_the_form_is_taken_in_the_office_time_zone(
    make_lead, office, rep, auth, client
):
    lead = make_lead(age=timedelta(days=2))
    db.session.commit()
    auth.login(rep.email)
    url = f"/office/leads/{lead.id}"
    local = (utcnow() - timedelta(hours=3)).astimezone(ZoneInfo(office.timezone))

    response = client.post(
        f"{url}/touch",
        data={"csrf_token": _csrf(client, url), "kind": "call", "outcome": "reached",
              "at": local.strftime("%Y-%m-%dT%H:%M")},
        follow_redirects=True,
    )  # fmt: skip

    assert "Call logged." in response.get_data(as_text=True)
    touch = db.session.scalar(db.select(Touch))
    assert abs(touch.at - local.replace(second=0, microsecond=0).astimezone(UTC)) < timedelta(
        seconds=1
    )


def test_a_refused_form_action_says_why_on_the_page(make_lead, rep, auth, client):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    url = f"/office/leads/{lead.id}"

    response = client.post(
        f"{url}/status", data={"csrf_token": _csrf(client, url), "status": "won"},
        follow_redirects=True,
    )  # fmt: skip

    html = response.get_data(as_text=True)
    assert "Not saved — A new lead cannot become won; allowed: contacted, qualified, lost." in html


def test_a_form_without_its_csrf_token_is_refused(make_lead, rep, auth, client):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)

    response = client.post(f"/office/leads/{lead.id}/claim")

    assert response.status_code == 400
    db.session.refresh(lead)
    assert lead.claimed_by_id is None


def test_the_manager_sees_team_load_and_sets_the_order_through_the_form(
    make_lead, manager, rep, auth, client
):
    make_lead(claimed_by_id=rep.id, routed_at=datetime(2026, 1, 5, 9, tzinfo=UTC))
    db.session.commit()
    auth.login(manager.email)

    response = client.post(
        "/office/order",
        data={"csrf_token": _csrf(client, "/office"), "monthly_lead_order": "40"},
        follow_redirects=True,
    )  # fmt: skip

    html = response.get_data(as_text=True)
    assert "Monthly lead order saved." in html
    assert "received of <strong>40</strong> ordered" in html
    assert 'id="team-load"' in html and "Rita Rep" in html


def test_a_rep_sees_no_team_load(make_lead, rep, auth, client):
    auth.login(rep.email)
    html = client.get("/office").get_data(as_text=True)
    assert 'id="team-load"' not in html
