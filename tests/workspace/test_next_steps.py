"""Next steps: a touch sets what to do and when (office time); the morning mail lists the
overdue ones to each rep on the office's working days. Time is injected."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.db_types import utcnow
from backend.extensions import db
from backend.links import public_url
from backend.messaging.models import Message
from backend.transaction import commit
from backend.workspace.reminders import next_step_mail_rows, send_next_step_mails
from tests.factories import make_office, make_user

MSK = ZoneInfo("Europe/Moscow")


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=MSK).astimezone(UTC)


def test_a_touch_sets_the_next_step_and_the_next_contact_clears_it(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    when = (utcnow() + timedelta(days=1)).replace(microsecond=0)

    set_ = api.post(
        f"/api/v1/leads/{lead.id}/touches",
        json={
            "kind": "call",
            "outcome": "busy",
            "next_step": "call_back",
            "next_step_at": when.isoformat(),
        },
    )
    note = api.post(f"/api/v1/leads/{lead.id}/touches", json={"kind": "note", "note": "x"})
    kept = note.json["lead"]
    done = api.post(f"/api/v1/leads/{lead.id}/touches", json={"kind": "call"})  # fmt: skip

    assert set_.status_code == 201, set_.json
    assert set_.json["lead"]["next_step"] == "call_back"
    assert datetime.fromisoformat(set_.json["lead"]["next_step_at"]) == when
    assert kept["next_step"] == "call_back"
    assert done.json["lead"]["next_step"] is None and done.json["lead"]["next_step_at"] is None


def test_a_next_step_needs_its_time_and_a_future_one(make_lead, rep, auth, api):
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    url = f"/api/v1/leads/{lead.id}/touches"

    no_time = api.post(url, json={"kind": "call", "next_step": "meeting"})
    past = api.post(url, json={"kind": "call", "next_step": "meeting",
                               "next_step_at": (utcnow() - timedelta(hours=1)).isoformat()})  # fmt: skip

    assert no_time.status_code == 422
    assert past.status_code == 422 and past.json["error"]["code"] == "next_step_in_past"


def test_the_lead_form_takes_the_next_step_in_office_time(make_lead, office, rep, auth, client):
    office.timezone = "Asia/Novosibirsk"
    lead = make_lead()
    db.session.commit()
    auth.login(rep.email)
    local = (utcnow() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Novosibirsk"))
    local = local.replace(hour=10, minute=0, second=0, microsecond=0)

    html = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(f"/office/leads/{lead.id}/touch", data={
        "csrf_token": csrf, "kind": "call", "next_step": "send_offer",
        "next_step_at": local.strftime("%Y-%m-%dT%H:%M")})  # fmt: skip
    page = client.get(f"/office/leads/{lead.id}").get_data(as_text=True)

    db.session.refresh(lead)
    assert lead.next_step == "send_offer"
    assert lead.next_step_at == local.astimezone(UTC)
    assert "next: send offer" in page and "10:00 (Asia/Novosibirsk)" in page


@pytest.fixture
def morning(app, event):
    office = make_office("MSK", timezone="Europe/Moscow", working_days="12345")
    rita = make_user("office_rep", office, name="Rita Rep", email="rita@example.com", language="en")
    ivan = make_user("office_rep", office, name="Иван", email="ivan@example.com", language="ru")
    return office, rita, ivan


def _overdue(make_lead, office, rep, when, **fields):
    return make_lead(target=office, status="contacted", first_touch_at=when - timedelta(days=1),
                     routed_at=when - timedelta(days=2), claimed_by_id=rep.id,
                     next_step="call_back", next_step_at=when, **fields)  # fmt: skip


def test_the_morning_mail_lists_each_reps_overdue_next_steps_once(make_lead, morning):
    office, rita, ivan = morning
    first = _overdue(make_lead, office, rita, msk(7, 15), first_name="Anna", company="Acme")
    _overdue(make_lead, office, rita, msk(8, 7), first_name="Boris")
    _overdue(make_lead, office, ivan, msk(7, 12), first_name="Вера")
    make_lead(target=office, status="contacted", first_touch_at=msk(7, 9), claimed_by_id=rita.id,
              next_step="meeting", next_step_at=msk(9, 10), first_name="Later")  # fmt: skip
    db.session.commit()

    ids = send_next_step_mails(msk(8, 8, 5))  # Tuesday 08:05 in Moscow
    commit()  # as the cron's job commits
    again = send_next_step_mails(msk(8, 9, 5))
    commit()

    mails = {m.recipient: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids)))}
    assert set(mails) == {"rita@example.com", "ivan@example.com"} and again == []
    english, russian = mails["rita@example.com"], mails["ivan@example.com"]
    assert english.subject == "2 overdue next steps"
    assert english.body_text.index("Anna") < english.body_text.index("Boris")
    assert "Later" not in english.body_text
    assert "(Europe/Moscow)" in english.body_text
    assert public_url(f"/office/leads/{first.id}") in english.body_text
    assert "Mon 7 Dec 15:00" in english.body_text
    assert russian.subject == "1 просроченный следующий шаг"
    assert "перезвонить" in russian.body_text and "Вера" in russian.body_text
    assert english.key == f"next_steps:user:{rita.id}:2026-12-08"


def test_no_morning_mail_before_eight_after_noon_or_on_a_weekend(make_lead, morning):
    office, rita, _ = morning
    _overdue(make_lead, office, rita, msk(4, 15))
    db.session.commit()

    assert next_step_mail_rows(msk(8, 7, 55)) == []  # Tuesday, before 08:00
    assert next_step_mail_rows(msk(8, 12, 5)) == []  # Tuesday afternoon
    assert next_step_mail_rows(msk(5, 9, 0)) == []  # Saturday
    assert len(next_step_mail_rows(msk(7, 9, 0))) == 1  # Monday morning
