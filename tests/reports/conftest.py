"""A fixture event whose every report figure is computed by hand in the tests.

Event: cost 10,000 EUR, 40 leads (i = 0..39), all routed on arrival. Every test here
runs on an install that reports in EUR (``eur_reporting``), so no amount needs a rate;
conversion has its own tests in ``tests/money``.
* Offices: A (SLA 24 h) gets leads 0–29, B (SLA 4 h) gets leads 30–39.
* Arrival: T0 + i minutes; capture is 30 min before arrival for leads 0–9
  (offline booth), 5 min before for the rest.
* First touch, minutes after arrival: lead i in 0–19 → 10·(i+1); lead 20 → 2000;
  B leads 30–34 → 60, 120, 300, 600, 1500. Nobody else is touched.
* Status: won 0 (12,000), 1 (8,500), 30 (4,000); lost 2; qualified 3 (deal 5,000.25), 4;
  stale 35, 36; contacted 5–21 and 31–34 (21 has no touch logged); new the rest.
* Ratings: i % 3 → hot, warm, cold.  Escalation level 2 on 35, 36, 37; level 1 on 38.
* Feedback requested on 0–19; verdicts on 0–16: good 0–11; bad 12–14 "no budget",
  15 "student", 16 no reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.extensions import db
from backend.leads.models import Lead, QualityFeedback, Touch
from backend.rates.services import set_reporting_currency
from tests.factories import make_event, make_office, make_user

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TOUCH_MINUTES = {i: 10 * (i + 1) for i in range(20)} | {
    20: 2000, 30: 60, 31: 120, 32: 300, 33: 600, 34: 1500,
}  # fmt: skip
WON = {0: Decimal("12000"), 1: Decimal("8500"), 30: Decimal("4000")}
STATUS = {2: "lost", 3: "qualified", 4: "qualified", 35: "stale", 36: "stale"}
STATUS |= {i: "contacted" for i in [*range(5, 22), *range(31, 35)]}
STATUS |= {i: "won" for i in WON}
BAD = {12: "no budget", 13: "no budget", 14: "no budget", 15: "student", 16: ""}


def make_lead(event, office, i: int, **fields) -> Lead:
    received = T0 + timedelta(minutes=i)
    lead = Lead(
        client_id=uuid.uuid4(),
        event_id=event.id,
        office_id=office.id if office else None,
        first_name=f"First{i}",
        last_name=f"Last{i}",
        email=f"visitor{i}@example.com",
        company=f"Company {i}",
        received_at=received,
        captured_at=received - timedelta(minutes=30 if i < 10 else 5),
        routed_at=received if office else None,
        status="new",
        rating=("hot", "warm", "cold")[i % 3],
    )
    for name, value in fields.items():
        setattr(lead, name, value)
    db.session.add(lead)
    return lead


@pytest.fixture(autouse=True)
def eur_reporting(app):
    """The install reports in EUR, the currency of this module's events."""
    set_reporting_currency("EUR")
    db.session.commit()


@pytest.fixture
def hand_event(app):
    """The event described in this module's docstring; returns a namespace of its parts."""
    office_a = make_office("MOW", sla_hours=24)
    office_b = make_office("SPB", sla_hours=4)
    reps = [make_user("office_rep", office_a, name=f"Rep {n}") for n in range(3)]
    event = make_event(name="Hand Expo", cost=Decimal("10000"), currency="EUR")
    leads = []
    for i in range(40):
        office = office_a if i < 30 else office_b
        lead = make_lead(event, office, i, status=STATUS.get(i, "new"))
        if i in TOUCH_MINUTES:
            lead.first_touch_at = lead.received_at + timedelta(minutes=TOUCH_MINUTES[i])
        if i in WON:
            lead.deal_value = WON[i]
            lead.deal_currency = None if i == 0 else "EUR"
        if i == 3:
            lead.deal_value = Decimal("5000.25")
        lead.escalation_level = {35: 2, 36: 2, 37: 2, 38: 1}.get(i, 0)
        lead.feedback_requested = i < 20
        leads.append(lead)
    leads[0].won_at = T0 + timedelta(days=2)
    leads[1].won_at = T0 + timedelta(days=3)
    leads[30].won_at = T0 + timedelta(days=1)
    leads[0].claimed_by_id = reps[0].id
    leads[30].claimed_by_id = reps[2].id
    db.session.flush()
    for lead in leads:
        if lead.first_touch_at:
            db.session.add(
                Touch(lead_id=lead.id, user_id=reps[0].id, kind="call", at=lead.first_touch_at)
            )
    # Lead 1 has no claimer; its latest touch is by Rep 1.
    db.session.add(
        Touch(lead_id=leads[1].id, user_id=reps[1].id, kind="meeting", at=T0 + timedelta(days=2))
    )
    for i in range(17):
        verdict = "bad" if i in BAD else "good"
        db.session.add(QualityFeedback(lead_id=leads[i].id, verdict=verdict, reason=BAD.get(i, "")))
    db.session.commit()

    class Parts:
        pass

    parts = Parts()
    parts.event, parts.leads, parts.reps = event, leads, reps
    parts.office_a, parts.office_b = office_a, office_b
    return parts


@pytest.fixture
def marketing(app, auth):
    user = make_user("marketing", email="marketing-user@example.com")
    db.session.commit()
    auth.login(user.email)
    return user
