"""The routing preview runs the decision capture runs: for 50 random places (known cities
in Latin and Cyrillic, unknown ones, none, coordinates, postal codes) it names the same
office, method, flags and reason as capturing a lead from that place at that event."""

from __future__ import annotations

import random
import uuid

from backend.extensions import db
from backend.leads.models import Lead
from backend.routing.gazetteer import get_gazetteer
from tests.factories import make_event, make_office, make_user

UNKNOWN = ["Nowhere-upon-Sea", "Atlantis", "Ыыыград", "Springfield-on-Mars", "Xq"]
COUNTRIES = ["RU", "Россия", "Deutschland", "DE", "KZ", "Atlantis", "", "FR", "Беларусь"]


def _places(seed: int = 16) -> list[dict]:
    rng = random.Random(seed)
    gazetteer = get_gazetteer()
    places = []
    for n in range(50):
        kind = n % 5
        if kind in (0, 1):  # a known city, by its gazetteer name and country
            place = gazetteer.place(rng.randrange(min(len(gazetteer), 20_000)))
            places.append({"city": place.name, "country": rng.choice([place.country, ""])})
        elif kind == 2:  # an unknown city, with or without a country
            places.append({"city": rng.choice(UNKNOWN), "country": rng.choice(COUNTRIES)})
        elif kind == 3:  # coordinates only
            places.append({"latitude": round(rng.uniform(35, 65), 4),
                           "longitude": round(rng.uniform(-5, 110), 4)})  # fmt: skip
        else:  # a country alone, or a postal code, or nothing at all
            places.append(rng.choice([
                {"country": rng.choice(COUNTRIES)},
                {"postal_code": str(rng.randrange(10000, 99999)), "country": "DE"},
                {},
            ]))  # fmt: skip
    return places


def test_the_preview_equals_capture_for_fifty_random_places(api, auth):
    for code in ("MOW", "SPB", "NSK", "EKB", "MUC"):
        make_office(code)
    make_office("BER", territories=["DE:1"])
    event = make_event(venue_city="Novosibirsk", venue_country="RU",
                       venue_latitude=55.03, venue_longitude=82.92)  # fmt: skip
    make_user("marketing", email="m@example.com")
    db.session.commit()
    auth.login("m@example.com")

    unknown = 0
    for n, place in enumerate(_places()):
        preview = api.post("/api/v1/routing/preview", json={**place, "event_id": event.id})
        captured = api.post(
            f"/api/v1/events/{event.id}/leads",
            json={"client_id": str(uuid.uuid4()), "first_name": f"Visitor {n}", **place},
        )
        assert captured.status_code == 201, captured.json
        lead = db.session.get(Lead, captured.json["id"])
        decision = lead.routing_decisions[-1]
        shown = preview.json
        assert preview.status_code == 200, (place, shown)
        assert (shown["office"]["code"], shown["method"], shown["reason"]) == (
            lead.office.code, decision.method, decision.reason,
        ), place  # fmt: skip
        assert shown["flags"] == list(decision.flags), place
        unknown += shown["method"] == "fallback"
    assert unknown >= 5  # unknown places were among them, routed by the venue and flagged
