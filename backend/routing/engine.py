"""The routing engine: which office gets a lead, and why.

Plain functions over plain data; no Flask and no database. The caller builds
an :class:`OfficeIndex` once per set of offices, keeps open loads current with
:meth:`OfficeIndex.adjust_load`, and calls :func:`decide` for each lead.

Location, in order: the lead's own coordinates; its city and country through
the offline gazetteer (GeoNames data, CC-BY 4.0, see ``gazetteer.py``); else
the event venue, flagged ``location_unknown``.

Office, in order: the most specific territory claim (postal prefix > region >
country); else the nearest office; when that one is full, the next nearest
with room if it is no more than 1.5 times as far (``capacity_spill``), else
the nearest anyway, flagged ``over_capacity``. Paused offices get nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.routing.gazetteer import Gazetteer, get_gazetteer
from backend.routing.geo import Prepared, SphereIndex, distance_km, prepare, valid_coordinates
from backend.routing.reasons import english

__all__ = [
    "Decision",
    "LeadLocation",
    "OfficeCandidate",
    "OfficeIndex",
    "ResolvedLocation",
    "Venue",
    "decide",
    "next_nearest",
    "parse_territory",
    "resolve_location",
]

METHOD_TERRITORY = "territory"
METHOD_NEAREST = "nearest"
METHOD_CAPACITY_SPILL = "capacity_spill"
METHOD_FALLBACK = "fallback"
METHOD_ESCALATION = "escalation"

SOURCE_COORDS = "coords"
SOURCE_GAZETTEER = "gazetteer"
SOURCE_EVENT = "event"

FLAG_LOCATION_UNKNOWN = "location_unknown"
FLAG_OVER_CAPACITY = "over_capacity"
FLAG_CAPACITY_SPILL = "capacity_spill"
FLAG_COORDINATES_INVALID = "coordinates_invalid"

#: A full office spills to the next one with room only if it is at most this
#: many times as far as the nearest.
SPILL_FACTOR = 1.5
#: How far a coordinates-only lead may be from a known city for that city's
#: country and region to count for territory claims.
REVERSE_LOOKUP_KM = 50.0
#: How many places (gazetteer cities, venues) an index remembers the nearest office of.
PLACE_MEMO_SIZE = 4096
# Two-letter country codes people use that are not ISO 3166 (UK, and the EU's EL).
_NON_ISO_CODES = {"UK": "GB", "EL": "GR"}


@dataclass(slots=True)
class OfficeCandidate:
    """An office as the engine sees it. ``open_load`` may change between decisions."""

    id: int
    code: str
    name: str
    latitude: float
    longitude: float
    territories: tuple[str, ...] = ()
    capacity: int | None = None
    open_load: int = 0
    paused: bool = False

    @property
    def has_room(self) -> bool:
        """True when the office may take one more lead (no capacity means no limit)."""
        return self.capacity is None or self.open_load < self.capacity


@dataclass(frozen=True, slots=True)
class LeadLocation:
    """What a lead says about where the visitor is."""

    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    country: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, slots=True)
class Venue:
    """The event venue, used when the lead's own location is unknown.

    Without coordinates, ``city``/``country`` are looked up in the gazetteer.
    """

    latitude: float | None
    longitude: float | None
    label: str = ""
    city: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedLocation:
    """Where the engine placed the lead, and from which source."""

    latitude: float
    longitude: float
    label: str
    source: str  # "coords" | "gazetteer" | "event"
    country: str | None = None
    admin1: str | None = None
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "label": self.label,
            "source": self.source,
            "country": self.country,
            "admin1": self.admin1,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The office chosen for a lead, how, and why (a code of ``routing.reasons`` and
    its parameters; ``reason`` is its English text)."""

    office_id: int
    office_code: str
    office_name: str
    method: str  # "territory" | "nearest" | "capacity_spill" | "fallback" | "escalation"
    distance_km: float
    location: ResolvedLocation | None
    reason_code: str
    reason_params: dict[str, Any] = field(hash=False)  # a dict: compared, not hashed
    flags: tuple[str, ...]

    @property
    def reason(self) -> str:
        """Why, in English (the API's ``reason``)."""
        return english(self.reason_code, self.reason_params)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the location nested, flags as a list)."""
        return {
            "office_id": self.office_id,
            "office_code": self.office_code,
            "office_name": self.office_name,
            "method": self.method,
            "distance_km": self.distance_km,
            "location": self.location.as_dict() if self.location else None,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "reason_params": dict(self.reason_params),
            "flags": list(self.flags),
        }


# Frozen dataclasses set each field through object.__setattr__, which costs
# about a microsecond per object. The two hot constructors below fill the slots
# through their descriptors instead: same objects, a third of the time.
_new = object.__new__
_set_lat, _set_lon, _set_label, _set_source, _set_country, _set_admin1, _set_lflags = (
    getattr(ResolvedLocation, name).__set__
    for name in ("latitude", "longitude", "label", "source", "country", "admin1", "flags")
)
(
    _set_id, _set_code, _set_name, _set_method, _set_km, _set_loc, _set_rcode, _set_rparams,
    _set_dflags,
) = (
    getattr(Decision, name).__set__
    for name in (
        "office_id",
        "office_code",
        "office_name",
        "method",
        "distance_km",
        "location",
        "reason_code",
        "reason_params",
        "flags",
    )
)  # fmt: skip


def _new_resolved(
    lat: float,
    lon: float,
    label: str,
    source: str,
    country: str | None,
    admin1: str | None,
    flags: tuple[str, ...] = (),
) -> ResolvedLocation:
    obj = _new(ResolvedLocation)
    _set_lat(obj, lat)
    _set_lon(obj, lon)
    _set_label(obj, label)
    _set_source(obj, source)
    _set_country(obj, country)
    _set_admin1(obj, admin1)
    _set_lflags(obj, flags)
    return obj


def _decision(
    office: OfficeCandidate,
    method: str,
    km: float,
    location: ResolvedLocation,
    reason_code: str,
    reason_params: dict[str, Any],
    flags: list[str],
) -> Decision:
    """A Decision with the distance rounded to 100 m and repeated flags dropped."""
    obj = _new(Decision)
    _set_id(obj, office.id)
    _set_code(obj, office.code)
    _set_name(obj, office.name)
    _set_method(obj, method)
    _set_km(obj, round(km, 1))
    _set_loc(obj, location)
    _set_rcode(obj, reason_code)
    _set_rparams(obj, reason_params)
    _set_dflags(obj, tuple(dict.fromkeys(flags)) if flags else ())
    return obj


# --------------------------------------------------------------------------- territories


def parse_territory(value: str) -> tuple[str, str, str]:
    """Parse a territory claim into ``(kind, country, detail)``.

    ``"RU"`` -> ``("country", "RU", "")``; ``"RU-53"`` -> ``("region", "RU",
    "53")`` (a GeoNames admin1 code); ``"DE:8"`` -> ``("postal", "DE", "8")``.
    Case and surrounding spaces do not matter. Raises ``ValueError`` for any
    other shape.
    """
    text = value.strip().upper() if isinstance(value, str) else ""
    country, sep, detail = text.partition(":")
    kind = "postal"
    if not sep:
        country, sep, detail = text.partition("-")
        kind = "region" if sep else "country"
    country = country.strip()
    detail = _postal_key(detail) if kind == "postal" else detail.strip()
    if len(country) != 2 or not country.isalpha() or (sep and not detail.isalnum()):
        raise ValueError(f"not a territory: {value!r} (use 'RU', 'RU-53' or 'DE:8')")
    return kind, country, detail


def _postal_key(value: str | None) -> str:
    if not value:
        return ""
    return "".join(ch for ch in value.upper() if ch.isalnum())


# --------------------------------------------------------------------------- the index


# A prepared point and the nearest office to it as (distance_km, office), if any.
_NearestAny = tuple[Prepared, tuple[float, OfficeCandidate] | None]


def _has_room(office: OfficeCandidate) -> bool:
    return office.capacity is None or office.open_load < office.capacity


class OfficeIndex:
    """Offices ready for routing: a spatial index plus territory tables.

    Build once per set of offices (rebuild when an office moves, is paused or
    resumed, or changes territories); loads and capacities may change in
    place through :meth:`adjust_load` / :meth:`set_load`. Paused offices, and
    offices without valid coordinates, are kept for lookup but never chosen.
    Territory claims that do not parse are ignored and listed in
    ``invalid_territories``. The index remembers the nearest office of the
    last few thousand cities and venues it routed (never their loads), so
    keeping one index for many leads is also the fast way.
    """

    def __init__(self, offices: Iterable[OfficeCandidate]):
        self.offices: dict[int, OfficeCandidate] = {}
        self.invalid_territories: list[tuple[int, str]] = []
        self._claims: dict[tuple[str, str, str], list[OfficeCandidate]] = {}
        self._postal_lengths: dict[str, list[int]] = {}
        routable: list[OfficeCandidate] = []
        for office in offices:
            self.offices[office.id] = office
            if office.paused or not valid_coordinates(office.latitude, office.longitude):
                continue
            routable.append(office)
            for claim in office.territories:
                try:
                    key = parse_territory(claim)
                except ValueError:
                    self.invalid_territories.append((office.id, claim))
                    continue
                holders = self._claims.setdefault(key, [])
                if office not in holders:
                    holders.append(office)
                if key[0] == "postal":
                    self._postal_lengths.setdefault(key[1], []).append(len(key[2]))
        for lengths in self._postal_lengths.values():
            lengths[:] = sorted(set(lengths), reverse=True)
        self._tree: SphereIndex[OfficeCandidate] = SphereIndex(
            (o.latitude, o.longitude, o) for o in routable
        )
        self.has_territories = bool(self._claims)
        self.has_regions = any(kind == "region" for kind, _, _ in self._claims)
        self._place_memo: dict[tuple[float, float], _NearestAny] = {}

    def __len__(self) -> int:
        return len(self.offices)

    def __contains__(self, office_id: object) -> bool:
        return office_id in self.offices

    def get(self, office_id: int) -> OfficeCandidate | None:
        """The office with this id, or None."""
        return self.offices.get(office_id)

    def set_load(self, office_id: int, open_load: int) -> None:
        """Set an office's open load. Unknown ids are ignored."""
        office = self.offices.get(office_id)
        if office is not None:
            office.open_load = max(0, int(open_load))

    def adjust_load(self, office_id: int | None, delta: int) -> None:
        """Add ``delta`` to an office's open load (never below 0). Unknown ids are ignored."""
        office = self.offices.get(office_id) if office_id is not None else None
        if office is not None:
            office.open_load = max(0, office.open_load + delta)

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        k: int = 1,
        eligible: Callable[[OfficeCandidate], bool] | None = None,
        max_km: float | None = None,
    ) -> list[tuple[float, OfficeCandidate]]:
        """Up to ``k`` ``(distance_km, office)`` pairs, nearest first.

        Paused offices are never returned; ``eligible`` narrows further and
        ``max_km`` caps the distance. Raises ``ValueError`` for invalid
        coordinates.
        """
        return self._tree.nearest(lat, lon, k=k, eligible=eligible, max_km=max_km)

    def _nearest_any(self, location: ResolvedLocation) -> _NearestAny:
        """The location as a prepared point, and the nearest office to it, capacity aside.

        Gazetteer cities and venues are a bounded set of points that leads repeat
        (most leads at a Novosibirsk expo say "Novosibirsk"), so their answer is
        kept until the index is rebuilt; loads are checked by the caller every
        time. Coordinates from a phone rarely repeat and are searched each time.
        """
        if location.source == SOURCE_COORDS:
            point = prepare(location.latitude, location.longitude)
            return point, self._tree.nearest_one(point)
        key = (location.latitude, location.longitude)
        known = self._place_memo.get(key)
        if known is None:
            point = prepare(*key)
            known = point, self._tree.nearest_one(point)
            if len(self._place_memo) >= PLACE_MEMO_SIZE:
                self._place_memo.clear()
            self._place_memo[key] = known
        return known

    def _nearest_with_room(
        self, point: Prepared, max_km: float
    ) -> tuple[float, OfficeCandidate] | None:
        """The nearest office with room within ``max_km`` of a prepared point, or None."""
        return self._tree.nearest_one(point, _has_room, max_km)

    def claim(
        self, country: str | None, admin1: str | None, postal_code: str | None
    ) -> tuple[str, list[OfficeCandidate]] | None:
        """The most specific territory claimed for this place, and who claims it.

        Returns ``(territory, offices)`` such as ``("DE:80", [...])`` or None.
        Postal prefixes beat regions, which beat countries; a longer prefix
        beats a shorter one. Never raises.
        """
        if not self._claims or not country:
            return None
        country = country.upper()
        postal = _postal_key(postal_code)
        if postal:
            for length in self._postal_lengths.get(country, ()):
                if length <= len(postal):
                    holders = self._claims.get(("postal", country, postal[:length]))
                    if holders:
                        return f"{country}:{postal[:length]}", holders
        if admin1:
            holders = self._claims.get(("region", country, admin1.upper()))
            if holders:
                return f"{country}-{admin1.upper()}", holders
        holders = self._claims.get(("country", country, ""))
        return (country, holders) if holders else None


