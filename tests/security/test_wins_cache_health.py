"""Issue #15, "Smaller": the wins board keeps the contact person inside their office,
replies with personal data are never cached, and /healthz names what is down, not why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from backend import create_app
from backend.extensions import db
from backend.leads.models import Lead
from tests.live import free_port


def won_lead(world) -> int:
    lead_id = world.new_lead(first_name="Vera", last_name="Visitor", company="Acme Steel",
                             email="vera.visitor@example.com")  # fmt: skip
    lead = db.session.get(Lead, lead_id)
    lead.status, lead.deal_value, lead.deal_currency = "won", Decimal("4200.00"), "EUR"
    lead.won_at, lead.claimed_by_id = datetime.now(UTC), world.ids["rep"]
    db.session.commit()
    return lead_id


def test_the_wins_board_shows_the_deal_to_everyone_and_the_contact_only_to_their_office(
    client_as, world
):
    won_lead(world)
    for role in ("rep_other",):
        client = client_as(role)
        [win] = client.get("/api/v1/wins").get_json()["items"]
        assert (win["company"], win["value"], win["event"]["name"], win["office"], win["rep"]) == (
            "Acme Steel", 4200.0, "Expo E", "Moscow office", "Rep",
        )  # fmt: skip
        assert win["contact"] == ""
        page = client.get("/wins").get_data(as_text=True)
        assert "Acme Steel" in page
        assert "Vera" not in page and "vera.visitor@example.com" not in page
    for role in ("rep", "manager", "marketing"):
        [win] = client_as(role).get("/api/v1/wins").get_json()["items"]
        assert win["contact"] == "Vera Visitor", role


def test_pages_and_replies_with_personal_data_are_never_cached(client_as, world):
    lead_id = won_lead(world)
    rep = client_as("rep")
    for url in (f"/api/v1/leads/{lead_id}", f"/office/leads/{lead_id}", "/office",
                "/wins", "/api/v1/wins", "/api/v1/me"):  # fmt: skip
        response = rep.get(url)
        assert response.status_code == 200, url
        assert response.headers.get("Cache-Control") == "no-store", url
    admin = client_as("admin")
    export = admin.get("/api/v1/privacy/person?email=vera.visitor@example.com")
    assert export.headers.get("Cache-Control") == "no-store"
    # What shows nobody's data may still be cached.
    assert "no-store" not in (
        client_as("anonymous").get("/app/").headers.get("Cache-Control") or ""
    )


def test_health_says_which_dependency_is_down_not_which_exception(config):
    broken = create_app({**config, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 200  # capture works without Redis
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "down"}
