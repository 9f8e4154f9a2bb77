"""Offices imported from CSV with ``flask offices import``: good rows kept, bad ones
numbered by line, existing offices updated, rows checked with the API's office schema."""

from backend.extensions import db
from backend.offices.models import Office
from tests.factories import make_office

OFFICES_CSV = """code,name,city,country,latitude,longitude,timezone,email,phone,territories,capacity
MOW,Moscow,Moscow,RU,55.7558,37.6173,Europe/Moscow,mow@example.com,+74950000000,RU-48,100
NSK,Novosibirsk,Novosibirsk,RU,55.0415,82.9346,Asia/Novosibirsk,nsk@example.com,+73830000000,,
BAD,Nowhere,Nowhere,RU,north,37.0,Europe/Moscow,bad@example.com,,,
BER,Berlin,Berlin,DE,52.52,13.405,Mars/Olympus,ber@example.com,,DE,
MUC,Munich,Munich,DE,48.137,11.575,Europe/Berlin,muc@example.com,,DE:8,
"""


def test_offices_import_keeps_good_rows_and_numbers_the_bad_ones(runner, tmp_path):
    path = tmp_path / "offices.csv"
    path.write_text(OFFICES_CSV)
    result = runner.invoke(args=["offices", "import", str(path)])
    assert result.exit_code == 1
    assert "3 created, 0 updated, 2 errors" in result.output
    assert "line 4: latitude is not a number" in result.output
    assert "line 5: unknown timezone 'Mars/Olympus'" in result.output
    codes = set(db.session.scalars(db.select(Office.code)))
    assert codes == {"MOW", "NSK", "MUC"}
    muc = db.session.scalar(db.select(Office).where(Office.code == "MUC"))
    assert muc.territories == ["DE:8"]
    assert db.session.scalar(db.select(Office).where(Office.code == "MOW")).capacity == 100


def test_offices_import_updates_existing_offices(runner, tmp_path):
    make_office("MOW", name="Old name")
    db.session.commit()
    path = tmp_path / "offices.csv"
    path.write_text(OFFICES_CSV.splitlines()[0] + "\n" + OFFICES_CSV.splitlines()[1] + "\n")
    result = runner.invoke(args=["offices", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated" in result.output
    db.session.expire_all()
    assert db.session.scalar(db.select(Office.name).where(Office.code == "MOW")) == "Moscow"


def test_offices_import_checks_rows_with_the_office_schema(runner, tmp_path):
    """Rows go through ``OfficeIn`` (the monthly order with the API's limits): a code too
    long for the database, a negative order and a country name are refused by line."""
    header = OFFICES_CSV.splitlines()[0] + ",monthly_lead_order,working_days"
    path = tmp_path / "offices.csv"
    path.write_text(
        header + "\n"
        + "X" * 40 + ",Long,Moscow,RU,55.7,37.6,Europe/Moscow,l@example.com,,,,,\n"
        + "ORD,Order,Moscow,RU,55.7,37.6,Europe/Moscow,o@example.com,,,,-5,\n"
        + "CTY,Country,Moscow,Russia,55.7,37.6,,c@example.com,,,,,71\n"
        + " kzn ,Kazan, Kazan ,ru,55.79,49.12,,k@example.com,, ru-73 ; RU ,5,12,713\n"
    )  # fmt: skip
    result = runner.invoke(args=["offices", "import", str(path)])
    assert "1 created, 0 updated, 3 errors" in result.output, result.output
    assert "line 2: code: String should have at most 32 characters" in result.output
    assert "line 3: monthly_lead_order: Input should be greater than or equal to 0" in (
        result.output
    )
    assert "line 4: country must be an ISO code like RU or DE: 'Russia'" in result.output
    kazan = db.session.scalar(db.select(Office).where(Office.code == "KZN"))
    assert (kazan.city, kazan.country, kazan.territories) == ("Kazan", "RU", ["RU-73", "RU"])
    assert (kazan.capacity, kazan.monthly_lead_order, kazan.timezone) == (5, 12, "UTC")
    assert kazan.working_days == "137"
