"""Autoresponder, office notice and unsubscribe, through a real worker and SMTP server."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from backend.db_types import utcnow
from backend.extensions import db
from backend.messaging.models import Message
from backend.messaging.planning import plan_lead_won
from backend.messaging.sending import (
    DRAIN_FOR,
    LINGER,
    deliver_batch,
    deliver_message,
    enqueue_messages,
    kick_key,
)
from backend.messaging.unsubscribe import email_from_token, unsubscribe_token
from backend.queues import get_queue
from backend.redis_conn import connect
from tests.factories import make_event, make_user
from tests.followup import AppSimpleWorker, at_once, messages
from workers.queues import make_worker


def _text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def _html(mail) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def test_the_visitor_gets_the_event_template_with_office_contacts_and_unsubscribe_headers(
    capture, run_worker, smtp, world
):
    [lead] = capture(first_name="Anna", company="Acme")
    run_worker()
    [mail] = smtp.to(lead.email)
    assert mail["Subject"] == "Thanks for visiting us at Innoprom, Anna"
    text = _text(mail)
    assert "Hello Anna from Acme" in text
    assert "our offer: 20% off the first year" in text
    assert "Call Moscow office at +7 495 000-00-00 or write to mow@offices.example.com" in text
    assert "<strong>Moscow office</strong>" in _html(mail)
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://leadrelay.test/u/")
    assert email_from_token(link.rsplit("/", 1)[1]) == lead.email_normalized
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text and link in _html(mail)
    [row] = messages(kind="autoresponder")
    assert (row.status, row.attempts) == ("sent", 1)


def test_html_of_the_autoresponder_escapes_what_the_visitor_typed(capture, run_worker, smtp):
    [lead] = capture(first_name="<script>x</script>")
    run_worker()
    html = _html(smtp.to(lead.email)[0])
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_a_lead_without_consent_gets_no_autoresponder_but_the_office_is_told(
    capture, run_worker, smtp
):
    [lead] = capture(consent={"contact": False})
    run_worker()
    assert smtp.to(lead.email) == []
    assert [m.kind for m in messages()] == ["office_notice"]


def test_the_office_notice_goes_to_the_office_and_its_reps_with_the_brief_and_the_reason(
    capture, run_worker, smtp, world
):
    [lead] = capture(first_name="Boris", company="Globex")
    run_worker()
    [mail] = smtp.to("mow@offices.example.com")
    _, rcpts = smtp.envelopes[smtp.mails.index(mail)]
    assert set(rcpts) == {"mow@offices.example.com", "boss@mow.example.com", "rep@mow.example.com"}
    text = _text(mail)
    assert "Boris Petrova, Globex" in text
    assert "Offer: 20% off the first year" in text
    assert "Promo conditions: until 31 Dec" in text
    assert "Talking points: uptime" in text
    assert "Why your office: " + lead.routing_decisions[-1].reason in text


def test_unsubscribing_through_the_one_click_link_stops_later_mail(
    capture, run_worker, smtp, client
):
    [lead] = capture(email="Vera@Example.org")
    run_worker()
    link = smtp.to("Vera@Example.org")[0]["List-Unsubscribe"].strip("<>")
    path = link.replace("http://leadrelay.test", "")
    page = client.get(path)
    assert page.status_code == 200 and b"Unsubscribe" in page.data
    # RFC 8058: the mail client POSTs with no cookie and no CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    other_event_lead = capture(email="vera@example.org", event=make_event(name="Expo Two"))
    run_worker()
    assert len(smtp.to("vera@example.org")) == 1
    assert not messages(kind="autoresponder", lead_id=other_event_lead[0].id)


def test_a_tampered_unsubscribe_link_is_refused(client):
    assert client.post("/u/not-a-token").status_code == 404


def test_an_autoresponder_planned_before_the_unsubscribe_is_skipped(capture, client, app):
    [lead] = capture()
    [row] = messages(kind="autoresponder")
    client.post(f"/u/{unsubscribe_token(lead.email_normalized)}")
    assert deliver_message(row.id) == "not pending"
    assert messages(kind="autoresponder")[0].status == "skipped"


def test_a_job_run_twice_sends_once(capture, smtp, app):
    capture()
    ids = [m.id for m in messages()]
    for message_id in ids + ids:
        deliver_message(message_id)
    assert len(smtp.wait_for(2)) == 2
    assert [m.attempts for m in messages()] == [1, 1]


def test_two_workers_racing_on_the_same_message_send_it_once(capture, smtp, app):
    capture()
    [auto] = messages(kind="autoresponder")
    results = at_once(app, lambda: deliver_message(auto.id), 4)
    assert sorted(results) == ["not pending"] * 3 + ["sent"]
    assert len(smtp.to(auto.recipient)) == 1


def test_a_burst_of_captures_asks_redis_for_a_batch_job_once_a_moment_not_once_each(
    capture, run_worker, smtp, app
):
    """Captures a moment apart find the batch job asked for by the first one still waiting:
    they do not ask Redis again (WAKE_REUSE), and that job sends every one of them. (Six
    captures take well under WAKE_REUSE each; on a slow machine they may span three.)"""
    redis = connect(app)

    def sets() -> int:
        return redis.info("commandstats").get("cmdstat_set", {}).get("calls", 0)

    before = sets()
    leads = [capture(first_name=f"Visitor {n}")[0] for n in range(6)]
    asked = sets() - before
    assert 1 <= asked <= 3, asked  # one ask per WAKE_REUSE, not one per capture
    run_worker()
    for lead in leads:
        assert len(smtp.to(lead.email)) == 1, lead.email
    assert {m.status for m in messages()} == {"sent"}


def test_a_batch_job_with_nothing_to_send_takes_a_capture_made_just_after_it_started(
    capture, smtp, app
):
    """The job a capture finds waiting may start before that capture's rows are committed:
    it goes on looking for new rows a moment after its start (LINGER), so a capture that
    did not wake it again is sent by it, not left for the sweep."""
    started, outcomes = threading.Event(), []

    def job():
        with app.app_context():
            started.set()
            outcomes.append(deliver_batch([], "email"))
            db.session.remove()

    worker = threading.Thread(target=job)
    worker.start()
    started.wait()
    time.sleep(LINGER / 4)  # after the job's first look (a few ms in), which found nothing
    [lead] = capture(first_name="Late")
    worker.join()
    assert outcomes and outcomes[0].get("sent", 0) >= 1, outcomes
    assert len(smtp.to(lead.email)) == 1
    assert {m.status for m in messages()} == {"sent"}


def test_a_batch_job_stopping_after_a_long_round_asks_for_the_next_one(capture, smtp, app):
    """A capture made while the batch job is in a round longer than DRAIN_FOR, a moment
    after this process asked for that job, does not ask Redis itself (WAKE_REUSE); the job
    stops on DRAIN_FOR without looking again, so it asks for the next job, which takes it."""
    redis = connect(app)
    queue = get_queue(app, "mail")
    capture(first_name="Early")  # asks: the flag is set and a batch job waits
    queue.empty()  # the worker has taken that job: it runs below
    smtp.hold.set()  # a slow SMTP server: the job's first round outlasts DRAIN_FOR
    outcomes = []

    def job():
        with app.app_context():
            outcomes.append(deliver_batch([], "email"))
            db.session.remove()

    worker = threading.Thread(target=job)
    worker.start()
    assert smtp.held.wait(5)  # the job has cleared the flag and is sending Early's mail
    [late] = capture(first_name="Late")
    time.sleep(DRAIN_FOR + 0.2)
    smtp.hold.clear()
    worker.join()
    assert {m.status for m in messages(lead_id=late.id)} == {"pending"}
    assert redis.exists(kick_key("mail")) and queue.count == 1  # its job is waiting
    make_worker(app, ("mail",), worker_class=AppSimpleWorker).work(burst=True)
    assert {m.status for m in messages()} == {"sent"}
    assert len(smtp.to(late.email)) == 1


def test_an_smtp_failure_is_retried_then_shown_as_failed(capture, app, smtp):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"
    capture()
    [auto] = messages(kind="autoresponder")
    outcomes = []
    for _ in range(6):
        outcomes.append(deliver_message(auto.id))
        row = messages(kind="autoresponder")[0]
        if row.status == "pending":
            assert row.retry_at is not None
            assert deliver_message(auto.id) == "not pending"  # too early: claims nothing
            row.retry_at = utcnow()  # its retry time has come
            db.session.commit()
    assert outcomes == ["retry later"] * 5 + ["failed"]
    row = messages(kind="autoresponder")[0]
    assert (row.status, row.attempts) == ("failed", 6)
    assert "ConnectionRefusedError" in row.last_error


def test_a_failed_job_schedules_each_row_for_its_retry_time_without_rq_retry(
    capture, app, run_worker
):
    from rq import Queue

    from backend.redis_conn import connect

    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"
    capture()
    run_worker(["mail"])
    queue = Queue("mail", connection=connect(app))
    registry = queue.scheduled_job_registry
    rows = messages()
    assert {m.status for m in rows} == {"pending"}  # both mails wait for their retry
    assert sorted(registry.get_job_ids()) == sorted(f"deliver-{m.id}-2" for m in rows)
    for row in rows:
        job = queue.fetch_job(f"deliver-{row.id}-2")
        assert list(job.args) == [row.id] and job.retries_left is None  # no RQ Retry
        # RQ moves it to the queue at the very second the row's claim allows it.
        assert registry.get_scheduled_time(job) == row.retry_at
    run_worker(["mail"])  # before the retry time: nothing runs, nothing changes
    assert [(m.status, m.attempts) for m in messages()] == [("pending", 1)] * 2


class TestWebhooks:
    def test_lead_routed_is_posted_signed_to_the_office_and_the_global_url(
        self, app, world, capture, run_worker, receiver
    ):
        world["mow"].webhook_url = receiver.url + "/office"
        world["mow"].webhook_secret = "office-secret"
        app.config.update(
            WEBHOOK_URL=receiver.url + "/global",
            WEBHOOK_SECRET="global-secret",
            WEBHOOK_FORMAT="slack",
        )
        db.session.commit()
        [lead] = capture(first_name="Olga", company="Initech")
        run_worker()
        hits = {path: (headers, body) for path, headers, body in receiver.hits}
        headers, body = hits["/office"]
        # Standard Webhooks: the receiver's own library verifies id, timestamp and body.
        data = Webhook(b"office-secret").verify(body, headers)
        assert (
            headers["webhook-id"] == f"webhook:lead.routed:lead:{lead.id}:office:{world['mow'].id}"
        )
        assert data["event"] == "lead.routed"
        assert data["lead"]["id"] == lead.id and data["office"]["code"] == "MOW"
        assert data["lead"]["url"] == f"http://leadrelay.test/office/leads/{lead.id}"
        with pytest.raises(WebhookVerificationError):
            Webhook(b"global-secret").verify(body, headers)
        headers, body = hits["/global"]
        Webhook(b"global-secret").verify(body, headers)
        assert json.loads(body) == {
            "text": f"New lead: <http://leadrelay.test/office/leads/{lead.id}|Olga Petrova> "
            "(Innoprom) routed to Moscow office"
        }

    def test_a_won_lead_is_announced_once(self, app, world, capture, run_worker, receiver):
        app.config.update(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="s")
        [lead] = capture()
        lead.status = "won"
        lead.deal_value = Decimal("12500.00")
        lead.deal_currency = "EUR"
        first = plan_lead_won(lead)
        second = plan_lead_won(lead)
        db.session.commit()
        assert len(first) == 1 and second == []
        enqueue_messages(first)
        run_worker()
        won = [json.loads(b) for _, _, b in receiver.hits if b"lead.won" in b]
        assert len(won) == 1 and won[0]["lead"]["deal_value"] == "12500.00"

    def test_a_receiver_error_is_kept_for_the_admin(self, app, world, capture, receiver):
        receiver.status = 500
        app.config.update(WEBHOOK_URL=receiver.url)
        capture()
        [hook] = messages(channel="webhook")
        assert deliver_message(hook.id) == "retry later"
        row = messages(channel="webhook")[0]
        assert row.status == "pending" and "HTTP 500" in row.last_error


def test_the_admin_outbox_lists_every_message(capture, client, auth, world, app):
    app.config["SMTP_URL"] = None
    capture(first_name="Zoe")
    make_user("admin", email="root@example.com")
    db.session.commit()
    auth.login("root@example.com")
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "autoresponder" in html and "office_notice" in html
    assert "Thanks for visiting us at Innoprom, Zoe" in html
    assert "Offer: 20% off the first year" in html


def test_the_outbox_is_for_admins_only(client, auth, world):
    auth.login("mkt@example.com")
    assert client.get("/admin/outbox").status_code == 403


def test_every_planned_message_has_a_unique_key(capture):
    capture(3)
    keys = [m.key for m in db.session.scalars(db.select(Message))]
    assert len(keys) == len(set(keys)) == 6