# --------------------------------------------------------------------------- location


def _gazetteer(given: Gazetteer | None) -> Gazetteer:
    """The gazetteer a caller passed, else the shared one (loaded on first need)."""
    return given if given is not None else get_gazetteer()


def _country_of(loc: LeadLocation, gz: Gazetteer | None) -> str | None:
    if not loc.country or not loc.country.strip():
        return None
    text = loc.country.strip()
    if len(text) == 2 and text.isascii() and text.isalpha():
        code = text.upper()  # an ISO code needs no gazetteer
        return _NON_ISO_CODES.get(code, code)
    return _gazetteer(gz).country_code(text)


def _resolve(
    loc: LeadLocation, venue: Venue | None, gz: Gazetteer | None, need_region: bool
) -> ResolvedLocation | None:
    lat, lon = loc.latitude, loc.longitude
    flags: tuple[str, ...] = ()
    if lat is not None or lon is not None:
        if valid_coordinates(lat, lon):
            return _from_coordinates(float(lat), float(lon), loc, gz, need_region)  # type: ignore[arg-type]
        flags = (FLAG_COORDINATES_INVALID,)
    if loc.city and loc.city.strip():
        place = _gazetteer(gz).resolve(loc.city, loc.country)
        if place is not None:
            return _new_resolved(
                place.latitude,
                place.longitude,
                place.label,
                SOURCE_GAZETTEER,
                place.country,
                place.admin1 or None,
                flags,
            )
    return _from_venue(venue, gz, (*flags, FLAG_LOCATION_UNKNOWN))


