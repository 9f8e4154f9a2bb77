"""Idempotent demo data that looks real: offices in Russia and Germany with their own
phones and addresses and a rep each, a running event in roubles and a finished one paid in
euros (with exchange rates loaded, so the dashboard converts from the first run), one user
per role, distinct visitors, and leads in every status with wins by the rep who closed
them."""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from backend.auth.models import User
from backend.db_types import utcnow
from backend.events.models import Event
from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.leads.models import Lead, QualityFeedback, Touch
from backend.offices.services import upsert_office
from backend.rates.models import ExchangeRate
from backend.rates.services import CBR_QUOTE, ParsedRate, store_rates
from backend.transaction import commit

DEMO_PASSWORD = "leadrelay-demo"
NAMESPACE = uuid.UUID("6f1c8a52-1d55-4c9a-9a55-0c0ffee00000")

# code, city, country, lat, lon, zone, territories, local phone, street address
OFFICES = [
    ("MOW", "Moscow", "RU", 55.7558, 37.6173, "Europe/Moscow", ["RU-48"],
     "+7 495 215-40-17", "ul. Tverskaya 7, Moscow 125009"),
    ("SPB", "Saint Petersburg", "RU", 59.9386, 30.3141, "Europe/Moscow", [],
     "+7 812 309-62-48", "Nevsky pr. 48, Saint Petersburg 191186"),
    ("EKB", "Yekaterinburg", "RU", 56.8389, 60.6057, "Asia/Yekaterinburg", [],
     "+7 343 286-15-90", "ul. Malysheva 51, Yekaterinburg 620014"),
    ("NSK", "Novosibirsk", "RU", 55.0415, 82.9346, "Asia/Novosibirsk", [],
     "+7 383 227-73-05", "Krasny pr. 28, Novosibirsk 630099"),
    ("KZN", "Kazan", "RU", 55.7963, 49.1088, "Europe/Moscow", [],
     "+7 843 204-58-66", "ul. Baumana 44, Kazan 420111"),
    ("BER", "Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin", [],
     "+49 30 2084 3316", "Friedrichstraße 68, 10117 Berlin"),
    ("MUC", "Munich", "DE", 48.1374, 11.5755, "Europe/Berlin", ["DE:8"],
     "+49 89 2154 7720", "Leopoldstraße 31, 80802 München"),
]  # fmt: skip

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
# One more rep in every office (same password), so wins and the league show real people.
OFFICE_REPS = {
    "MOW": "Denis Orlov", "SPB": "Yulia Belova", "EKB": "Artem Sokolov",
    "NSK": "Irina Lebedeva", "KZN": "Ruslan Galiev", "BER": "Jonas Becker",
    "MUC": "Lena Hoffmann",
}  # fmt: skip

# Visitors: distinct people. (first, last, company, city, country, phone prefix)
VISITORS = [
    ("Иван", "Петров", "ООО «Сибирь-Энерго»", "Новосибирск", "Россия", "+7 913"),
    ("Anna", "Schmidt", "Schmidt Antriebstechnik GmbH", "München", "Deutschland", "+49 151"),
    ("Ольга", "Смирнова", "Уралмашзавод", "Екатеринбург", "RU", "+7 922"),
    ("Dmitry", "Volkov", "Volga Logistics", "Kazan", "Russia", "+7 917"),
    ("Lukas", "Weber", "Weber Fördertechnik AG", "Berlin", "DE", "+49 160"),
    ("Сергей", "Кузнецов", "Невский завод", "Санкт-Петербург", "Россия", "+7 921"),
    ("Мария", "Иванова", "Торговый дом «Москва»", "Москва", "RU", "+7 916"),
    ("Peter", "Müller", "Müller Kunststoffe KG", "Köln", "Germany", "+49 171"),
    ("Елена", "Попова", "Томские приборы", "Томск", "Россия", "+7 923"),
    ("Klaus", "Fischer", "Fischer Bau", "Unknownville", "DE", "+49 172"),
    ("Алексей", "Морозов", "Камский кабель", "Пермь", "Россия", "+7 912"),
    ("Наталья", "Волкова", "Липецкая сталь", "Липецк", "RU", "+7 915"),
    ("Андрей", "Соколов", "Сокол Агро", "Краснодар", "Россия", "+7 918"),
    ("Татьяна", "Новикова", "Новиков и партнёры", "Москва", "RU", "+7 925"),
    ("Michael", "Wagner", "Wagner Maschinenbau", "Stuttgart", "DE", "+49 152"),
    ("Павел", "Козлов", "Казанский химзавод", "Казань", "Россия", "+7 917"),
    ("Екатерина", "Лебедева", "Балтийские верфи", "Санкт-Петербург", "RU", "+7 911"),
    ("Julia", "Becker", "Becker Elektronik", "Hamburg", "Germany", "+49 176"),
    ("Николай", "Егоров", "Уральские трубы", "Челябинск", "Россия", "+7 951"),
    ("Светлана", "Павлова", "Павлово-Посадская мануфактура", "Москва", "RU", "+7 926"),
    ("Thomas", "Schulz", "Schulz Logistik", "München", "DE", "+49 157"),
    ("Виктор", "Семёнов", "Сибирский лес", "Красноярск", "Россия", "+7 902"),
    ("Ирина", "Голубева", "Голубая волна", "Новосибирск", "RU", "+7 913"),
    ("Stefan", "Hoffmann", "Hoffmann Pumpen", "Frankfurt am Main", "Germany", "+49 162"),
    ("Михаил", "Виноградов", "Виноградов Инжиниринг", "Нижний Новгород", "Россия", "+7 920"),
    ("Анастасия", "Богданова", "Северсталь-Сервис", "Череповец", "RU", "+7 921"),
    ("Markus", "Koch", "Koch Verpackung", "Düsseldorf", "DE", "+49 173"),
    ("Юрий", "Фёдоров", "Тульский оружейный", "Тула", "Россия", "+7 910"),
    ("Дарья", "Михайлова", "ЕкатеринбургЭнергоСбыт", "Екатеринбург", "RU", "+7 919"),
    ("Sabine", "Richter", "Richter Chemie", "Leipzig", "Germany", "+49 170"),
    ("Олег", "Никитин", "Никитин Автотранс", "Самара", "Россия", "+7 927"),
    ("Людмила", "Зайцева", "Зайцев Текстиль", "Иваново", "RU", "+7 920"),
]  # fmt: skip

