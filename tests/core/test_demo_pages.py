"""The demo, as a new user would click through it: every role's pages render."""

import pytest

from backend.demo import DEMO_PASSWORD, load_demo
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead

PAGES = {
    "admin": ["/admin/offices", "/admin/outbox", "/admin/audit", "/marketing", "/api/docs"],
    "marketing": ["/marketing", "/plan", "/wins", "/league", "/events/new", "/events/{event}/report",
                  "/events/{event}/edit", "/events/{event}/qr"],
    "office_manager": ["/office", "/office/leads/{lead}", "/wins", "/league"],
    "office_rep": ["/office", "/office/leads/{lead}"],
    "staff": ["/app/"],
}  # fmt: skip


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_demo_page_renders_for_its_role(client, role):
    logins = {r: email for r, email, _ in load_demo()}
    db.session.commit()
    event = db.session.scalar(db.select(Event.id).where(Event.name == "Mashex 2026"))
    lead = db.session.scalar(
        db.select(Lead.id).join(Lead.office).where(Lead.office.has(code="MOW")).limit(1)
    )
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post(
        "/login", data={"email": logins[role], "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    for url in PAGES[role]:
        response = client.get(url.format(event=event, lead=lead))
        assert response.status_code == 200, (url, response.status_code)
