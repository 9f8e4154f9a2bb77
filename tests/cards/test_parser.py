"""The card parser on the text of real-format business cards (as OCR gives it)."""

from __future__ import annotations

import pytest

from backend.cards.parser import parse_card

CARDS = [
    (
        "a Russian card with mobile and fax",
        """ООО «Уралмаш»
Петров Иван Сергеевич
Коммерческий директор
Тел.: +7 (343) 222-33-44
Факс: +7 (343) 222-33-45
Моб.: +7 912 345-67-89
petrov@uralmash.ru
www.uralmash.ru
620012, г. Екатеринбург, пл. Первой Пятилетки, 1""",
        "RU",
        {
            "first_name": "Иван Сергеевич",
            "last_name": "Петров",
            "company": "ООО «Уралмаш»",
            "job_title": "Коммерческий директор",
            "email": "petrov@uralmash.ru",
            "phone": "+7 912 345-67-89",
            "website": "www.uralmash.ru",
            "city": "Екатеринбург",
            "country": "RU",
        },
    ),
    (
        "a Russian card with an 8-prefixed number and the surname second",
        """Анна Смирнова
Руководитель отдела закупок
АО «Сибирские Сети»
8 (913) 555-12-34
a.smirnova@sibset.ru
г. Новосибирск, ул. Кирова, д. 86""",
        "RU",
        {
            "first_name": "Анна",
            "last_name": "Смирнова",
            "company": "АО «Сибирские Сети»",
            "job_title": "Руководитель отдела закупок",
            "phone": "+7 913 555-12-34",
            "email": "a.smirnova@sibset.ru",
            "city": "Новосибирск",
        },
    ),
    (
        "a quoted company name without a legal form, and a fax before the mobile",
        """«Инженерный центр Прогресс»
Ведущий инженер
Сергей Кузнецов
ф. +7 495 123-45-67
м. +7 916 765-43-21
kuznetsov@progress-ec.ru""",
        "RU",
        {
            "company": "«Инженерный центр Прогресс»",
            "first_name": "Сергей",
            "last_name": "Кузнецов",
            "phone": "+7 916 765-43-21",
            "job_title": "Ведущий инженер",
        },
    ),
    (
        "an English card with an upper-case name",
        """JOHN SMITH
Head of Sales EMEA
Acme Widgets Ltd
T: +44 20 7946 0018
M: +44 7911 123456
john.smith@acme.co.uk
https://acme.co.uk
London, United Kingdom""",
        "RU",
        {
            "first_name": "John",
            "last_name": "Smith",
            "company": "Acme Widgets Ltd",
            "job_title": "Head of Sales EMEA",
            "phone": "+44 7911 123456",
            "email": "john.smith@acme.co.uk",
            "website": "https://acme.co.uk",
            "city": "London",
            "country": "GB",
        },
    ),
    (
        "a German card read with the event in Germany",
        """Brightline GmbH
Dr. Markus Weber
Geschäftsführer / Managing Director
Tel. 089 1234567
Mobil 0151 23456789
markus.weber@brightline.de
www.brightline.de
80331 München""",
        "DE",
        {
            "company": "Brightline GmbH",
            "phone": "+49 1512 3456789",
            "email": "markus.weber@brightline.de",
            "website": "www.brightline.de",
            "city": "München",
            "country": "DE",
            "job_title": "Geschäftsführer / Managing Director",
        },
    ),
    (
        "a Polish company form",
        """Bluewave Sp. z o.o.
Piotr Nowak
Key Account Manager
+48 601 234 567
piotr.nowak@bluewave.pl
Warszawa, Polska""",
        "PL",
        {
            "company": "Bluewave Sp. z o.o.",
            "first_name": "Piotr",
            "last_name": "Nowak",
            "job_title": "Key Account Manager",
            "phone": "+48 601 234 567",
            "country": "PL",
        },
    ),
    (
        "a bilingual card, Russian and English on one side",
        """Елена Попова / Elena Popova
Директор по маркетингу / Marketing Director
ПАО «Северсталь» / Severstal PJSC
+7 921 000-11-22
e.popova@severstal.com
www.severstal.com
Череповец, Россия""",
        "RU",
        {
            "company": "ПАО «Северсталь» / Severstal PJSC",
            "email": "e.popova@severstal.com",
            "phone": "+7 921 000-11-22",
            "city": "Череповец",
            "country": "RU",
            "job_title": "Директор по маркетингу / Marketing Director",
        },
    ),
    (
        "an e-mail OCR broke apart and a zero for an initial",
        """Олег Фёдоров
Менеджер по продажам
ИП Фёдоров О. В.
+7 (999) 123-45-67
0.fedorov @ mail.ru""",
        "RU",
        {
            "first_name": "Олег",
            "last_name": "Фёдоров",
            "email": "o.fedorov@mail.ru",
            "company": "ИП Фёдоров О. В.",
            "job_title": "Менеджер по продажам",
        },
    ),
    (
        "an l read as i in the e-mail, where the card spells the name and company",
        """Мария Павлова
ООО «Уралмаш»
m.paviova@uraimash.com
www.uraimash.com""",
        "RU",
        {"email": "m.pavlova@uralmash.com", "website": "www.uralmash.com"},
    ),
    (
        "Cyrillic read as Latin look-alikes in the address",
        """Мария Павлова
Технический директор
ООО «Техностиль»
+7 927 111-22-33
m.pavlova@tekhnostil.ru
443000, Camapa, np. Mupa, 5""",
        "RU",
        {"city": "Самара", "country": "RU", "first_name": "Мария", "last_name": "Павлова"},
    ),
    (
        "a card with only a landline keeps it as the phone",
        """Northwind Trading LLC
Sarah Miller, Procurement
Office: +1 212-555-0100
sarah@northwind.com
New York, USA""",
        "US",
        {
            "company": "Northwind Trading LLC",
            "phone": "+1 212-555-0100",
            "email": "sarah@northwind.com",
            "city": "New York",
            "country": "US",
        },
    ),
]


@pytest.mark.parametrize(("case", "text", "region", "expected"), CARDS, ids=[c[0] for c in CARDS])
def test_a_card_text_becomes_lead_fields(case, text, region, expected):
    result = parse_card(text, default_region=region).as_dict()
    got = {name: result["fields"][name] for name in expected}
    assert got == expected
    assert all(0 < result["confidence"][name] <= 1 for name in expected)


def test_the_fields_not_on_the_card_stay_empty_and_have_no_confidence():
    result = parse_card("Иван Петров\n+7 912 345-67-89", default_region="RU").as_dict()
    assert result["fields"]["email"] == ""
    assert result["fields"]["company"] == ""
    assert "email" not in result["confidence"]


def test_a_less_certain_ocr_line_gives_a_lower_confidence():
    sure = parse_card(["ivan@example.com"], line_confidence=[0.95]).confidence["email"]
    unsure = parse_card(["ivan@example.com"], line_confidence=[0.5]).confidence["email"]
    assert unsure < sure


def test_text_without_anything_on_it_gives_nothing():
    assert parse_card("").fields == {}
    assert parse_card("~~~ ||| ...").fields == {}
