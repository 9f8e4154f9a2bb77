"""Telegram for reps, against a local Bot API server that checks each request."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.leads.capture import capture_batch
from backend.links import public_url
from backend.messaging.models import Message
from backend.messaging.sending import deliver_message
from backend.telegram import services as telegram
from backend.telegram.models import TelegramLink
from backend.transaction import commit
from tests.conftest import base_config
from tests.factories import make_user
from tests.workspace.fake_telegram import TOKEN, FakeTelegram, start_update
from workers import jobs


@pytest.fixture(scope="module")
def fake():
    server = FakeTelegram()
    yield server
    server.close()


@pytest.fixture
def config(instance_dir, database_url, fake):
    fake.reset()
    return {**base_config(instance_dir, database_url), "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fake.url, "PUBLIC_BASE_URL": "https://leadrelay.test"}  # fmt: skip


def _csrf(client, url="/profile"):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _deliver_pending(channel="telegram") -> list[str]:
    ids = db.session.scalars(
        select(Message.id).where(Message.status == "pending", Message.channel == channel)
    ).all()
    outcomes = []
    for message_id in ids:
        outcomes.append(deliver_message(message_id))
    return outcomes


def _linked(user, chat_id):
    db.session.add(TelegramLink(user_id=user.id, chat_id=chat_id))
    db.session.commit()


def test_a_rep_links_telegram_with_a_one_time_deep_link(rep, auth, client, fake):
    auth.login(rep.email)
    assert "Link Telegram" in client.get("/profile").get_data(as_text=True)

    made = client.post("/profile/telegram", data={"csrf_token": _csrf(client)})
    deep_link = parse_qs(urlsplit(made.headers["Location"]).query)["link"][0]
    assert deep_link.startswith("https://t.me/leadrelay_test_bot?start=")
    code = deep_link.split("start=")[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", code)  # what a start parameter allows
    fake.updates.append(start_update(700, 555, f"/start {code}"))
    fake.updates.append(start_update(701, 556, f"/start {code}"))  # the same code again

    assert telegram.read_updates(timeout=0) == 2
    commit()  # as the polling job commits
    assert _deliver_pending() == ["sent", "sent"]

    link = db.session.scalar(select(TelegramLink).where(TelegramLink.user_id == rep.id))
    assert link.chat_id == 555 and link.username == "rita_rep" and link.code is None
    replies = {m["chat_id"]: m["text"] for m in fake.sent}
    assert replies[555] == "Linked: LeadRelay will send your notices here, Rita Rep."
    assert "Link Telegram" in replies[556]  # a used code links nobody
    # The next poll confirms what was read: nothing is acted on twice.
    assert telegram.read_updates(timeout=0) == 0
    commit()
    assert [c[1]["offset"] for c in fake.calls if c[0] == "getUpdates"] == [0, 702]
    assert "Linked (@rita_rep)" in client.get("/profile").get_data(as_text=True)
    assert fake.problems == []


def test_each_rep_gets_a_new_lead_where_they_chose_in_their_language(
    office, event, rep, rep2, auth, client, fake
):
    rep2.language = "ru"
    _linked(rep, 555)
    _linked(rep2, 556)
    staff = make_user("staff", email="booth@example.com")
    staff.events.append(event)
    db.session.commit()
    auth.login(rep.email)
    client.post("/profile/notices", data={"csrf_token": _csrf(client), "new_lead": "telegram"})
    auth.login(rep2.email)
    client.post("/profile/notices", data={"csrf_token": _csrf(client), "new_lead": "both"})

    [result] = capture_batch(
        [{"client_id": str(uuid.uuid4()), "first_name": "Nina", "last_name": "Novak",
          "company": "Novak LLC", "city": "Moscow", "country": "RU", "rating": "hot",
          "consent": {"contact": True}}], user=staff, event_id=event.id,
    )  # fmt: skip
    lead = result.lead

    notice = db.session.scalar(select(Message).where(Message.kind == "office_notice"))
    assert rep.email not in notice.recipient and rep2.email in notice.recipient
    assert _deliver_pending() == ["sent", "sent"]
    by_chat = {m["chat_id"]: m for m in fake.sent}
    assert by_chat[555]["text"].startswith("New lead: Nina Novak\nNovak LLC\nhot")
    assert by_chat[556]["text"].startswith("Новый лид: Nina Novak\nNovak LLC\nгорячий")
    button = by_chat[556]["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Открыть лид", "url": public_url(f"/office/leads/{lead.id}")}
    assert button["url"].startswith("https://leadrelay.test/")
    assert fake.problems == []


def test_a_notice_waits_while_telegram_is_down_and_goes_once_it_is_back(
    make_lead, rep, manager, auth, api, fake
):
    _linked(rep, 555)
    telegram.set_preferences(rep, {"won": "telegram"})
    lead = make_lead(status="qualified", claimed_by_id=manager.id)
    db.session.commit()
    auth.login(manager.email)
    api.patch(f"/api/v1/leads/{lead.id}", json={"status": "won", "deal_value": "1200000",
                                                "deal_currency": "RUB"})  # fmt: skip
    fake.down = True

    assert _deliver_pending() == ["retry later"]
    row = db.session.scalar(select(Message).where(Message.channel == "telegram"))
    db.session.refresh(row)
    assert row.status == "pending" and "502" in row.last_error and row.retry_at is not None

    fake.down = False
    row.retry_at = None  # its retry time has come
    db.session.commit()
    assert _deliver_pending() == ["sent"]
    assert _deliver_pending() == []  # and only once
    [sent] = fake.sent
    assert sent["chat_id"] == 555 and sent["text"] == "Won: Ivan Petrov, RUB\xa01,200,000.00"
    assert fake.problems == []


def test_with_a_webhook_telegram_posts_updates_and_only_it_may(rep, client, app, fake):
    app.config["TELEGRAM_WEBHOOK"] = True
    link_url = telegram.start_link(rep)
    db.session.commit()
    code = link_url.split("start=")[1]

    jobs.telegram_updates()

    assert fake.webhook["url"] == "https://leadrelay.test/telegram/webhook"
    secret = fake.webhook["secret_token"]
    update = start_update(900, 777, f"/start {code}")
    forged = client.post("/telegram/webhook", json=update,
                         headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})  # fmt: skip
    real = client.post("/telegram/webhook", json=update,
                       headers={"X-Telegram-Bot-Api-Secret-Token": secret})  # fmt: skip

    assert forged.status_code == 403 and real.status_code == 200
    db.session.expire_all()
    assert (
        db.session.scalar(select(TelegramLink.chat_id).where(TelegramLink.user_id == rep.id)) == 777
    )
    assert fake.problems == []


def test_a_telegram_notice_written_while_redis_is_down_goes_out_once_it_is_back(
    app, office, event, rep, fake
):
    from datetime import timedelta

    from backend.db_types import utcnow
    from tests.followup import AppSimpleWorker
    from tests.run import redis_binary
    from tests.workers.test_faults import PrivateRedis
    from workers.queues import make_worker
    from workers.sweep import run_sweep

    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server binary")
    redis = PrivateRedis(binary)
    app.config["REDIS_URL"] = redis.url  # down: nothing listens there yet
    _linked(rep, 555)
    telegram.set_preferences(rep, {"new_lead": "telegram"})
    staff = make_user("staff", email="booth@example.com")
    staff.events.append(event)
    db.session.commit()

    capture_batch([{"client_id": str(uuid.uuid4()), "first_name": "Nina", "city": "Moscow",
                    "country": "RU", "consent": {"contact": True}}],
                  user=staff, event_id=event.id)  # fmt: skip
    row = db.session.scalar(select(Message).where(Message.channel == "telegram"))
    assert row.status == "pending" and fake.sent == []

    redis.start()
    try:
        run_sweep(now=utcnow() + timedelta(minutes=2))
        make_worker(app, ("mail", "webhooks", "escalation"),
                    worker_class=AppSimpleWorker).work(burst=True)  # fmt: skip
        run_sweep(now=utcnow() + timedelta(minutes=3))  # a second sweep sends nothing again
        make_worker(app, ("mail", "webhooks", "escalation"),
                    worker_class=AppSimpleWorker).work(burst=True)  # fmt: skip
    finally:
        redis.stop()

    db.session.expire_all()
    assert db.session.get(Message, row.id).status == "sent"
    assert [m["chat_id"] for m in fake.sent] == [555]
    assert fake.problems == []


def test_a_lead_without_a_name_is_named_by_what_it_has_in_the_reps_language(app):
    from flask_babel import force_locale

    from backend.leads.models import Lead

    blank = dict(first_name="", last_name="", company="", email="")
    by_phone = Lead(id=7, phone="+7 916 123-45-67", **blank)
    nameless = Lead(id=8, phone="", **blank)
    with force_locale("ru"):
        assert "+7 916 123-45-67" in telegram.notice_text("sla_reminder", [by_phone])
        assert "лид 8" in telegram.notice_text("escalation", [nameless])
    with force_locale("en"):
        assert "lead 8" in telegram.notice_text("escalation", [nameless])
