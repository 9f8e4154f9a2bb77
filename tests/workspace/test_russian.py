"""The office workspace for a rep who reads Russian: words, plurals, flashes and formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import RoutingDecision, Touch


def _csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _russian(rep):
    rep.language = "ru"
    db.session.commit()


def test_the_queue_speaks_russian_with_russian_plurals(make_lead, rep, auth, client):
    make_lead()
    make_lead(rating="warm", first_name="Olga")
    _russian(rep)
    auth.login(rep.email)

    html = client.get("/office").get_data(as_text=True)

    assert '<html lang="ru">' in html
    assert "очередь лидов" in html and "2 лида ·" in html and "2 без ответственного" in html
    assert "<th>Мероприятие</th>" in html and "<th>Взял в работу</th>" in html
    assert ">Горячий<" in html and ">Тёплый<" in html and "осталось" in html
    assert "lead queue" not in html and "Any rating" not in html


def test_a_refusal_on_the_lead_page_is_explained_in_russian(make_lead, rep, auth, client):
    lead = make_lead()
    _russian(rep)
    auth.login(rep.email)
    url = f"/office/leads/{lead.id}"

    response = client.post(
        f"{url}/status", data={"csrf_token": _csrf(client, url), "status": "won"},
        follow_redirects=True,
    )  # fmt: skip

    html = response.get_data(as_text=True)
    assert (
        "Не сохранено — Лид в статусе «новый» нельзя перевести в «выигран»; "
        "можно: контакт установлен, квалифицирован, проигран." in html
    )
    response = client.post(
        f"{url}/touch", data={"csrf_token": _csrf(client, url), "kind": "call"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Звонок: касание записано." in response.get_data(as_text=True)


def test_money_and_times_on_the_lead_page_follow_the_russian_locale(make_lead, rep, auth, client):
    lead = make_lead(status="won", deal_value=Decimal("12345.50"), deal_currency="EUR")
    db.session.add(Touch(lead_id=lead.id, user_id=rep.id, kind="call",
                         at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC)))  # fmt: skip
    _russian(rep)
    auth.login(rep.email)

    html = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)

    assert "Сделка: 12\xa0345,50\xa0€" in html  # grouped, the decimal comma, the sign
    # the touch in office time, saying its zone (CLDR puts a narrow no-break space)
    assert "2 мар. 2026\u202fг., 12:30 Europe/Moscow" in html
    assert ">Выигран<" in html and "Контакт" in html


def test_the_queue_and_lead_page_name_the_office_in_the_readers_language(
    make_lead, office, rep, auth, client
):
    office.names = {"en": "Moscow office", "ru": "Москва"}
    lead = make_lead()
    _russian(rep)
    auth.login(rep.email)

    queue = client.get("/office").get_data(as_text=True)
    page = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)

    assert "Москва — очередь лидов" in queue
    assert "· Москва" in page


def test_the_hand_over_list_names_offices_in_russian(make_lead, other_office, rep, auth, client):
    # The lead page said "Москва" for the lead's office, yet offered to hand it over to
    # "Saint Petersburg office": the list took the offices' own names.
    other_office.names = {"ru": "Санкт-Петербург"}
    lead = make_lead()
    _russian(rep)
    auth.login(rep.email)

    html = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)

    assert f'<option value="{other_office.code}">Санкт-Петербург</option>' in html
    assert f">{other_office.name}</option>" not in html


def test_the_routing_history_names_offices_and_distances_as_the_rest_of_the_page(
    make_lead, office, other_office, rep, auth, client
):
    # The history said "0 км" above a reason that said "0,4 км", and the reason named
    # both offices by their English names on a page that calls them "Москва".
    office.names = {"en": "Moscow office", "ru": "Москва"}
    other_office.names = {"ru": "Санкт-Петербург"}
    lead = make_lead()
    db.session.add(
        RoutingDecision(
            lead_id=lead.id, office_id=office.id, method="nearest", distance_km=0.4,
            reason_code="capacity_spill",
            reason_params={"full_office": other_office.name, "open_load": 12, "capacity": 12,
                           "office": office.name, "km": 0.4},
            reason="", at=utcnow(),
        )
    )  # fmt: skip
    _russian(rep)
    auth.login(rep.email)

    html = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)
    history = html[html.index('id="routing"') :]
    history = history[: history.index("</section>")]

    assert not re.search(r"\s0 км", history), history
    assert history.count("0,4 км") == 2, history
    assert (
        "офис Санкт-Петербург заполнен (12/12); следующий ближайший офис со свободными "
        "местами: Москва, 0,4 км"
    ) in history
    assert "Moscow office" not in history and other_office.name not in history


def test_the_monthly_order_names_its_month_in_words(make_lead, rep, auth, client):
    # It read "Заказ лидов на 2026-12:".
    make_lead()
    auth.login(rep.email)
    english = client.get("/office").get_data(as_text=True)
    _russian(rep)
    russian = client.get("/office").get_data(as_text=True)

    assert re.search(r"Lead order (January|February|March|April|May|June|July|August|"
                     r"September|October|November|December) 20\d\d:", english)  # fmt: skip
    assert re.search(r"Заказ лидов на (январь|февраль|март|апрель|май|июнь|июль|август|"
                     r"сентябрь|октябрь|ноябрь|декабрь) 20\d\d:", russian)  # fmt: skip
    assert not re.search(r"20\d\d-\d\d:", english + russian)
