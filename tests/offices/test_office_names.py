"""Offices have a name per language, so the booth app says "Передан в офис Новосибирск"."""

from __future__ import annotations

import uuid

from backend.extensions import db
from backend.offices.models import Office
from tests.factories import make_event, make_office, make_user

CSV = (
    "code,name,city,country,latitude,longitude,timezone,email,phone,territories,capacity,"
    "name_en,name_ru\n"
    "NSK,Novosibirsk office,Novosibirsk,RU,55.0415,82.9346,Asia/Novosibirsk,"
    "nsk@example.com,,,,Novosibirsk office,Новосибирск\n"
)


def test_the_offices_csv_takes_a_name_per_language(runner, tmp_path):
    path = tmp_path / "offices.csv"
    path.write_text(CSV, encoding="utf-8")
    result = runner.invoke(args=["offices", "import", str(path)])
    assert result.exit_code == 0, result.output
    office = db.session.scalar(db.select(Office).where(Office.code == "NSK"))
    assert office.names == {"en": "Novosibirsk office", "ru": "Новосибирск"}
    assert office.name_in("ru") == "Новосибирск"
    assert office.name_in("de") == "Novosibirsk office"


def _staff_with_event():
    office = make_office("NSK", names={"ru": "Новосибирск"})
    staff = make_user("staff", email="booth@example.com")
    event = make_event(
        name="Sibir Expo",
        venue_city="Novosibirsk",
        venue_latitude=office.latitude,
        venue_longitude=office.longitude,
    )
    staff.events.append(event)
    db.session.commit()
    return staff, event


def test_a_synced_lead_names_its_office_in_the_readers_language(auth, api):
    staff, event = _staff_with_event()
    auth.login(staff.email)
    lead = {"client_id": str(uuid.uuid4()), "event_id": event.id, "first_name": "Ivan"}
    lead["city"], lead["country"] = "Novosibirsk", "RU"
    reply = api.post("/api/v1/sync", json={"leads": [lead]}, headers={"Accept-Language": "ru"})
    assert reply.status_code == 200, reply.get_json()
    [result] = reply.get_json()["results"]
    assert result["office"]["name"] == "Новосибирск"
    assert "Новосибирск" in result["routing"]["reason_display"]
    assert "Novosibirsk office" not in result["routing"]["reason_display"]

    english = api.get(f"/api/v1/leads/{result['lead_id']}", headers={"Accept-Language": "en"})
    assert english.get_json()["office"]["name"] == "Novosibirsk office"
    russian = api.get(f"/api/v1/leads/{result['lead_id']}", headers={"Accept-Language": "ru"})
    assert russian.get_json()["office"]["name"] == "Новосибирск"
