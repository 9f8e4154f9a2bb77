"""Which office gets a lead, and why."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.routing.engine import (
    Decision,
    LeadLocation,
    OfficeCandidate,
    OfficeIndex,
    ResolvedLocation,
    Venue,
    decide,
    next_nearest,
    parse_territory,
    resolve_location,
)
from backend.routing.geo import distance_km, valid_coordinates


def office(id, name, lat, lon, **kw):
    return OfficeCandidate(
        id=id, code=name[:3].upper(), name=name, latitude=lat, longitude=lon, **kw
    )


MOSCOW = (55.7558, 37.6173)
TVER = (56.8587, 35.9176)
NOVOSIBIRSK = (55.0084, 82.9357)
ST_PETERSBURG = (59.9311, 30.3609)
EXPOFORUM = Venue(59.7646, 30.3489, "Expoforum, St Petersburg")


def russia(**overrides):
    kw = {"moscow": {}, "tver": {}, "novosibirsk": {}, "spb": {}} | overrides
    return [
        office(1, "Moscow", *MOSCOW, **kw["moscow"]),
        office(2, "Tver", *TVER, **kw["tver"]),
        office(3, "Novosibirsk", *NOVOSIBIRSK, **kw["novosibirsk"]),
        office(4, "St Petersburg", *ST_PETERSBURG, **kw["spb"]),
    ]


# --------------------------------------------------------------------------- location


def test_coordinates_sent_with_the_lead_are_used_first(gazetteer):
    loc = resolve_location(LeadLocation(55.1, 82.9, city="Munich", country="DE"), None)
    assert (loc.source, loc.latitude, loc.longitude) == ("coords", 55.1, 82.9)
    assert loc.label == "55.10000, 82.90000"


def test_coordinates_take_their_region_from_the_nearest_known_city(gazetteer):
    loc = resolve_location(LeadLocation(55.1, 82.9), None)
    assert (loc.country, loc.admin1) == ("RU", "53")


def test_a_stated_country_is_kept_when_the_coordinates_disagree(gazetteer):
    loc = resolve_location(LeadLocation(55.1, 82.9, country="DE"), None)
    assert (loc.country, loc.admin1) == ("DE", None)


@pytest.mark.parametrize(("lat", "lon"), [(0, 0), (95, 10), (float("nan"), 1), (10, None)])
def test_unusable_coordinates_fall_through_to_the_city(gazetteer, lat, lon):
    loc = resolve_location(LeadLocation(lat, lon, city="Новосибирск", country="Россия"), None)
    assert loc.source == "gazetteer"
    assert loc.label == "Novosibirsk, RU"
    assert "coordinates_invalid" in loc.flags


def test_a_city_and_country_resolve_through_the_gazetteer(gazetteer):
    loc = resolve_location(LeadLocation(city="Nowosibirsk", country="Russia"), None)
    assert (loc.source, loc.country, loc.admin1) == ("gazetteer", "RU", "53")


def test_an_unknown_city_falls_back_to_the_venue_flagged_location_unknown(gazetteer):
    loc = resolve_location(LeadLocation(city="Xyzzyville", country="RU"), EXPOFORUM)
    assert (loc.source, loc.label) == ("event", "Expoforum, St Petersburg")
    assert loc.flags == ("location_unknown",)


def test_a_venue_without_coordinates_is_found_by_its_city(gazetteer):
    venue = Venue(None, None, "Crocus Expo", city="Москва", country="RU")
    loc = resolve_location(LeadLocation(), venue)
    assert loc.source == "event"
    assert distance_km(loc.latitude, loc.longitude, *MOSCOW) < 5


def test_nothing_to_go_on_resolves_to_nothing(gazetteer):
    assert resolve_location(LeadLocation(city="Xyzzyville"), None) is None


# --------------------------------------------------------------------------- nearest


def test_a_lead_goes_to_the_nearest_office(gazetteer):
    decision = decide(LeadLocation(city="Новосибирск", country="RU"), OfficeIndex(russia()))
    assert (decision.office_name, decision.method) == ("Novosibirsk", "nearest")
    assert decision.reason == "nearest office: Novosibirsk, 1.6 km"
    assert decision.distance_km == 1.6
    assert decision.location.source == "gazetteer"


def test_moscow_with_country_us_is_routed_from_idaho(gazetteer):
    offices = [*russia(), office(9, "Seattle", 47.6062, -122.3321)]
    decision = decide(LeadLocation(city="Moscow", country="US"), OfficeIndex(offices))
    assert decision.office_name == "Seattle"
    decision = decide(LeadLocation(city="Moscow", country="RU"), OfficeIndex(offices))
    assert decision.office_name == "Moscow"


def test_an_unknown_city_goes_to_the_office_nearest_the_venue(gazetteer):
    decision = decide(LeadLocation(city="Xyz", country="RU"), OfficeIndex(russia()), EXPOFORUM)
    assert (decision.office_name, decision.method) == ("St Petersburg", "fallback")
    assert decision.flags == ("location_unknown",)
    assert decision.reason.startswith(
        "location unknown (city 'Xyz', country 'RU'); nearest office to the event venue: "
        "St Petersburg, "
    )


def test_a_lead_that_cannot_be_placed_at_all_gets_no_decision(gazetteer):
    assert decide(LeadLocation(city="Xyz"), OfficeIndex(russia())) is None


def test_with_no_offices_there_is_no_decision():
    assert decide(LeadLocation(*MOSCOW), OfficeIndex([])) is None


# --------------------------------------------------------------------------- capacity


def test_a_full_office_spills_to_the_next_nearest_within_one_and_a_half_times():
    offices = [
        office(1, "Near", 55.0, 37.0, capacity=120, open_load=120),
        office(2, "Next", 55.0, 38.4),
    ]
    lead = LeadLocation(55.0, 37.6)  # ~38 km from Near, ~51 km from Next
    decision = decide(lead, OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("Next", "capacity_spill")
    assert decision.reason == "Near office full (120/120); next nearest Next with room, 51 km"
    assert decision.flags == ()


def test_a_full_office_keeps_the_lead_when_the_next_is_too_far():
    offices = [*russia(moscow={"capacity": 120, "open_load": 120})]
    decision = decide(LeadLocation(55.70, 37.50), OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("Moscow", "nearest")
    assert decision.flags == ("over_capacity",)
    assert "Moscow office full (120/120)" in decision.reason


def test_a_spill_skips_offices_that_are_full_too():
    offices = [
        office(1, "A", 50.0, 10.0, capacity=1, open_load=1),
        office(2, "B", 50.0, 10.2, capacity=5, open_load=5),
        office(3, "C", 50.0, 10.25),
    ]
    decision = decide(LeadLocation(50.0, 10.1), OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("C", "capacity_spill")


def test_loads_can_change_without_rebuilding_the_index():
    offices = [office(1, "Near", 55.0, 37.0, capacity=1), office(2, "Next", 55.0, 38.0)]
    index = OfficeIndex(offices)
    lead = LeadLocation(55.0, 37.4)
    assert decide(lead, index).office_name == "Near"
    index.adjust_load(1, +1)
    assert decide(lead, index).office_name == "Next"
    index.set_load(1, 0)
    assert decide(lead, index).office_name == "Near"


def test_loads_count_for_a_city_routed_again_through_the_same_index(gazetteer):
    # Novosibirsk is 10 km from Near and 12 km from Next.
    offices = [office(1, "Near", 54.93, 82.93, capacity=1), office(2, "Next", 55.13, 82.93)]
    index = OfficeIndex(offices)
    lead = LeadLocation(city="Новосибирск", country="RU")
    assert decide(lead, index).office_name == "Near"
    index.adjust_load(1, +1)
    again = decide(lead, index)
    assert (again.office_name, again.method) == ("Next", "capacity_spill")


def test_an_index_remembers_a_bounded_number_of_places(monkeypatch):
    from backend.routing import engine

    monkeypatch.setattr(engine, "PLACE_MEMO_SIZE", 3)
    index = OfficeIndex(russia())
    for n in range(10):
        venue = Venue(50.0 + n / 10, 30.0, f"venue {n}")
        decide(LeadLocation(), index, venue)
        assert len(index._place_memo) <= 3


def test_unlimited_capacity_never_fills():
    index = OfficeIndex([office(1, "Only", *MOSCOW, capacity=None, open_load=10**6)])
    assert decide(LeadLocation(*TVER), index).flags == ()


# --------------------------------------------------------------------------- territory


def test_a_territory_claim_beats_a_nearer_office(gazetteer):
    offices = russia(spb={"territories": ("RU-53",)})
    decision = decide(LeadLocation(city="Novosibirsk", country="RU"), OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("St Petersburg", "territory")
    assert decision.reason.startswith("territory RU-53 claimed by St Petersburg")


def test_a_postal_prefix_beats_a_region_which_beats_a_country(gazetteer):
    offices = russia(
        moscow={"territories": ("RU",)},
        tver={"territories": ("RU-53",)},
        spb={"territories": ("RU:63",)},
        novosibirsk={"territories": ("RU:630",)},
    )
    index = OfficeIndex(offices)
    city = {"city": "Novosibirsk", "country": "RU"}
    assert decide(LeadLocation(**city, postal_code="630099"), index).office_name == "Novosibirsk"
    assert decide(LeadLocation(**city, postal_code="631000"), index).office_name == "St Petersburg"
    assert decide(LeadLocation(**city, postal_code="101000"), index).office_name == "Tver"
    assert decide(LeadLocation(**city), index).office_name == "Tver"
    assert decide(LeadLocation(city="Kazan", country="RU"), index).office_name == "Moscow"
    assert decide(LeadLocation(city="Munich", country="DE"), index).method == "nearest"


def test_of_several_offices_claiming_a_territory_the_nearest_wins():
    offices = russia(moscow={"territories": ("RU",)}, spb={"territories": ("ru",)})
    decision = decide(LeadLocation(59.0, 31.0, country="RU"), OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("St Petersburg", "territory")


def test_a_full_territory_office_still_gets_the_lead_flagged_over_capacity():
    offices = russia(novosibirsk={"territories": ("RU",), "capacity": 3, "open_load": 3})
    decision = decide(LeadLocation(*MOSCOW, country="Россия"), OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("Novosibirsk", "territory")
    assert decision.flags == ("over_capacity",)


def test_a_territory_applies_to_a_lead_only_the_venue_locates(gazetteer):
    offices = russia(novosibirsk={"territories": ("RU",)})
    decision = decide(LeadLocation(city="Xyz", country="RU"), OfficeIndex(offices), EXPOFORUM)
    assert (decision.office_name, decision.method) == ("Novosibirsk", "territory")
    assert "location_unknown" in decision.flags


def test_uk_counts_as_the_iso_code_gb():
    offices = [
        office(1, "Paris", 48.85, 2.35),
        office(2, "Leeds", 53.8, -1.55, territories=("GB",)),
    ]
    decision = decide(LeadLocation(51.5, -0.12, country="UK"), OfficeIndex(offices))
    assert (decision.office_name, decision.method) == ("Leeds", "territory")


def test_a_german_postal_prefix_claim_matches_the_lead_postal_code():
    offices = [
        office(1, "Berlin", 52.52, 13.40),
        office(2, "Munich", 48.14, 11.58, territories=("DE:8",)),
    ]
    decision = decide(
        LeadLocation(52.5, 13.4, country="DE", postal_code="80331"), OfficeIndex(offices)
    )
    assert decision.office_name == "Munich"
    assert decision.reason.startswith("territory DE:8 claimed by Munich")


@pytest.mark.parametrize(
    ("claim", "parsed"),
    [
        ("RU", ("country", "RU", "")),
        (" ru-53 ", ("region", "RU", "53")),
        ("DE:8", ("postal", "DE", "8")),
    ],
)
def test_territory_claims_parse(claim, parsed):
    assert parse_territory(claim) == parsed


@pytest.mark.parametrize("claim", ["", "Russia", "R", "RU-", "DE:", "12", "RU-5 3"])
def test_malformed_territory_claims_are_rejected(claim):
    with pytest.raises(ValueError):
        parse_territory(claim)


def test_an_office_with_a_malformed_claim_is_still_routable():
    index = OfficeIndex([office(1, "Moscow", *MOSCOW, territories=("Russia",))])
    assert index.invalid_territories == [(1, "Russia")]
    assert decide(LeadLocation(*TVER), index).office_name == "Moscow"


# --------------------------------------------------------------------------- paused


def test_a_paused_office_receives_nothing_even_when_it_claims_the_territory():
    offices = russia(moscow={"paused": True, "territories": ("RU",)})
    decision = decide(LeadLocation(55.75, 37.6, country="RU"), OfficeIndex(offices))
    assert decision.office_name == "Tver"


def test_when_every_office_is_paused_there_is_no_decision():
    offices = russia(**{k: {"paused": True} for k in ("moscow", "tver", "novosibirsk", "spb")})
    assert decide(LeadLocation(*MOSCOW), OfficeIndex(offices)) is None


# --------------------------------------------------------------------------- escalation


def test_escalation_reassigns_to_the_next_nearest_office_with_room():
    index = OfficeIndex(russia(tver={"capacity": 1, "open_load": 1}))
    location = ResolvedLocation(*MOSCOW, "Moscow", "coords", "RU", None)
    decision = next_nearest(location, index, exclude_office_id=1)
    assert (decision.office_name, decision.method) == ("St Petersburg", "escalation")
    assert decision.location == location


def test_escalation_to_a_full_office_is_flagged_when_none_has_room():
    index = OfficeIndex([office(1, "A", *MOSCOW), office(2, "B", *TVER, capacity=0)])
    decision = next_nearest(ResolvedLocation(*MOSCOW, "Moscow", "coords"), index, 1)
    assert (decision.office_name, decision.flags) == ("B", ("over_capacity",))


def test_escalation_with_no_other_office_gives_nothing():
    index = OfficeIndex([office(1, "A", *MOSCOW), office(2, "B", *TVER, paused=True)])
    assert next_nearest(ResolvedLocation(*MOSCOW, "Moscow", "coords"), index, 1) is None


# --------------------------------------------------------------------------- shape


def test_a_decision_serialises_to_json():
    decision = decide(LeadLocation(*TVER), OfficeIndex(russia()))
    data = json.loads(json.dumps(decision.as_dict()))
    assert data["method"] == "nearest"
    assert data["location"]["source"] == "coords"
    assert data["flags"] == []
    assert set(data) == {
        "office_id", "office_code", "office_name", "method", "distance_km", "location", "reason",
        "reason_code", "reason_params", "flags",
    }  # fmt: skip
    assert data["reason_code"] == "nearest"
    assert data["reason"].startswith(f"nearest office: {decision.office_name}, ")


# --------------------------------------------------------------------------- properties

lats = st.floats(min_value=-89, max_value=89, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.tuples(lats, lons).filter(lambda p: valid_coordinates(*p))
offices_st = st.lists(
    st.tuples(points, st.booleans(), st.none() | st.integers(0, 3), st.integers(0, 3)),
    min_size=1,
    max_size=40,
).map(
    lambda rows: [
        office(n, f"O{n}", lat, lon, paused=paused, capacity=cap, open_load=load)
        for n, ((lat, lon), paused, cap, load) in enumerate(rows)
    ]
)


@given(offices_st, points)
def test_the_chosen_office_is_never_farther_than_any_other_eligible_office(offices, lead):
    for o in offices:
        o.capacity = None  # ignore capacity: pure distance
    decision = decide(LeadLocation(*lead), OfficeIndex(offices))
    active = [o for o in offices if not o.paused]
    if not active:
        assert decision is None
        return
    chosen = next(o for o in offices if o.id == decision.office_id)
    best = distance_km(*lead, chosen.latitude, chosen.longitude)
    assert all(best <= distance_km(*lead, o.latitude, o.longitude) + 1e-9 for o in active)
    assert decision.distance_km == round(best, 1)


@given(offices_st, points)
def test_a_paused_office_never_receives_a_lead(offices, lead):
    decision = decide(LeadLocation(*lead), OfficeIndex(offices))
    paused = {o.id for o in offices if o.paused}
    if len(paused) == len(offices):
        assert decision is None
    else:
        assert decision.office_id not in paused


@given(offices_st, points, st.data())
def test_territory_always_beats_distance(offices, lead, data):
    claimant = data.draw(st.integers(0, len(offices) - 1))
    offices[claimant].territories = ("FR",)
    offices[claimant].paused = False
    decision = decide(LeadLocation(*lead, country="FR"), OfficeIndex(offices))
    assert (decision.office_id, decision.method) == (claimant, "territory")


@given(offices_st, points)
def test_a_spill_never_goes_beyond_one_and_a_half_times_the_nearest(offices, lead):
    decision = decide(LeadLocation(*lead), OfficeIndex(offices))
    if decision is None or decision.method != "capacity_spill":
        return
    active = [o for o in offices if not o.paused]
    nearest = min(distance_km(*lead, o.latitude, o.longitude) for o in active)
    chosen = next(o for o in offices if o.id == decision.office_id)
    assert chosen.has_room
    assert distance_km(*lead, chosen.latitude, chosen.longitude) <= 1.5 * nearest + 1e-9


@given(offices_st, points, points)
def test_a_remembered_place_gets_the_decision_a_fresh_index_gives(offices, venue, other):
    # Venues (like gazetteer cities) are remembered per index: route through a warm index.
    index = OfficeIndex(offices)
    lead = LeadLocation()
    decide(lead, index, Venue(*other))
    first = decide(lead, index, Venue(*venue))
    again = decide(lead, index, Venue(*venue))
    assert first == again == decide(lead, OfficeIndex(offices), Venue(*venue))


def test_a_decision_is_a_frozen_value():
    import dataclasses

    decision = decide(LeadLocation(*TVER), OfficeIndex(russia()))
    same = Decision(**{f.name: getattr(decision, f.name) for f in dataclasses.fields(Decision)})
    assert decision == same
    assert hash(decision) == hash(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.office_id = 99
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.location.latitude = 0.0
