"""Idempotent demo data: offices in Russia and Germany, a running and a finished event,
one user per role, and leads in every status."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from backend.auth.models import User
from backend.db_types import utcnow
from backend.events.models import Event
from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.leads.models import Lead, QualityFeedback, Touch
from backend.offices.services import upsert_office

DEMO_PASSWORD = "leadrelay-demo"
NAMESPACE = uuid.UUID("6f1c8a52-1d55-4c9a-9a55-0c0ffee00000")

OFFICES = [
    ("MOW", "Moscow", "Moscow", "RU", 55.7558, 37.6173, "Europe/Moscow", ["RU-48"]),
    ("SPB", "Saint Petersburg", "Saint Petersburg", "RU", 59.9386, 30.3141, "Europe/Moscow", []),
    ("EKB", "Yekaterinburg", "Yekaterinburg", "RU", 56.8389, 60.6057, "Asia/Yekaterinburg", []),
    ("NSK", "Novosibirsk", "Novosibirsk", "RU", 55.0415, 82.9346, "Asia/Novosibirsk", []),
    ("KZN", "Kazan", "Kazan", "RU", 55.7963, 49.1088, "Europe/Moscow", []),
    ("BER", "Berlin", "Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin", []),
    ("MUC", "Munich", "Munich", "DE", 48.1374, 11.5755, "Europe/Berlin", ["DE:8"]),
]

# The offices' names in Russian ("Передан в офис Новосибирск").
OFFICE_NAMES_RU = {
    "MOW": "Москва", "SPB": "Санкт-Петербург", "EKB": "Екатеринбург", "NSK": "Новосибирск",
    "KZN": "Казань", "BER": "Берлин", "MUC": "Мюнхен",
}  # fmt: skip

USERS = [
    ("admin", "admin@leadrelay.demo", "Alex Admin", None),
    ("marketing", "marketing@leadrelay.demo", "Marina Marketing", None),
    ("office_manager", "manager@leadrelay.demo", "Mikhail Manager", "MOW"),
    ("office_rep", "rep@leadrelay.demo", "Regina Rep", "MOW"),
    ("staff", "booth@leadrelay.demo", "Boris Booth", None),
]

VISITORS = [
    ("Иван", "Петров", "ООО Сибирь", "Новосибирск", "Россия"),
    ("Anna", "Schmidt", "Schmidt GmbH", "München", "Deutschland"),
    ("Ольга", "Смирнова", "Уралмаш", "Екатеринбург", "RU"),
    ("Dmitry", "Volkov", "Volga Logistics", "Kazan", "Russia"),
    ("Lukas", "Weber", "Weber AG", "Berlin", "DE"),
    ("Сергей", "Кузнецов", "Невский завод", "Санкт-Петербург", "Россия"),
    ("Maria", "Ivanova", "Moskva Trade", "Moscow", "RU"),
    ("Peter", "Müller", "Müller KG", "Köln", "Germany"),
    ("Елена", "Попова", "Tomsk Instruments", "Томск", "Россия"),
    ("Klaus", "Fischer", "Fischer Bau", "Unknownville", "DE"),
]


def _user(role, email, name, office_code) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        from backend.offices.models import Office

        office = (
            db.session.scalar(select(Office).where(Office.code == office_code))
            if office_code
            else None
        )
        user = User(email=email, name=name, role=role, office=office)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def _event(name: str, **fields) -> Event:
    event = db.session.scalar(select(Event).where(Event.name == name))
    if event is None:
        event = Event(name=name, **fields)
        db.session.add(event)
        db.session.flush()
    return event


def _payloads(event: Event, count: int, start: datetime, rng: random.Random) -> list[dict]:
    payloads = []
    for n in range(count):
        first, last, company, city, country = VISITORS[n % len(VISITORS)]
        payloads.append(
            {
                "event_id": event.id,
                "client_id": str(uuid.uuid5(NAMESPACE, f"{event.name}:{n}")),
                "captured_at": (start + timedelta(minutes=17 * n)).isoformat(),
                "first_name": first,
                "last_name": f"{last} {n + 1}",
                "company": company,
                "email": f"visitor{n + 1}.{event.id}@example.com" if n % 7 else "broken@@example",
                "phone": f"+7 912 {n:03d}-45-67",
                "city": city,
                "country": country,
                "rating": ("hot", "warm", "cold")[rng.randrange(3)],
                "notes": "Asked about pricing for 20 seats." if n % 3 == 0 else "",
                "answers": {"budget": ("<10k", ">10k")[n % 2]},
                "consent": {"contact": True, "marketing": n % 2 == 0, "text": event.consent_text},
                # Cyrillic names filled in the form in Russian, the others in English.
                "language": "ru" if any("а" <= ch <= "я" for ch in first.lower()) else "en",
            }
        )
    return payloads


def _work_finished_event(event: Event, rep: User, rng: random.Random) -> None:
    """Give the finished event's leads a history: touches, every status, wins, feedback."""
    leads = db.session.scalars(
        select(Lead).where(Lead.event_id == event.id).order_by(Lead.id)
    ).all()
    plan = [
        "won",
        "won",
        "won",
        "lost",
        "qualified",
        "qualified",
        "contacted",
        "contacted",
        "stale",
        "new",
    ]
    for n, lead in enumerate(leads):
        lead.received_at = lead.routed_at = lead.captured_at + timedelta(minutes=2)
        status = plan[n % len(plan)]
        if status not in ("new", "stale"):
            touched = lead.routed_at + timedelta(hours=rng.choice([0.5, 2, 5, 20, 30]))
            db.session.add(
                Touch(lead=lead, user_id=rep.id, kind="call", outcome="reached", at=touched)
            )
            lead.first_touch_at = touched
        lead.status = status
        lead.status_changed_at = lead.routed_at + timedelta(days=3)
        if status == "won":
            lead.deal_value, lead.deal_currency = (
                Decimal(rng.choice([4800, 12000, 25000])),
                event.currency,
            )
            lead.won_at = lead.status_changed_at
        if status == "lost":
            lead.lost_reason = "chose a competitor"
        if lead.feedback_requested and n % 4 != 3:
            verdict = "bad" if n % 5 == 4 else "good"
            db.session.add(
                QualityFeedback(lead=lead, user_id=rep.id, verdict=verdict,
                                reason="no_budget" if verdict == "bad" else "")
            )  # fmt: skip


