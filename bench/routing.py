"""Routing engine benchmark: `python bench/routing.py`.

Prints decisions per second for 10, 100 and 10,000 random offices over
Europe and Russia, for leads sent with coordinates and leads sent as
city + country, the 10,000-vs-10 slowdown, and the memory the gazetteer adds.
An index remembers the nearest office of each city it has routed, so the
city column is also shown for the first pass over a fresh index ("city 1st").
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


def random_offices(n: int, rng: random.Random, limited: bool) -> list[OfficeCandidate]:
    """Random offices; ``limited`` gives a quarter of them a capacity they have reached."""
    return [
        OfficeCandidate(
            id=i,
            code=f"O{i}",
            name=f"Office {i}",
            latitude=rng.uniform(*LAT_RANGE),
            longitude=rng.uniform(*LON_RANGE),
            capacity=rng.choice((None, None, 50, 200)) if limited else None,
            open_load=rng.randrange(0, 60) if limited else 0,
        )
        for i in range(n)
    ]


def rates(leads: list[LeadLocation], index: OfficeIndex, repeat: int = 5) -> tuple[float, float]:
    """Best of ``repeat`` runs and the first run alone, in CPU time so that other
    busy processes count less."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        for lead in leads:
            decide(lead, index)
        times.append(time.process_time() - start)
    return len(leads) / min(times), len(leads) / times[0]


def main() -> None:
    rng = random.Random(42)
    before = rss_mb()
    t0 = time.perf_counter()
    gazetteer = get_gazetteer()
    load_s = time.perf_counter() - t0
    gc.collect()
    after = rss_mb()
    print(f"gazetteer: {len(gazetteer):,} cities, loaded in {load_s:.2f} s")
    print(
        f"RSS added by the gazetteer index: {after - before:.1f} MB ({before:.1f} -> {after:.1f})"
    )
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

    results: dict[int, tuple[float, float, float]] = {}
    print("\ndecisions per second (CPU time, best of 5 runs of 20,000 leads)")
    print(
        f"{'offices':>8} {'build ms':>9} {'coords':>10} {'coords+cap':>11} {'city+cap':>10}"
        f" {'city 1st':>10}"
    )
    for n in OFFICE_COUNTS:
        plain = OfficeIndex(random_offices(n, rng, limited=False))
        t0 = time.perf_counter()
        limited = OfficeIndex(random_offices(n, rng, limited=True))
        build_ms = (time.perf_counter() - t0) * 1000
        city, city_first = rates(city_leads, limited)
        row = (rates(coord_leads, plain)[0], rates(coord_leads, limited)[0], city)
        results[n] = row
        print(
            f"{n:>8,} {build_ms:>9.1f} {row[0]:>10,.0f} {row[1]:>11,.0f} {row[2]:>10,.0f}"
            f" {city_first:>10,.0f}"
        )

    small, large = results[OFFICE_COUNTS[0]], results[OFFICE_COUNTS[-1]]
    ratios = ", ".join(
        f"{name} {a / b:.2f}x"
        for name, a, b in zip(("coords", "coords+cap", "city+cap"), small, large, strict=True)
    )
    print(f"\nslowdown 10,000 vs 10 offices: {ratios}")
    print("coords+cap/city+cap: a quarter of the offices are full, so some leads spill")


if __name__ == "__main__":
    main()
