"""No server error from a number in a URL or a bad date in a form, and the sign-in's
``next`` stays on the site."""

from __future__ import annotations

import pytest

from backend.extensions import db
from backend.leads.models import Touch
from tests.factories import PASSWORD

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("admin", f"/admin/audit?page={HUGE}"),
        ("admin", "/admin/audit?page=-3"),
        ("admin", "/admin/audit?page=abc"),
        ("admin", f"/admin/outbox?page={HUGE}"),
        ("marketing", f"/marketing?day_event={HUGE}"),
        ("marketing", "/marketing?day_event=99999999999"),
    ],
)
def test_an_out_of_range_number_in_a_page_url_is_not_found(client_as, role, url):
    assert client_as(role).get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/queue?event=99999999999",
        f"/api/v1/queue?event={HUGE}",
        "/api/v1/queue?event=-1",
    ],
)
def test_an_out_of_range_id_in_an_api_query_is_a_validation_error(client_as, url):
    response = client_as("rep").get(url, headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][0]["field"] == "event"


def test_a_page_beyond_the_last_is_an_empty_page(client_as):
    page = client_as("admin").get("/admin/audit?page=5000")
    assert page.status_code == 200


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30T10:00", "10:00", "2026-13-01T00:00"])
def test_a_bad_time_in_the_touch_form_is_a_form_error(client_as, world, value):
    client = client_as("rep")
    lead_id = world.new_lead()
    client.get(f"/office/leads/{lead_id}")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post(
        f"/office/leads/{lead_id}/touch",
        data={"kind": "call", "outcome": "reached", "at": value, "csrf_token": token},
    )
    assert response.status_code == 302
    with client.session_transaction() as session:
        flashes = session.get("_flashes", [])
    assert any(category == "error" for category, _ in flashes), flashes
    assert db.session.scalar(db.select(Touch).where(Touch.lead_id == lead_id)) is None


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_sign_in_never_sends_you_off_the_site(app, world, target):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post(
        f"/login?next={target}",
        data={"email": "marketing@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_keeps_a_same_site_next(app, world):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post(
        "/login?next=/marketing%3Fday_event%3D1",
        data={"email": "marketing@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/marketing?day_event=1"