def load_demo() -> list[tuple[str, str, str]]:
    """Create (or keep) the demo data; returns (role, email, password) for each login."""
    for code, name, city, country, lat, lon, tz, territories in OFFICES:
        upsert_office(
            {"code": code, "name": f"{name} office", "city": city, "country": country,
             "latitude": lat, "longitude": lon, "timezone": tz,
             "email": f"{code.lower()}@offices.leadrelay.demo", "phone": "+7 800 555-01-23",
             "territories": territories, "capacity": "", "monthly_lead_order": 40,
             "names": {"en": f"{name} office", "ru": OFFICE_NAMES_RU[code]}}
        )  # fmt: skip
    db.session.flush()
    users = {role: _user(role, email, name, office) for role, email, name, office in USERS}

    today = utcnow().date()
    brief = {
        "offer": "Free pilot for 30 days and 15% off the first year.",
        "promo_conditions": "Valid for contracts signed before the end of next month.",
        "talking_points": "Offline capture, routing in seconds, same-day follow-up.",
    }
    running = _event(
        "Innoprom 2026", venue_city="Yekaterinburg", venue_country="RU",
        venue_latitude=56.8431, venue_longitude=60.6454, timezone="Asia/Yekaterinburg",
        starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=2),
        cost=Decimal("18000"), currency="EUR", brief=brief,
        language="ru",
        autoresponder_subject="Рады знакомству на выставке {event}, {first_name}",
        autoresponder_body="Здравствуйте, {first_name}!\n\nСпасибо, что посетили наш стенд на "
        "выставке {event} ({event_dates}). {offer}\n\nВаш контакт: {office_name}, "
        "{office_phone}, {office_email}.",
        mail_templates={
            "en": {
                "autoresponder_subject": "Great to meet you at {event}, {first_name}",
                "autoresponder_body": "Hello {first_name},\n\nthank you for visiting our stand "
                "at {event} ({event_dates}). {offer}\n\nYour contact: {office_name}, "
                "{office_phone}, {office_email}.",
                "office_notice_body": "Met at the stand on {visit_date}: mention the 30-day pilot.",
            },
            "ru": {
                "office_notice_subject": "Лид с выставки {event}: {first_name}, {company}",
                "office_notice_body": "Посетитель был у стенда {visit_date}: предложите "
                "30-дневный пилот.",
            },
        },
        questions=[
            {"id": "budget", "label": "Budget", "type": "choice", "options": ["<10k", ">10k"]},
            {"id": "timeline", "label": "Buying within 3 months?", "type": "yesno", "options": []},
        ],
    )  # fmt: skip
    finished = _event(
        "Mashex 2026", venue_city="Moscow", venue_country="RU",
        venue_latitude=55.8227, venue_longitude=37.6408, timezone="Europe/Moscow",
        starts_on=today - timedelta(days=40), ends_on=today - timedelta(days=37),
        cost=Decimal("25000"), currency="EUR", brief=brief,
        autoresponder_subject="Thank you for visiting us at {event}",
        autoresponder_body="Hello {first_name},\n\nit was a pleasure to meet you at {event}.",
        questions=[{"id": "budget", "label": "Budget", "type": "choice", "options": ["<10k", ">10k"]}],
    )  # fmt: skip
    staff = users["staff"]
    for event in (running, finished):
        if event not in staff.events:
            staff.events.append(event)
    db.session.flush()

    rng = random.Random(42)
    has_leads = db.session.scalar(select(Lead.id).where(Lead.event_id == finished.id).limit(1))
    if not has_leads:
        db.session.commit()
        start = datetime.combine(finished.starts_on, datetime.min.time(), UTC) + timedelta(hours=7)
        capture_batch(_payloads(finished, 30, start, rng), user=staff)
        _work_finished_event(finished, users["office_rep"], rng)
        start = utcnow() - timedelta(hours=20)
        capture_batch(_payloads(running, 12, start, rng), user=staff)
    db.session.flush()
    return [(role, email, DEMO_PASSWORD) for role, email, _, _ in USERS]
