"""Fixtures for the office workspace: two offices, their people, an event and a lead factory."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead, RoutingDecision
from tests.factories import make_event, make_office, make_user
from tests.followup import receiver, run_worker  # noqa: F401 - shared fixtures


@pytest.fixture
def office(app):
    # Open every day: tests that age leads against the real clock must not depend on
    # the weekday they run on (a Friday lead is not overdue on Saturday in a 5-day week).
    # Working-day behaviour is tested with fixed times in test_queue.py and the sweep tests.
    return make_office("MOW", working_days="1234567")


@pytest.fixture
def other_office(app):
    return make_office("SPB", working_days="1234567")


@pytest.fixture
def rep(office):
    return make_user("office_rep", office, name="Rita Rep")


@pytest.fixture
def rep2(office):
    return make_user("office_rep", office, name="Roman Rep")


@pytest.fixture
def manager(office):
    return make_user("office_manager", office, name="Maria Manager")


@pytest.fixture
def other_rep(other_office):
    return make_user("office_rep", other_office, name="Oleg Other")


@pytest.fixture
def event(app):
    return make_event(name="Expo Moscow")


@pytest.fixture
def make_lead(event, office):
    """A routed lead; ``age`` is how long ago it arrived and was routed."""

    def make(*, age=timedelta(hours=1), target=None, **fields):
        at = fields.pop("routed_at", None) or utcnow() - age
        target = target or office
        values = dict(
            client_id=uuid.uuid4(),
            event_id=event.id,
            first_name="Ivan",
            last_name="Petrov",
            email="ivan@example.com",
            phone="+74950000001",
            company="Acme",
            rating="hot",
            received_at=at,
            captured_at=at,
            routed_at=at,
            office_id=target.id,
            original={"first_name": "Ivan", "email": "ivan@example.com"},
        )
        values.update(fields)
        lead = Lead(**values)
        db.session.add(lead)
        db.session.flush()
        db.session.add(
            RoutingDecision(
                lead_id=lead.id, office_id=target.id, method="nearest", distance_km=3.0,
                latitude=55.75, longitude=37.61, location_label="Moscow, RU",
                location_source="gazetteer", reason="nearest office (3 km)", at=at,
            )
        )  # fmt: skip
        db.session.flush()
        return lead

    return make
