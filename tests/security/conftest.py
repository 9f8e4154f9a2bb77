"""A small world with one person of every role, and clients signed in as each of them.

Office A (MOW) and office B (SPB); event E (its leads go to office A, staffed by
``staff``) and event F (staffed by ``staff_other``); a lead factory making fresh leads of
office A, so a request that changes a lead never changes what the next one sees.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from werkzeug.security import generate_password_hash

from backend.auth.models import User
from backend.auth.services import issue_token
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead, RoutingDecision
from tests.factories import PASSWORD, make_event, make_office

# A cheap hash: the matrix signs in as every role, and scrypt would cost seconds.
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

ROLES = (
    "anonymous", "staff", "staff_other", "rep", "rep_other", "manager", "marketing", "admin",
)  # fmt: skip


@dataclass
class World:
    office_a: object
    office_b: object
    event: object
    other_event: object
    join_event: object
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    # Plain ids, usable after the session that loaded the objects is gone.
    ids: dict = field(default_factory=dict)

    def new_lead(self, **fields) -> int:
        """A fresh lead of event E routed to office A, sampled for feedback; its id."""
        now = utcnow()
        values = dict(
            client_id=uuid.uuid4(), event_id=self.ids["event"], office_id=self.ids["office_a"],
            captured_by_id=self.ids["staff"], first_name="Vera", last_name="Visitor",
            email=f"vera.{uuid.uuid4().hex[:8]}@example.com", phone="+79161234567",
            company="Acme", status="new", rating="hot", routed_at=now, received_at=now,
            captured_at=now, feedback_requested=True, consent_contact=True,
        )  # fmt: skip
        values.update(fields)
        lead = Lead(**values)
        db.session.add(lead)
        db.session.flush()
        db.session.add(
            RoutingDecision(
                lead_id=lead.id,
                office_id=lead.office_id,
                method="nearest",
                distance_km=1.0,
                reason="nearest office",
            )  # fmt: skip
        )
        db.session.commit()
        return lead.id


def make_user(role: str, office=None, *, email: str) -> User:
    user = User(email=email, name=email.split("@")[0].title(), role=role, office=office,
                password_hash=CHEAP_HASH, session_version=1)  # fmt: skip
    db.session.add(user)
    return user


def build_world() -> World:
    office_a, office_b = make_office("MOW"), make_office("SPB")
    event, other_event = make_event(name="Expo E"), make_event(name="Expo F")
    join_event = make_event(name="Expo J")
    world = World(office_a, office_b, event, other_event, join_event)
    u = world.users
    u["staff"] = make_user("staff", email="staff@example.com")
    u["staff"].events.append(event)
    u["staff_other"] = make_user("staff", email="staff.other@example.com")
    u["staff_other"].events.append(other_event)
    u["rep"] = make_user("office_rep", office_a, email="rep@example.com")
    u["rep_other"] = make_user("office_rep", office_b, email="rep.other@example.com")
    u["manager"] = make_user("office_manager", office_a, email="manager@example.com")
    u["marketing"] = make_user("marketing", email="marketing@example.com")
    u["admin"] = make_user("admin", email="admin@example.com")
    db.session.flush()
    for role, user in u.items():
        world.tokens[role] = issue_token(user, f"test {role}")
    db.session.commit()
    world.ids = {
        "event": event.id, "office_a": office_a.id, "visitor_token": event.visitor_token,
        **{role: user.id for role, user in u.items()},
    }  # fmt: skip
    return world


@pytest.fixture
def world(app) -> World:
    return build_world()


def sign_in(client, user) -> None:
    """Put the user's session in the client's cookie jar, as a real sign-in would
    (without paying for a password hash on every request): a server-side sign-in, and its
    key in the session cookie."""
    from backend.auth.services import start_session

    start_session(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def client_as(app, world):
    """``client_as(role)``: a new test client with a session of that role (or none)."""

    def make(role: str):
        client = app.test_client()
        if role != "anonymous":
            sign_in(client, world.users[role])
        return client

    return make
