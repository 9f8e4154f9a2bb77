"""Webhooks: Standard Webhooks signatures, public http(s) targets only, and the admin's
webhook page with "Send a test" (a real receiver on 127.0.0.1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from backend.admin.models import SiteSetting
from backend.db_types import utcnow
from backend.extensions import db
from backend.messaging.sending import deliver_message
from tests.factories import make_user
from tests.followup import messages

XHR = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def admin(app, client, world):
    make_user("admin", email="root@example.com")
    db.session.commit()
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "root@example.com", "password": "secret-pass"},
        headers=XHR,
    )
    assert response.status_code == 200
    client.get("/admin/webhooks")
    with client.session_transaction() as session:
        return session["csrf_token"]


def _secret(html: str, scope: str) -> str:
    section = html.split(f'id="webhook-{scope}"', 1)[1]
    return re.search(r"<code>(whsec_[^<]+)</code>", section).group(1)


def test_a_replayed_or_altered_post_fails_verification(app, world, capture, run_worker, receiver):
    app.config.update(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="whsec_" + "c2VjcmV0LWtleQ==")
    [lead] = capture()
    run_worker()
    [(_, headers, body)] = receiver.hits
    verifier = Webhook("whsec_c2VjcmV0LWtleQ==")
    assert verifier.verify(body, headers)["lead"]["id"] == lead.id
    assert abs(int(headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    stale = {**headers, "webhook-timestamp": str(int((utcnow() - timedelta(hours=1)).timestamp()))}
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, stale)  # an old post replayed later
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body.replace(b"lead.routed", b"lead.won"), headers)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_and_non_http_targets_are_refused(app, client, admin, url):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    response = client.post("/admin/webhooks/global", data={"url": url, "format": "json",
                                                           "csrf_token": admin})  # fmt: skip
    assert response.status_code == 422
    assert db.session.get(SiteSetting, "webhook") is None


def test_the_worker_refuses_a_private_target_from_the_environment(app, world, capture, receiver):
    app.config.update(WEBHOOK_URL=receiver.url, WEBHOOK_ALLOW_PRIVATE=False)
    capture()
    [hook] = messages(channel="webhook")
    assert deliver_message(hook.id) == "retry later"
    assert receiver.hits == []
    assert "loopback, private or link-local" in messages(channel="webhook")[0].last_error


def test_a_redirect_is_not_followed(app, world, capture, receiver):
    receiver.status = 302
    app.config.update(WEBHOOK_URL=receiver.url)
    capture()
    [hook] = messages(channel="webhook")
    assert deliver_message(hook.id) == "retry later"
    assert "HTTP 302" in messages(channel="webhook")[0].last_error


def test_an_admin_sets_the_global_webhook_and_sends_a_test(
    app, client, admin, world, capture, run_worker, receiver
):
    page = client.post(
        "/admin/webhooks/global",
        data={"url": receiver.url + "/in-app", "format": "json", "csrf_token": admin},
    )
    assert page.status_code == 200
    secret = _secret(page.get_data(as_text=True), "global")
    tested = client.post("/admin/webhooks/global/test", data={"csrf_token": admin})
    assert "The receiver answered with status 200." in tested.get_data(as_text=True)
    [(path, headers, body)] = receiver.hits
    assert path == "/in-app"
    assert Webhook(secret).verify(body, headers)["event"] == "webhook.test"

    receiver.status = 503
    tested = client.post("/admin/webhooks/global/test", data={"csrf_token": admin})
    assert "The receiver answered with status 503." in tested.get_data(as_text=True)

    # Leads now go to the webhook set in the app, signed with its secret.
    receiver.status = 200
    [lead] = capture()
    run_worker()
    path, headers, body = receiver.hits[-1]
    assert path == "/in-app" and Webhook(secret).verify(body, headers)["lead"]["id"] == lead.id


def test_an_admin_sets_an_offices_webhook(app, client, admin, world, receiver):
    page = client.post(
        "/admin/webhooks/MOW",
        data={"url": receiver.url + "/mow", "format": "slack", "csrf_token": admin},
    )
    assert page.status_code == 200
    db.session.refresh(world["mow"])
    assert world["mow"].webhook_url == receiver.url + "/mow"
    assert world["mow"].webhook_format == "slack"
    secret = world["mow"].webhook_secret
    assert secret.startswith("whsec_")
    tested = client.post("/admin/webhooks/MOW/test", data={"csrf_token": admin})
    assert "status 200" in tested.get_data(as_text=True)
    [(_, headers, body)] = receiver.hits
    assert Webhook(secret).verify(body, headers) == {"text": "LeadRelay: this webhook works."}


def test_the_webhook_page_is_for_admins_only(app, client, world):
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "mkt@example.com", "password": "secret-pass"},
        headers=XHR,
    )
    assert response.status_code == 200
    assert client.get("/admin/webhooks").status_code == 403
