"""Rate limits on real Redis: login, the public visitor form and sync answer 429 with Retry-After."""

from __future__ import annotations

import uuid

import pytest

XHR = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def config(config):
    return {**config, "RATELIMIT_ENABLED": True}


def _assert_limited(response):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "too_many_requests"


def test_login_allows_ten_attempts_a_minute_then_answers_429(client, world):
    body = {"email": "marketing@example.com", "password": "wrong"}
    for _ in range(10):
        assert client.post("/api/v1/auth/login", json=body, headers=XHR).status_code == 401
    _assert_limited(client.post("/api/v1/auth/login", json=body, headers=XHR))


def test_the_visitor_form_allows_twenty_a_minute_then_answers_429(client, world):
    url = f"/api/v1/public/visitor/{world.event.visitor_token}/leads"

    def visitor(n):
        return {"client_id": str(uuid.uuid4()), "first_name": f"V{n}", "email": f"v{n}@ex.com"}

    for n in range(20):
        assert client.post(url, json=visitor(n), headers=XHR).status_code == 201
    _assert_limited(client.post(url, json=visitor(99), headers=XHR))


def test_sync_allows_120_a_minute_then_answers_429(client, world):
    headers = {"Authorization": f"Bearer {world.tokens['staff']}"}
    for _ in range(120):
        assert client.post("/api/v1/sync", json={"leads": []}, headers=headers).status_code == 200
    _assert_limited(client.post("/api/v1/sync", json={"leads": []}, headers=headers))


def test_the_limits_live_in_redis_not_in_the_process(app, world):
    from backend.ratelimit import limiter

    assert type(limiter.storage).__name__.lower().startswith("redis")
