"""Replacing an event's QR codes and taking staff off its booth."""

from __future__ import annotations

import pytest

from backend.extensions import db
from tests.factories import make_event, make_user


@pytest.fixture
def event(app):
    event = make_event(name="Innoprom")
    db.session.commit()
    return event


@pytest.fixture
def marketing(app, auth, event):
    make_user("marketing", email="mkt@example.com")
    db.session.commit()
    auth.login("mkt@example.com")


def _csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_an_old_visitor_code_shows_that_it_was_replaced(
    app, client, api, marketing, event, language
):
    old = event.visitor_token
    response = api.post(f"/api/v1/events/{event.id}/tokens/visitor/rotate")
    assert response.status_code == 200
    db.session.refresh(event)
    assert event.visitor_token != old
    assert response.get_json()["visitor_url"] == f"http://leadrelay.test/v/{event.visitor_token}"

    visitor = app.test_client()
    page = visitor.get(f"/v/{old}", headers={"Accept-Language": language})
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert ("This code was replaced" if language == "en" else "Этот код заменён") in text
    assert visitor.get(f"/v/{event.visitor_token}").status_code == 200
    api_answer = visitor.get(f"/api/v1/public/visitor/{old}")
    assert api_answer.status_code == 410
    assert api_answer.get_json()["error"]["code"] == "code_replaced"
    assert visitor.get(f"/api/v1/public/visitor/{event.visitor_token}").status_code == 200
    # A code never issued is still plainly unknown.
    assert visitor.get("/api/v1/public/visitor/never-issued").status_code == 404


def test_an_old_staff_code_cannot_join_and_says_it_was_replaced(app, client, api, marketing, event):
    old = event.join_token
    assert api.post(f"/api/v1/events/{event.id}/tokens/other/rotate").status_code == 404
    assert api.post(f"/api/v1/events/{event.id}/tokens/join/rotate").status_code == 200
    db.session.refresh(event)
    staff = make_user("staff", email="booth@example.com")
    db.session.commit()
    booth = app.test_client()
    booth.post(
        "/api/v1/auth/login",
        json={"email": "booth@example.com", "password": "secret-pass"},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    xhr = {"X-Requested-With": "XMLHttpRequest"}
    refused = booth.post("/api/v1/join", json={"token": old}, headers=xhr)
    assert refused.status_code == 410 and refused.get_json()["error"]["code"] == "code_replaced"
    page = booth.get(f"/app/?join={old}")
    assert page.status_code == 410 and "This code was replaced" in page.get_data(as_text=True)
    assert (
        booth.post("/api/v1/join", json={"token": event.join_token}, headers=xhr).status_code == 200
    )
    db.session.refresh(staff)
    assert event in staff.events


def test_the_qr_page_replaces_a_code_with_a_button(client, marketing, event):
    page = client.get(f"/events/{event.id}/qr").get_data(as_text=True)
    assert "Replace the visitor code" in page and "Replace the staff code" in page
    old = event.visitor_token
    response = client.post(
        f"/events/{event.id}/qr/visitor/rotate", data={"csrf_token": _csrf(client)}
    )
    assert response.status_code == 302
    db.session.refresh(event)
    assert event.visitor_token != old
    assert event.visitor_token in client.get(f"/events/{event.id}/qr").get_data(as_text=True)


def test_staff_are_removed_from_an_event_by_api_and_by_button(app, client, api, marketing, event):
    first = make_user("staff", name="Boris Booth")
    second = make_user("staff", name="Vera Booth")
    first.events.append(event)
    second.events.append(event)
    db.session.commit()
    assert api.delete(f"/api/v1/events/{event.id}/staff/{first.id}").status_code == 200
    assert api.delete(f"/api/v1/events/{event.id}/staff/{first.id}").status_code == 404
    db.session.expire_all()
    assert event not in first.events

    report = client.get(f"/events/{event.id}/report").get_data(as_text=True)
    assert "Vera Booth" in report and "Boris Booth" not in report
    assert "Remove from event" in report
    response = client.post(
        f"/events/{event.id}/staff/{second.id}/remove", data={"csrf_token": _csrf(client)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert event.staff == []


def test_removed_staff_no_longer_see_the_event(app, auth, api, event):
    staff = make_user("staff", email="gone@example.com")
    staff.events.append(event)
    make_user("marketing", email="boss@example.com")
    db.session.commit()
    auth.login("gone@example.com")
    assert api.get(f"/api/v1/events/{event.id}").status_code == 200
    boss = app.test_client()
    boss.post(
        "/api/v1/auth/login",
        json={"email": "boss@example.com", "password": "secret-pass"},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    boss.delete(
        f"/api/v1/events/{event.id}/staff/{staff.id}",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert api.get(f"/api/v1/events/{event.id}").status_code in (403, 404)