def _from_coordinates(
    lat: float, lon: float, loc: LeadLocation, gz: Gazetteer | None, need_region: bool
) -> ResolvedLocation:
    country = _country_of(loc, gz) if loc.country else None
    admin1 = None
    if need_region:
        place = _gazetteer(gz).nearest_place(lat, lon, REVERSE_LOOKUP_KM)
        if place is not None and (country is None or place.country == country):
            country, admin1 = place.country, place.admin1 or None
    return _new_resolved(lat, lon, f"{lat:.5f}, {lon:.5f}", SOURCE_COORDS, country, admin1)


def _from_venue(
    venue: Venue | None, gz: Gazetteer | None, flags: tuple[str, ...]
) -> ResolvedLocation | None:
    if venue is None:
        return None
    if valid_coordinates(venue.latitude, venue.longitude):
        lat, lon = float(venue.latitude), float(venue.longitude)  # type: ignore[arg-type]
        label = venue.label or f"{lat:.5f}, {lon:.5f}"
        return _new_resolved(lat, lon, label, SOURCE_EVENT, None, None, flags)
    place = _gazetteer(gz).resolve(venue.city, venue.country) if venue.city else None
    if place is None:
        return None
    return _new_resolved(
        place.latitude,
        place.longitude,
        venue.label or place.label,
        SOURCE_EVENT,
        place.country,
        place.admin1 or None,
        flags,
    )