_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                  ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n",
                   "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "",
                   "e", "yu", "ya"], strict=True))  # fmt: skip

# Rates to load so the dashboard converts from the first run: roubles per unit, as the
# Central Bank of Russia quotes them, moving a little from day to day.
DEMO_RATES = {"EUR": Decimal("98.40"), "USD": Decimal("91.20")}


def _latin(text: str) -> str:
    return "".join(_LATIN.get(ch, ch) for ch in text.lower()).replace("ü", "ue").replace("ö", "oe")


def _user(role, email, name, office_code, password_hash: Callable[[], str]) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        from backend.offices.models import Office

        office = (
            db.session.scalar(select(Office).where(Office.code == office_code))
            if office_code
            else None
        )
        user = User(email=email, name=name, role=role, office=office)
        user.password_hash = password_hash()
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


def _payloads(
    event: Event, count: int, start: datetime, rng: random.Random, offset: int = 0
) -> list[dict]:
    """``count`` visitors of ``event``, each a different person (from ``offset`` on)."""
    payloads = []
    for n in range(count):
        first, last, company, city, country, prefix = VISITORS[(offset + n) % len(VISITORS)]
        domain = "".join(ch for ch in _latin(company.split()[-1]) if ch.isalnum())[:16] or "mail"
        email = f"{_latin(first)}.{_latin(last)}@{domain}.example"
        payloads.append(
            {
                "event_id": event.id,
                "client_id": str(uuid.uuid5(NAMESPACE, f"{event.name}:{n}")),
                "captured_at": (start + timedelta(minutes=17 * n)).isoformat(),
                "first_name": first,
                "last_name": last,
                "company": company,
                # Every seventh e-mail mistyped at the booth: kept and flagged for review.
                "email": email if n % 7 != 6 else email.replace("@", "@@"),
                "phone": f"{prefix} {rng.randrange(100, 999)}-{rng.randrange(10, 99)}-"
                f"{rng.randrange(10, 99)}",
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


def _work_finished_event(event: Event, reps: dict[int, User], rng: random.Random) -> None:
    """Give the finished event's leads a history: touches and claims by a rep of the
    lead's office, every status, wins in the office's currency (roubles in Russia, euros in Germany), feedback."""
    leads = db.session.scalars(
        select(Lead).where(Lead.event_id == event.id).order_by(Lead.id)
    ).all()
    plan = ["won", "won", "won", "lost", "qualified", "qualified", "contacted", "contacted",
            "stale", "new"]  # fmt: skip
    # Offices close deals in their own country's currency.
    deals = {"RUB": [Decimal(v) for v in ("1200000", "480000", "2350000", "860000")],
             "EUR": [Decimal(v) for v in ("12000", "25000", "4800")]}  # fmt: skip
    won = 0
    for n, lead in enumerate(leads):
        lead.received_at = lead.routed_at = lead.captured_at + timedelta(minutes=2)
        rep = reps.get(lead.office_id)
        status = plan[n % len(plan)] if rep else "new"
        if status not in ("new", "stale"):
            touched = lead.routed_at + timedelta(hours=rng.choice([0.5, 2, 5, 20, 30]))
            db.session.add(
                Touch(lead=lead, user_id=rep.id, kind="call", outcome="reached", at=touched)
            )
            lead.first_touch_at = touched
            lead.claimed_by_id = rep.id
        lead.status = status
        lead.status_changed_at = lead.routed_at + timedelta(days=3 + n % 9)
        if status == "won":
            currency = "EUR" if rep.office.country == "DE" else "RUB"
            lead.deal_value = deals[currency][won % len(deals[currency])]
            lead.deal_currency = currency
            won += 1
            lead.won_at = lead.status_changed_at
        if status == "qualified":
            lead.deal_value, lead.deal_currency = Decimal("750000"), "RUB"
        if status == "lost":
            lead.lost_reason = "chose a competitor"
        if lead.feedback_requested and n % 4 != 3 and rep:
            verdict = "bad" if n % 5 == 4 else "good"
            db.session.add(
                QualityFeedback(lead=lead, user_id=rep.id, verdict=verdict,
                                reason="no_budget" if verdict == "bad" else "")
            )  # fmt: skip


def _load_rates(first: date, last: date) -> None:
    """Daily CBR-style rates (roubles per unit) from ``first`` to ``last``, unless the
    install already has rates of its own."""
    if db.session.scalar(select(ExchangeRate.id).limit(1)) is not None:
        return
    rates = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        wobble = Decimal(((offset * 37) % 23) - 11) / 10  # ±1.1 roubles, repeatable
        rates += [ParsedRate(day, code, CBR_QUOTE, base + wobble)
                  for code, base in DEMO_RATES.items()]  # fmt: skip
    store_rates(rates, source="demo")


def load_demo() -> list[tuple[str, str, str]]:
    """Create (or keep) the demo data; returns (role, email, password) for each main
    login (every office also has a rep, ``rep.<code>@leadrelay.demo``, same password)."""
    for code, city, country, lat, lon, tz, territories, phone, address in OFFICES:
        upsert_office(
            {"code": code, "name": f"{city} office", "city": city, "country": country,
             "latitude": lat, "longitude": lon, "timezone": tz,
             "email": f"{code.lower()}@offices.leadrelay.demo", "phone": phone,
             "address": address, "territories": territories, "capacity": "",
             "monthly_lead_order": 40,
             "names": {"en": f"{city} office", "ru": OFFICE_NAMES_RU[code]}}
        )  # fmt: skip
    db.session.flush()
    # Every demo login has the one published password: hashed once, when a login is
    # missing (scrypt takes about 0.2 s, and there are a dozen logins).
    password_hash = functools.cache(lambda: generate_password_hash(DEMO_PASSWORD))
    users = {
        role: _user(role, email, name, office, password_hash) for role, email, name, office in USERS
    }
    reps = {}
    for code, name in OFFICE_REPS.items():
        rep = _user("office_rep", f"rep.{code.lower()}@leadrelay.demo", name, code, password_hash)
        reps[rep.office_id] = rep
    reps[users["office_rep"].office_id] = users["office_rep"]  # the demo login's own wins

    today = utcnow().date()
    _load_rates(today - timedelta(days=90), today)
    brief = {
        "offer": "Free pilot for 30 days and 15% off the first year.",
        "promo_conditions": "Valid for contracts signed before the end of next month.",
        "talking_points": "Offline capture, routing in seconds, same-day follow-up.",
    }
    running = _event(
        "Innoprom 2026", venue_city="Yekaterinburg", venue_country="RU",
        venue_latitude=56.8431, venue_longitude=60.6454, timezone="Asia/Yekaterinburg",
        starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=2),
        cost=Decimal("1450000"), currency="RUB", brief=brief,
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
    # The stand at Mashex was booked through a European organiser and paid in euros; the
    # Russian offices close their deals in roubles: the dashboard converts both.
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
        commit()  # the people and events first: the captures below are the demo's bulk
        start = datetime.combine(finished.starts_on, datetime.min.time(), UTC) + timedelta(hours=7)
        capture_batch(_payloads(finished, 30, start, rng), user=staff)
        _work_finished_event(finished, reps, rng)
        start = utcnow() - timedelta(hours=20)
        capture_batch(_payloads(running, 12, start, rng, offset=20), user=staff)
    db.session.flush()
    return [(role, email, DEMO_PASSWORD) for role, email, _, _ in USERS]
