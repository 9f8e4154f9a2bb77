"""City and country lookups in the offline gazetteer."""

from __future__ import annotations

import pytest

from backend.routing.gazetteer import normalize_city, normalize_country

NOVOSIBIRSK = ("Novosibirsk", "RU", "53")
ST_PETERSBURG = ("Saint Petersburg", "RU", "66")
MUNICH = ("Munich", "DE", "02")
COLOGNE = ("Köln", "DE", "07")


@pytest.mark.parametrize(
    ("city", "country", "expected"),
    [
        ("Novosibirsk", None, NOVOSIBIRSK),
        ("novosibirsk ", "RU", NOVOSIBIRSK),
        ("  NOVOSIBIRSK", "Russia", NOVOSIBIRSK),
        ("Новосибирск", "Россия", NOVOSIBIRSK),
        ("новосибирск", None, NOVOSIBIRSK),
        ("Nowosibirsk", "Russland", NOVOSIBIRSK),
        ("Sankt-Peterburg", "RU", ST_PETERSBURG),
        ("St. Petersburg", "Russia", ST_PETERSBURG),
        ("St Petersburg", None, ST_PETERSBURG),
        ("Saint-Petersburg", None, ST_PETERSBURG),
        ("Sankt Petersburg", "Russian Federation", ST_PETERSBURG),
        ("Санкт-Петербург", "Россия", ST_PETERSBURG),
        ("санкт петербург", None, ST_PETERSBURG),
        ("С.-Петербург", None, ST_PETERSBURG),
        ("München", "Deutschland", MUNICH),
        ("Munich", "Germany", MUNICH),
        ("Muenchen", "DE", MUNICH),
        ("munchen", None, MUNICH),
        ("Мюнхен", "Германия", MUNICH),
        ("Köln", "DE", COLOGNE),
        ("Koeln", "Deutschland", COLOGNE),
        ("Cologne", "Allemagne", COLOGNE),
        ("koln", None, COLOGNE),
    ],
)
def test_a_city_resolves_whatever_the_spelling(gazetteer, city, country, expected):
    place = gazetteer.resolve(city, country)
    assert place is not None
    assert (place.name, place.country, place.admin1) == expected


def test_moscow_with_country_us_is_moscow_idaho(gazetteer):
    place = gazetteer.resolve("Moscow", "US")
    assert (place.country, place.admin1) == ("US", "ID")


def test_moscow_with_country_ru_is_the_russian_capital(gazetteer):
    place = gazetteer.resolve("Moscow", "RU")
    assert place.country == "RU"
    assert place.population > 10_000_000


def test_without_a_country_the_most_populous_match_wins(gazetteer):
    assert gazetteer.resolve("Moscow", None).country == "RU"
    assert gazetteer.resolve("Paris", None).country == "FR"


def test_an_ambiguous_name_inside_a_country_gives_the_most_populous_place(gazetteer):
    place = gazetteer.resolve("Frankfurt", "DE")
    assert place.name == "Frankfurt am Main"


def test_a_city_not_in_the_given_country_is_not_found(gazetteer):
    assert gazetteer.resolve("Novosibirsk", "DE") is None


@pytest.mark.parametrize("city", ["Xyzzyville", "", "   ", None, "!!!"])
def test_an_unknown_or_empty_city_is_not_found(gazetteer, city):
    assert gazetteer.resolve(city, "RU") is None


def test_a_russian_city_prefix_is_ignored(gazetteer):
    assert gazetteer.resolve("г. Новосибирск", "RU").name == "Novosibirsk"


def test_a_place_has_a_short_label(gazetteer):
    assert gazetteer.resolve("Novosibirsk", "RU").label == "Novosibirsk, RU"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("RU", "RU"),
        ("ru", "RU"),
        ("RUS", "RU"),
        ("Russia", "RU"),
        ("Россия", "RU"),
        ("россия ", "RU"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("Allemagne", "DE"),
        ("Германия", "DE"),
        ("United States", "US"),
        ("USA", "US"),
        ("Österreich", "AT"),
        ("Беларусь", "BY"),
        ("Қазақстан", "KZ"),
        ("Polska", "PL"),
        ("The Netherlands", "NL"),
    ],
)
def test_a_country_is_known_by_code_or_name(gazetteer, value, code):
    assert gazetteer.country_code(value) == code


@pytest.mark.parametrize("value", [None, "", "Atlantis", "XX"])
def test_an_unknown_country_has_no_code(gazetteer, value):
    assert gazetteer.country_code(value) is None


def test_normalize_country_uses_the_shared_gazetteer(gazetteer):
    assert normalize_country("Россия") == "RU"
    assert normalize_country(None) is None


def test_city_names_normalise_case_accents_spaces_and_saint():
    assert normalize_city("  St. Pölten ") == normalize_city("sankt-polten")
    assert normalize_city("Novo Sibirsk") == normalize_city("novosibirsk")


def test_reverse_lookup_finds_the_city_at_a_point(gazetteer):
    place = gazetteer.nearest_place(55.03, 82.92)
    assert (place.name, place.admin1) == ("Novosibirsk", "53")


def test_reverse_lookup_in_the_open_sea_finds_nothing(gazetteer):
    assert gazetteer.nearest_place(-40.0, -120.0) is None


def test_a_damaged_index_file_is_rebuilt(tmp_path, monkeypatch):
    import marshal
    from array import array

    from backend.routing import gazetteer as module

    tiny = {
        "format": module.FORMAT_VERSION,
        "names": ["Novosibirsk"],
        "lat": array("d", [55.0]).tobytes(),
        "lon": array("d", [82.9]).tobytes(),
        "population": array("q", [1]).tobytes(),
        "country": ["RU"],
        "admin1": ["53"],
        "index": {"novosibirsk": 0},
        "countries": {"ru": "RU"},
        "country_names": {"RU": "Russia"},
    }
    builds = []

    def build(path):
        builds.append(path)
        path.write_bytes(marshal.dumps(tiny))

    monkeypatch.setattr(module, "_build_cache_file", build)
    path = tmp_path / "gazetteer.marshal"
    path.write_bytes(b"not an index")
    rebuilt = module.Gazetteer.load(path)
    assert builds == [path]
    assert rebuilt.resolve("Novosibirsk", "RU").admin1 == "53"