def resolve_location(
    loc: LeadLocation, venue: Venue | None, gazetteer: Gazetteer | None = None
) -> ResolvedLocation | None:
    """Work out where a lead is: its coordinates, else its city, else the venue.

    The result's ``source`` says which ("coords", "gazetteer", "event"); its
    ``flags`` carry ``location_unknown`` when the venue was used and
    ``coordinates_invalid`` when coordinates were sent but unusable. For
    coordinates, country and region come from the nearest known city within
    50 km. Returns None when nothing, not even the venue, can be placed.
    ``gazetteer`` defaults to the shared one, loaded only if needed. Raises
    ``OSError`` only if the gazetteer index cannot be loaded.
    """
    return _resolve(loc, venue, gazetteer, True)


# --------------------------------------------------------------------------- decisions


def _km(km: float) -> float:
    return round(km, 1)


def _full(office: OfficeCandidate) -> dict[str, Any]:
    """A full office's load, as a reason's parameters."""
    return {"open_load": office.open_load, "capacity": office.capacity}


def _by_territory(
    territory: str,
    holders: list[OfficeCandidate],
    location: ResolvedLocation,
    flags: list[str],
) -> Decision:
    ranked = sorted(
        (
            (distance_km(location.latitude, location.longitude, o.latitude, o.longitude), n, o)
            for n, o in enumerate(holders)
        ),
        key=lambda item: (item[0], item[1]),
    )
    with_room = [item for item in ranked if _has_room(item[2])]
    km, _, office = with_room[0] if with_room else ranked[0]
    params: dict[str, Any] = {"territory": territory, "office": office.name, "km": _km(km)}
    code = "territory"
    if not with_room:
        flags.append(FLAG_OVER_CAPACITY)
        code = "territory_full"
        params.update(_full(office))
    return _decision(office, METHOD_TERRITORY, km, location, code, params, flags)


