"""Distances on the Earth and a small spatial index for the routing engine.

Pure Python, no third-party dependencies.

* :func:`distance_km` gives the distance along the WGS84 ellipsoid by the
  Andoyer-Lambert formula (a first-order flattening correction to the great
  circle). It stays within a few metres of a full geodesic solution for
  ordinary distances, where a plain haversine on a 6,371 km sphere can be off by
  up to 0.56 % (short north-south hops near the equator).
* :class:`SphereIndex` is a k-d tree over unit vectors (points on the unit
  sphere in 3-D). It answers "nearest k points that pass this test" without
  scanning every point. Points are ranked by the distance reported by
  :func:`distance_km`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["EARTH_RADIUS_KM", "SphereIndex", "distance_km", "valid_coordinates"]

#: Mean Earth radius (IUGG), used to turn chord lengths into kilometres.
EARTH_RADIUS_KM = 6371.0088

_WGS84_A_KM = 6378.137
_WGS84_F = 1 / 298.257223563
_DEG = math.pi / 180
# Ellipsoidal distance / spherical distance lies in [0.9944, 1.0045]. When the
# tree ranks by chord (spherical), anything whose ellipsoidal rank could beat
# the k-th spherical hit lies within this factor of it: (1 + e) / (1 - e).
_SLACK = 1.0125
_SLACK2 = _SLACK * _SLACK
_NULL_ISLAND_DEG = 1e-6
_LEAF_SIZE = 8
# Rounding room for squared chords, so a point at distance 0 or exactly at
# max_km is not lost to the last bit.
_EPS = 1e-12

T = TypeVar("T")

#: A prepared point: unit vector (x, y, z), reduced latitude, longitude in
#: radians, cos(reduced latitude). See :func:`prepare`.
Prepared = tuple[float, float, float, float, float, float]


def valid_coordinates(lat: object, lon: object) -> bool:
    """Tell whether ``lat``/``lon`` are usable coordinates.

    Valid means: both are real numbers (or numeric strings), finite, latitude
    within [-90, 90], longitude within [-180, 180], and not the (0, 0) "null
    island" that broken GPS fixes and empty forms produce. Booleans are
    rejected. Never raises.
    """
    if isinstance(lat, bool) or isinstance(lon, bool):
        return False
    try:
        lat_f = float(lat)  # type: ignore[arg-type]
        lon_f = float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    if not (-90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0):
        return False  # also rejects NaN; infinities fail the range test
    return not (abs(lat_f) < _NULL_ISLAND_DEG and abs(lon_f) < _NULL_ISLAND_DEG)


def prepare(lat: float, lon: float) -> Prepared:
    """Precompute what distances and the index need for a point (degrees in)."""
    phi = lat * _DEG
    lam = lon * _DEG
    cos_phi = math.cos(phi)
    beta = math.atan((1 - _WGS84_F) * math.tan(phi))
    return (
        cos_phi * math.cos(lam),
        cos_phi * math.sin(lam),
        math.sin(phi),
        beta,
        lam,
        math.cos(beta),
    )


def _ellipsoid_km(p: Prepared, q: Prepared) -> float:
    """Andoyer-Lambert distance between two prepared points, in km."""
    b1, l1, cb1 = p[3], p[4], p[5]
    b2, l2, cb2 = q[3], q[4], q[5]
    sin_q = math.sin((b2 - b1) * 0.5)
    sin2_q = sin_q * sin_q
    sin_dl = math.sin((l2 - l1) * 0.5)
    h = sin2_q + cb1 * cb2 * sin_dl * sin_dl  # sin^2(sigma / 2)
    if h <= 0.0:
        return 0.0
    if h >= 1.0:
        h = 1.0
    sigma = 2.0 * math.asin(math.sqrt(h))
    sin_p = math.sin((b1 + b2) * 0.5)
    sin2_p = sin_p * sin_p
    sin_sigma = math.sin(sigma)
    # Near the antipode 1 - h -> 0 together with sin^2(P); the term tends to a
    # bounded value but the ratio gets noisy, so the correction is dropped there.
    x = (sigma - sin_sigma) * sin2_p * (1.0 - sin2_q) / (1.0 - h) if h < 1.0 - 1e-12 else 0.0
    y = (sigma + sin_sigma) * (1.0 - sin2_p) * sin2_q / h
    return _WGS84_A_KM * (sigma - _WGS84_F * 0.5 * (x + y))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the distance in km between two points given in degrees.

    Uses the WGS84 ellipsoid (Andoyer-Lambert), so the result agrees with a
    reference geodesic to well under 0.1 % and is exactly symmetric. Raises
    ``TypeError``/``ValueError`` if the arguments are not numbers; check them
    with :func:`valid_coordinates` first.
    """
    return _ellipsoid_km(prepare(lat1, lon1), prepare(lat2, lon2))


