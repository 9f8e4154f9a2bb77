"""Distances and the spatial index."""

from __future__ import annotations

import math

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.routing.geo import SphereIndex, distance_km, prepare, valid_coordinates

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.tuples(lats, lons).filter(lambda p: valid_coordinates(*p))


@given(points, points)
def test_distance_is_symmetric(a, b):
    assert distance_km(*a, *b) == distance_km(*b, *a)


@given(points, points)
def test_distance_is_within_half_a_percent_of_the_wgs84_geodesic(a, b):
    reference = Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1])["s12"] / 1000
    assert distance_km(*a, *b) == pytest.approx(reference, rel=0.005, abs=1e-6)


@given(points)
def test_distance_from_a_point_to_itself_is_zero(a):
    assert distance_km(*a, *a) == 0


def test_known_distance_moscow_to_novosibirsk_is_about_2800_km():
    assert distance_km(55.7558, 37.6173, 55.0084, 82.9357) == pytest.approx(2810, rel=0.01)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (None, 10),
        (10, None),
        (math.nan, 10),
        (10, math.inf),
        (91, 0),
        (0, 181),
        (-90.0001, 0),
        (0, 0),
        (0.0, -0.0),
        (True, 10),
        ("north", 10),
    ],
)
def test_invalid_coordinates_are_rejected(lat, lon):
    assert not valid_coordinates(lat, lon)


@pytest.mark.parametrize(
    ("lat", "lon"), [(55.03, 82.92), (90, 180), (-90, -180), (0, 0.01), ("55.1", "37.2")]
)
def test_valid_coordinates_are_accepted(lat, lon):
    assert valid_coordinates(lat, lon)


@settings(max_examples=150)
@given(
    st.lists(points, min_size=1, max_size=80),
    points,
    st.integers(min_value=1, max_value=5),
    st.sets(st.integers(min_value=0, max_value=79)),
)
def test_spatial_index_agrees_with_brute_force(items, query, k, excluded):
    index = SphereIndex((lat, lon, n) for n, (lat, lon) in enumerate(items))
    hits = index.nearest(*query, k=k, eligible=lambda n: n not in excluded)
    brute = sorted(
        distance_km(*query, lat, lon) for n, (lat, lon) in enumerate(items) if n not in excluded
    )[:k]
    assert [d for d, _ in hits] == pytest.approx(brute, abs=1e-9)
    for d, n in hits:
        assert n not in excluded
        assert d == distance_km(*query, *items[n])


@given(st.lists(points, min_size=1, max_size=60), points, st.floats(min_value=0, max_value=5000))
def test_spatial_index_honours_the_distance_cap(items, query, max_km):
    index = SphereIndex((lat, lon, n) for n, (lat, lon) in enumerate(items))
    hits = index.nearest(*query, k=len(items), max_km=max_km)
    expected = sorted(d for lat, lon in items if (d := distance_km(*query, lat, lon)) <= max_km)
    assert [d for d, _ in hits] == pytest.approx(expected, abs=1e-9)


@settings(max_examples=200)
@given(
    st.lists(points, min_size=1, max_size=60).flatmap(
        # Repeat some points so that exact ties happen too.
        lambda items: st.lists(st.sampled_from(items), max_size=20).map(lambda extra: items + extra)
    ),
    points,
    st.sets(st.integers(min_value=0, max_value=79)),
    st.none() | st.floats(min_value=0, max_value=20_000),
)
def test_the_nearest_one_agrees_with_brute_force_ties_and_caps_included(
    items, query, excluded, max_km
):
    index = SphereIndex((lat, lon, n) for n, (lat, lon) in enumerate(items))
    hit = index.nearest_one(prepare(*query), lambda n: n not in excluded, max_km)
    ranked = sorted(
        (distance_km(*query, lat, lon), n)
        for n, (lat, lon) in enumerate(items)
        if n not in excluded and (max_km is None or distance_km(*query, lat, lon) <= max_km)
    )
    assert hit == (ranked[0] if ranked else None)


def test_spatial_index_of_nothing_finds_nothing():
    assert SphereIndex([]).nearest(10, 10) == []


def test_spatial_index_rejects_an_invalid_query():
    with pytest.raises(ValueError):
        SphereIndex([(1, 1, "a")]).nearest(100, 0)