def _by_distance(
    index: OfficeIndex, location: ResolvedLocation, flags: list[str], unknown: dict | None
) -> Decision | None:
    """Nearest office with the capacity rule. ``unknown`` holds the lead's own city and
    country when only the venue placed it (method ``fallback``), else None."""
    point, hit = index._nearest_any(location)
    if hit is None:
        return None
    km, office = hit
    fallback = unknown is not None
    method = METHOD_FALLBACK if fallback else METHOD_NEAREST
    params: dict[str, Any] = dict(unknown) if fallback else {}
    if office.capacity is None or office.open_load < office.capacity:
        params.update(office=office.name, km=_km(km))
        code = "fallback" if fallback else "nearest"
        return _decision(office, method, km, location, code, params, flags)
    limit = km * SPILL_FACTOR
    spill = index._nearest_with_room(point, limit)
    params.update(_full(office))
    if spill is not None:
        spill_km, spill_office = spill
        params.update(full_office=office.name, office=spill_office.name, km=_km(spill_km))
        if not fallback:
            return _decision(
                spill_office, METHOD_CAPACITY_SPILL, spill_km, location, "capacity_spill",
                params, flags,
            )  # fmt: skip
        flags.append(FLAG_CAPACITY_SPILL)
        return _decision(spill_office, method, spill_km, location, "fallback_spill", params, flags)
    flags.append(FLAG_OVER_CAPACITY)
    params.update(office=office.name, km=_km(km), limit_km=_km(limit))
    code = "fallback_full" if fallback else "nearest_full"
    return _decision(office, method, km, location, code, params, flags)


def _given(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def decide(
    loc: LeadLocation,
    index: OfficeIndex,
    venue: Venue | None = None,
    gazetteer: Gazetteer | None = None,
) -> Decision | None:
    """Choose the office for a lead and say why.

    Territory claims first (matched on the lead's country, region and postal
    code, even when only the venue locates it), then the nearest office with
    the capacity rule. Returns None when no office can take the lead (none,
    all paused) or when neither the lead nor the venue can be located.
    ``gazetteer`` defaults to the shared one, loaded only if a city or a
    country name must be looked up. Raises ``OSError`` only if that index
    cannot be loaded.
    """
    gz = gazetteer
    # Regions come from a reverse lookup near the point: only when a claim could use them.
    need_region = index.has_territories and (
        index.has_regions or not (loc.country and loc.country.strip())
    )
    location = _resolve(loc, venue, gz, need_region)
    if location is None:
        return None
    flags = list(location.flags)
    from_venue = location.source == SOURCE_EVENT
    if index.has_territories:
        if from_venue:
            country, admin1 = _country_of(loc, gz), None
        else:
            country, admin1 = location.country or _country_of(loc, gz), location.admin1
        claimed = index.claim(country, admin1, loc.postal_code)
        if claimed is not None:
            return _by_territory(claimed[0], claimed[1], location, flags)
    unknown = {"city": _given(loc.city), "country": _given(loc.country)} if from_venue else None
    return _by_distance(index, location, flags, unknown)


def next_nearest(
    location: ResolvedLocation,
    index: OfficeIndex,
    exclude_office_id: int | None,
    also_exclude: frozenset[int] = frozenset(),
) -> Decision | None:
    """Pick the office to reassign an escalated lead to (method ``escalation``).

    The nearest office other than ``exclude_office_id`` (the lead's current one)
    and ``also_exclude`` (say, offices that had the lead before) that is not paused
    and has room; if none has room, the nearest other one, flagged
    ``over_capacity``. Territories are not considered. Returns None when no
    other office can take it. Raises ``ValueError`` if the location's
    coordinates are invalid.
    """
    lat, lon = location.latitude, location.longitude
    current = index.get(exclude_office_id) if exclude_office_id is not None else None
    after = {"after": current.name} if current is not None else {}
    suffix = "_after" if current is not None else ""
    excluded = also_exclude | {exclude_office_id}

    def other_with_room(office: OfficeCandidate) -> bool:
        return office.id not in excluded and _has_room(office)

    hits = index.nearest(lat, lon, eligible=other_with_room)
    if hits:
        km, office = hits[0]
        params = {**after, "office": office.name, "km": _km(km)}
        return _decision(office, METHOD_ESCALATION, km, location, "escalation" + suffix, params, [])
    hits = index.nearest(lat, lon, eligible=lambda o: o.id not in excluded)
    if not hits:
        return None
    km, office = hits[0]
    params = {**after, "office": office.name, "km": _km(km), **_full(office)}
    code = "escalation_full" + suffix
    return _decision(office, METHOD_ESCALATION, km, location, code, params, [FLAG_OVER_CAPACITY])
