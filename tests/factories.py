"""Model factories for test data: small functions with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import date

from werkzeug.security import generate_password_hash

from backend.auth.models import User
from backend.events.models import Event
from backend.extensions import db
from backend.offices.models import Office

PASSWORD = "secret-pass"
# Made once, with a cheap work factor: scrypt costs ~0.2 s per user and again per login.
# check_password_hash reads the method from the stored hash, so sign-in works unchanged.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)

CITIES = {
    "MOW": ("Moscow", "RU", 55.7558, 37.6173, "Europe/Moscow"),
    "SPB": ("Saint Petersburg", "RU", 59.9386, 30.3141, "Europe/Moscow"),
    "NSK": ("Novosibirsk", "RU", 55.0415, 82.9346, "Asia/Novosibirsk"),
    "EKB": ("Yekaterinburg", "RU", 56.8389, 60.6057, "Asia/Yekaterinburg"),
    "BER": ("Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin"),
    "MUC": ("Munich", "DE", 48.1374, 11.5755, "Europe/Berlin"),
}


def make_office(code: str = "MOW", **fields) -> Office:
    city, country, lat, lon, tz = CITIES.get(code, ("Moscow", "RU", 55.7558, 37.6173, "UTC"))
    values = dict(
        code=code,
        name=f"{city} office",
        city=city,
        country=country,
        latitude=lat,
        longitude=lon,
        timezone=tz,
        email=f"{code.lower()}@offices.example.com",
        phone="+7 495 000-00-00",
        territories=[],
    )
    values.update(fields)
    office = Office(**values)
    db.session.add(office)
    db.session.flush()
    return office


def make_user(role: str = "staff", office: Office | None = None, **fields) -> User:
    n = next(_seq)
    user = User(
        email=fields.pop("email", f"{role}{n}@example.com"),
        name=fields.pop("name", f"{role.title()} {n}"),
        role=role,
        office=office,
        **fields,
    )
    user.password_hash = PASSWORD_HASH
    db.session.add(user)
    db.session.flush()
    return user


def make_event(**fields) -> Event:
    values = dict(
        name=f"Expo {next(_seq)}",
        venue_city="Moscow",
        venue_country="RU",
        venue_latitude=55.7558,
        venue_longitude=37.6173,
        starts_on=date(2026, 11, 25),
        ends_on=date(2026, 11, 28),
        cost=10000,
        currency="EUR",
        brief={
            "offer": "20% off the first year",
            "promo_conditions": "until 31 Dec",
            "talking_points": "uptime",
        },
        autoresponder_subject="Thanks for visiting us at {event}, {first_name}",
        autoresponder_body="Hello {first_name},\n\nthanks for stopping by at {event}.",
        questions=[
            {"id": "budget", "label": "Budget", "type": "choice", "options": ["<10k", ">10k"]}
        ],
    )
    values.update(fields)
    event = Event(**values)
    db.session.add(event)
    db.session.flush()
    return event
