"""Routing engine benchmark: `python bench/routing.py`.

Prints decisions per second for 10, 100 and 10,000 random offices over
Europe and Russia, for leads sent with coordinates and leads sent as
city + country, the 10,000-vs-10 slowdown, and the memory the gazetteer adds.
No assertions: read the numbers.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.routing.engine import LeadLocation, OfficeCandidate, OfficeIndex, decide  # noqa: E402
from backend.routing.gazetteer import get_gazetteer  # noqa: E402

OFFICE_COUNTS = (10, 100, 10_000)
LEADS = 20_000
# Europe and European/Siberian Russia.
LAT_RANGE = (36.0, 68.0)
LON_RANGE = (-10.0, 90.0)
CITY_SPELLINGS = [
    ("Novosibirsk", "RU"),
    ("новосибирск", "Россия"),
    ("Nowosibirsk", "Russia"),
    ("St. Petersburg", "RU"),
    ("Санкт-Петербург", None),
    ("München", "Deutschland"),
    ("Muenchen", "DE"),
    ("Köln", "Germany"),
    ("Cologne", "DE"),
    ("Moscow", "RU"),
    ("Москва", "Россия"),
    ("Warszawa", "Polska"),
    ("Praha", "CZ"),
    ("Wien", "Österreich"),
    ("Kazan", "RU"),
    ("Екатеринбург", "RU"),
]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def random_offices(n: int, rng: random.Random) -> list[OfficeCandidate]:
    return [
        OfficeCandidate(
            id=i,
            code=f"O{i}",
            name=f"Office {i}",
            latitude=rng.uniform(*LAT_RANGE),
            longitude=rng.uniform(*LON_RANGE),
            capacity=rng.choice((None, None, 50, 200)),
            open_load=rng.randrange(0, 60),
        )
        for i in range(n)
    ]


def rate(leads: list[LeadLocation], index: OfficeIndex) -> float:
    gc.collect()
    start = time.perf_counter()
    for lead in leads:
        decide(lead, index)
    return len(leads) / (time.perf_counter() - start)


def main() -> None:
    rng = random.Random(42)
    before = rss_mb()
    t0 = time.perf_counter()
    gazetteer = get_gazetteer()
    load_s = time.perf_counter() - t0
    gc.collect()
    after = rss_mb()
    print(f"gazetteer: {len(gazetteer):,} cities, loaded in {load_s:.2f} s")
    print(f"RSS added by the gazetteer index: {after - before:.1f} MB ({before:.1f} -> {after:.1f})")
    t0 = time.perf_counter()
    gazetteer.nearest_place(55.0, 83.0)
    reverse_s = time.perf_counter() - t0
    print(
        f"reverse-lookup index (built on first coordinates lead with territory claims): "
        f"+{rss_mb() - after:.1f} MB, {reverse_s:.2f} s"
    )

    coord_leads = [
        LeadLocation(rng.uniform(*LAT_RANGE), rng.uniform(*LON_RANGE)) for _ in range(LEADS)
    ]
    rows = [
        r
        for r in range(len(gazetteer))
        if LAT_RANGE[0] <= gazetteer.place(r).latitude <= LAT_RANGE[1]
        and LON_RANGE[0] <= gazetteer.place(r).longitude <= LON_RANGE[1]
    ]
    sample = [gazetteer.place(r) for r in rng.sample(rows, 2_000)]
    city_leads = [
        LeadLocation(city=p.name, country=p.country) for p in rng.choices(sample, k=LEADS // 2)
    ] + [LeadLocation(city=c, country=k) for c, k in rng.choices(CITY_SPELLINGS, k=LEADS // 2)]
    rng.shuffle(city_leads)
    for lead in city_leads[:2_000]:
        decide(lead, OfficeIndex([]))  # warm the per-name caches, as a running server would

    results: dict[int, tuple[float, float]] = {}
    print(f"\n{'offices':>8} {'build ms':>9} {'coords/s':>10} {'city/s':>10}")
    for n in OFFICE_COUNTS:
        offices = random_offices(n, rng)
        t0 = time.perf_counter()
        index = OfficeIndex(offices)
        build_ms = (time.perf_counter() - t0) * 1000
        coords = max(rate(coord_leads, index) for _ in range(3))
        cities = max(rate(city_leads, index) for _ in range(3))
        results[n] = (coords, cities)
        print(f"{n:>8,} {build_ms:>9.1f} {coords:>10,.0f} {cities:>10,.0f}")

    small, large = results[OFFICE_COUNTS[0]], results[OFFICE_COUNTS[-1]]
    print(
        f"\nslowdown 10,000 vs 10 offices: coordinates {small[0] / large[0]:.2f}x, "
        f"city {small[1] / large[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