def _chord2_for_km(km: float) -> float:
    angle = min(math.pi, km / EARTH_RADIUS_KM * _SLACK)
    chord = 2.0 * math.sin(angle * 0.5)
    return chord * chord + _EPS


class SphereIndex(Generic[T]):
    """A k-d tree over points on the Earth, for nearest-neighbour queries.

    Built once from ``(latitude, longitude, payload)`` triples; rows with
    invalid coordinates are skipped. The tree is immutable: build a new one
    when the points change. Queries are thread-safe.
    """

    __slots__ = ("_points", "_payloads", "_root")

    def __init__(self, items: Iterable[tuple[float, float, T]]):
        points: list[Prepared] = []
        payloads: list[T] = []
        for lat, lon, payload in items:
            if not valid_coordinates(lat, lon):
                continue
            points.append(prepare(float(lat), float(lon)))
            payloads.append(payload)
        self._points = points
        self._payloads = payloads
        # x, y and z of every point, one list per axis, to split the tree on.
        axes = [[p[axis] for p in points] for axis in range(3)]
        self._root = self._build(list(range(len(points))), axes) if points else None

    def __len__(self) -> int:
        return len(self._points)

    def _build(self, ids: list[int], axes: list[list[float]]) -> object:
        if len(ids) <= _LEAF_SIZE:
            # A leaf is a list; an inner node is a tuple. The search tells them
            # apart by type, which is cheaper than a tag field.
            x, y, z = axes
            return [(x[i], y[i], z[i], i) for i in ids]
        spreads = []
        for values in axes:
            these = [values[i] for i in ids]
            spreads.append(max(these) - min(these))
        axis = spreads.index(max(spreads))
        ids.sort(key=axes[axis].__getitem__)
        mid = len(ids) // 2
        split = axes[axis][ids[mid]]
        return (axis, split, self._build(ids[:mid], axes), self._build(ids[mid:], axes))

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        k: int = 1,
        eligible: Callable[[T], bool] | None = None,
        max_km: float | None = None,
    ) -> list[tuple[float, T]]:
        """Return up to ``k`` ``(distance_km, payload)`` pairs, nearest first.

        Only payloads for which ``eligible(payload)`` is true are returned, and
        only those within ``max_km`` when it is given. Ties are broken by
        insertion order. Raises ``ValueError`` for invalid query coordinates.
        """
        if not valid_coordinates(lat, lon):
            raise ValueError(f"invalid coordinates: {lat!r}, {lon!r}")
        return self.nearest_prepared(prepare(float(lat), float(lon)), k, eligible, max_km)

    def nearest_prepared(
        self,
        q: Prepared,
        k: int = 1,
        eligible: Callable[[T], bool] | None = None,
        max_km: float | None = None,
    ) -> list[tuple[float, T]]:
        """:meth:`nearest` for a point already passed through :func:`prepare`."""
        if self._root is None or k < 1:
            return []
        if k == 1:
            hit = self.nearest_one(q, eligible, max_km)
            return [] if hit is None else [hit]
        bound = 5.0 if max_km is None else _chord2_for_km(max_km)
        pts = self._points
        payloads = self._payloads
        ids = self._search(q, k, eligible, bound)
        ranked = sorted((_ellipsoid_km(q, pts[i]), i) for i in ids)
        if max_km is not None:
            ranked = [(d, i) for d, i in ranked if d <= max_km]
        return [(d, payloads[i]) for d, i in ranked[:k]]

    def nearest_one(
        self,
        q: Prepared,
        eligible: Callable[[T], bool] | None = None,
        max_km: float | None = None,
    ) -> tuple[float, T] | None:
        """The nearest eligible point to a prepared one, as ``(distance_km, payload)``, or None.

        What routing asks for each lead: :meth:`nearest_prepared` with ``k=1``
        without the list.
        """
        if self._root is None:
            return None
        bound = 5.0 if max_km is None else _chord2_for_km(max_km)
        ids = self._search_one(q, eligible, bound)
        if not ids:
            return None
        pts = self._points
        if len(ids) == 1:  # the common case: one clear winner
            i = ids[0]
            km = _ellipsoid_km(q, pts[i])
        else:  # near-ties on the sphere: the ellipsoid decides, then insertion order
            km, i = min((_ellipsoid_km(q, pts[i]), i) for i in ids)
        if max_km is not None and km > max_km:
            return None
        return km, self._payloads[i]

    def _search_one(
        self, q: Prepared, eligible: Callable[[T], bool] | None, bound: float
    ) -> list[int]:
        """Ids of every eligible point that could be the nearest (:meth:`_search` for k=1).

        The same walk with the leaf scan inlined and the bound kept in a local
        instead of a heap: this runs once or twice per routed lead.
        """
        qv = (q[0], q[1], q[2])
        qx, qy, qz = qv
        payloads = self._payloads
        min_dot = 1.0 - bound * 0.5
        found: list[tuple[float, int]] = []
        stack: list[tuple[float, object]] = []
        node = self._root
        while True:
            while type(node) is tuple:
                axis, split, low, high = node
                d = qv[axis] - split
                if d < 0.0:
                    stack.append((d * d, high))
                    node = low
                else:
                    stack.append((d * d, low))
                    node = high
            for x, y, z, i in node:  # type: ignore[attr-defined]
                dot = x * qx + y * qy + z * qz
                if dot >= min_dot and (eligible is None or eligible(payloads[i])):
                    found.append((dot, i))
                    # Only points within the slack of the best may still win on the ellipsoid.
                    limit = (2.0 - 2.0 * dot) * _SLACK2 + _EPS
                    if limit < bound:
                        bound = limit
                        min_dot = 1.0 - bound * 0.5
            while stack:
                plane2, node = stack.pop()
                if plane2 <= bound:
                    break
            else:
                break
        return [i for dot, i in found if dot >= min_dot]

    def _search(
        self,
        q: Prepared,
        k: int,
        eligible: Callable[[T], bool] | None,
        bound: float,
    ) -> list[int]:
        """Ids of every eligible point that could be among the k nearest.

        Works on squared chords (c2 = 2 - 2 * dot). ``bound`` is the largest
        c2 still worth a look: the k-th best so far, widened by the slack that
        lets ellipsoidal distance reorder near-ties.
        """
        qv = (q[0], q[1], q[2])
        found: list[tuple[float, int]] = []
        top: list[float] = []  # min-heap of the k best dots
        stack: list[tuple[float, object]] = []
        node = self._root
        while True:
            while type(node) is tuple:
                axis, split, low, high = node
                d = qv[axis] - split
                if d < 0.0:
                    stack.append((d * d, high))
                    node = low
                else:
                    stack.append((d * d, low))
                    node = high
            kth = self._scan(node, qv, 1.0 - bound * 0.5, eligible, found, top, k)  # type: ignore[arg-type]
            if kth is not None:
                bound = min(bound, (2.0 - 2.0 * kth) * _SLACK2 + _EPS)
            while stack:
                plane2, node = stack.pop()
                if plane2 <= bound:
                    break
            else:
                break
        min_dot = 1.0 - bound * 0.5
        return [i for dot, i in found if dot >= min_dot]

    def _scan(
        self,
        leaf: list[tuple[float, float, float, int]],
        qv: tuple[float, float, float],
        min_dot: float,
        eligible: Callable[[T], bool] | None,
        found: list[tuple[float, int]],
        top: list[float],
        k: int,
    ) -> float | None:
        """Add a leaf's candidates to ``found``; return the k-th best dot, if k are known."""
        qx, qy, qz = qv
        payloads = self._payloads
        for x, y, z, i in leaf:
            dot = x * qx + y * qy + z * qz
            if dot < min_dot or (eligible is not None and not eligible(payloads[i])):
                continue
            found.append((dot, i))
            if len(top) < k:
                heapq.heappush(top, dot)
            elif dot > top[0]:
                heapq.heapreplace(top, dot)
            else:
                continue
            if len(top) == k:
                min_dot = max(min_dot, 1.0 - (1.0 - top[0]) * _SLACK2)
        return top[0] if len(top) == k else None
