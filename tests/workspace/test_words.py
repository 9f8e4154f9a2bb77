"""Human words for codes, money and times on the lead page, in English and Russian."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from backend.extensions import db
from backend.i18n import label, labels
from backend.leads.models import Touch


def test_codes_read_as_words_and_stand_alone_with_a_capital(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert label("bad_email", "flag") == "e-mail looks wrong"
        assert label("hot", "rating", capital=True) == "Hot"
        assert label("office_rep", "role") == "sales rep"
        assert label("kiosk", "source") == "visitor's own form"
        assert label("call_back", "next_step") == "call back"
        assert labels("rating", True)["unrated"] == "Not rated"
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert label("hot", "rating", capital=True) == "Горячий"
        assert label("feedback_requested", "flag") == "маркетинг спрашивает: хороший ли лид?"
        assert label("send_offer", "next_step") == "отправить предложение"


@pytest.mark.parametrize(
    "language, deal, touch_time",
    [
        ("en", "Won: RUB\xa01,200,000.00", "Mar 2, 2026, 12:30\u202fPM Europe/Moscow"),
        ("ru", "Сделка: 1\xa0200\xa0000,00\xa0₽", "2 мар. 2026\u202fг., 12:30 Europe/Moscow"),
    ],
)
def test_the_lead_page_groups_money_and_gives_touch_times_in_office_time_with_the_zone(
    make_lead, rep, auth, client, language, deal, touch_time
):
    lead = make_lead(status="won", deal_value=Decimal("1200000"), deal_currency="RUB")
    db.session.add(Touch(lead_id=lead.id, user_id=rep.id, kind="call",
                         at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC)))  # fmt: skip
    rep.language = language
    db.session.commit()
    auth.login(rep.email)

    html = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)

    assert deal in html
    assert touch_time in html
