from backend.extensions import db
from backend.leads.models import RoutingDecision
from tests.factories import make_event, make_office, make_user


def signed_in(auth, role="admin"):
    make_user(role, email=f"{role}@example.com")
    db.session.commit()
    auth.login(f"{role}@example.com")


def test_preview_explains_the_nearest_office_without_storing_anything(api, auth):
    make_office("MOW")
    make_office("NSK")
    signed_in(auth)
    response = api.post(
        "/api/v1/routing/preview", json={"city": "новосибирск ", "country": "Россия"}
    )
    assert response.status_code == 200
    body = response.json
    assert body["office"] == {"code": "NSK", "name": "Novosibirsk office"}
    assert body["method"] == "nearest"
    assert body["location"]["source"] == "gazetteer"
    assert body["distance_km"] < 20
    assert db.session.scalar(db.select(db.func.count()).select_from(RoutingDecision)) == 0


def test_preview_shows_a_territory_claim_beating_distance(api, auth):
    make_office("BER", territories=["DE"])
    make_office("MUC")
    signed_in(auth, "marketing")
    body = api.post(
        "/api/v1/routing/preview", json={"city": "München", "country": "Deutschland"}
    ).json
    assert body["office"]["code"] == "BER"
    assert body["method"] == "territory"


def test_preview_falls_back_to_the_event_venue_and_flags_it(api, auth):
    make_office("MOW")
    make_office("NSK")
    event = make_event(venue_city="Novosibirsk", venue_latitude=55.03, venue_longitude=82.92)
    signed_in(auth)
    body = api.post(
        "/api/v1/routing/preview",
        json={"city": "Nowhere-upon-Sea", "country": "RU", "event_id": event.id},
    ).json
    assert body["method"] == "fallback"
    assert body["office"]["code"] == "NSK"
    assert body["location"]["source"] == "event"
    assert "location_unknown" in body["flags"]


def test_a_paused_office_is_never_previewed(api, auth):
    make_office("MOW", paused=True)
    make_office("SPB")
    signed_in(auth)
    body = api.post("/api/v1/routing/preview", json={"city": "Moscow", "country": "RU"}).json
    assert body["office"]["code"] == "SPB"


def test_preview_with_no_office_at_all_is_a_clear_error(api, auth):
    signed_in(auth)
    response = api.post("/api/v1/routing/preview", json={"city": "Moscow", "country": "RU"})
    assert response.status_code == 409
    assert "No office" in response.json["error"]["message"]


def test_staff_cannot_preview_routing(api, auth):
    signed_in(auth, "staff")
    assert api.post("/api/v1/routing/preview", json={"city": "Moscow"}).status_code == 403
