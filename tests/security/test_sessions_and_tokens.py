"""CSRF, cookie flags, sessions ended by password and role changes, API tokens."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from backend.auth.access import token_last_used
from backend.auth.models import ApiToken
from backend.auth.services import change_password, change_role, issue_token
from backend.extensions import db
from backend.settings import load_settings
from tests.conftest import base_config
from tests.factories import PASSWORD
from tests.live import LiveServer, server_env

XHR = {"X-Requested-With": "XMLHttpRequest"}


def _login(client, email="marketing@example.com"):
    response = client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=XHR
    )
    assert response.status_code == 200, response.get_json()
    return response


def _form_token(client) -> str:
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


# --- CSRF ----------------------------------------------------------------------------


def test_a_cookie_session_fetch_without_x_requested_with_is_refused(client, world):
    _login(client)
    response = client.post("/api/v1/events", json={"name": "Expo"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    assert client.post("/api/v1/events", json={"name": "Expo"}, headers=XHR).status_code == 201


def test_a_cross_site_form_post_without_the_token_is_refused(client, world):
    _login(client, "admin@example.com")
    assert client.post("/admin/offices/MOW/pause", data={"paused": "1"}).status_code == 400
    bad = client.post("/admin/offices/MOW/pause", data={"paused": "1", "csrf_token": "forged"})
    assert bad.status_code == 400
    assert client.post("/logout").status_code == 400
    db.session.refresh(world.office_a)
    assert world.office_a.paused is False


def test_a_form_post_with_the_sessions_token_is_accepted(client, world):
    _login(client, "admin@example.com")
    token = _form_token(client)
    response = client.post("/admin/offices/MOW/pause", data={"paused": "1", "csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(world.office_a)
    assert world.office_a.paused is True


def test_bearer_token_calls_are_exempt_from_csrf(client, world):
    headers = {"Authorization": f"Bearer {world.tokens['marketing']}"}
    response = client.post("/api/v1/events", json={"name": "Expo"}, headers=headers)
    assert response.status_code == 201


# --- cookies -------------------------------------------------------------------------


def _cookie_headers(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_session_and_remember_cookies_are_httponly_and_samesite_lax(client, world):
    cookies = _cookie_headers(_login(client))
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name], cookies[name]
        assert "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name]  # tests run over plain http


def test_cookies_are_secure_when_session_cookie_secure_is_on(app, world):
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    cookies = _cookie_headers(_login(app.test_client()))
    assert "Secure" in cookies["session"] and "Secure" in cookies["remember_token"]


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({"PUBLIC_BASE_URL": "https://leads.example.com"}, True),
        ({"PUBLIC_BASE_URL": "http://192.168.1.5:8000"}, False),
        ({}, False),
        ({"PUBLIC_BASE_URL": "https://leads.example.com", "TESTING": "1"}, False),
        ({"PUBLIC_BASE_URL": "https://leads.example.com", "FLASK_DEBUG": "1"}, False),
        ({"PUBLIC_BASE_URL": "https://x.example", "SESSION_COOKIE_SECURE": "false"}, False),
        ({"SESSION_COOKIE_SECURE": "true"}, True),
    ],
)
def test_secure_cookies_default_on_behind_https_outside_development(
    tmp_path, monkeypatch, env, secure
):
    for name in ("PUBLIC_BASE_URL", "TESTING", "FLASK_DEBUG", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(str(tmp_path), {"SECRET_KEY": "k"})
    assert settings["SESSION_COOKIE_SECURE"] is secure
    assert settings["REMEMBER_COOKIE_SECURE"] is secure


# --- sessions ------------------------------------------------------------------------


def test_a_password_change_ends_the_session_and_the_remember_cookie(app, client, world):
    _login(client)
    remember = client.get_cookie("remember_token").value
    change_password(world.users["marketing"], "a-brand-new-password")
    db.session.commit()
    assert client.get("/api/v1/me").status_code == 401
    # The long-lived remember cookie alone does not bring the old session back either.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/api/v1/me").status_code == 401


def test_a_role_change_ends_existing_sessions(client, world):
    _login(client, "rep@example.com")
    assert client.get("/api/v1/me").status_code == 200
    change_role(world.users["rep"], "staff")
    db.session.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_the_users_role_command_changes_a_role_and_is_audited(runner, world):
    result = runner.invoke(args=["users", "role", "rep@example.com", "--role", "office_manager"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert world.users["rep"].role == "office_manager"
    refused = runner.invoke(args=["users", "role", "rep@example.com", "--role", "boss"])
    assert refused.exit_code != 0 and "role must be one of" in refused.output


def test_a_session_cookie_signed_with_a_retired_key_is_refused(app, client, world):
    # The signing serializer is kept per app: a new SECRET_KEY must take effect at once,
    # and SECRET_KEY_FALLBACKS still accept the cookies the old one signed.
    _login(client)
    assert client.get("/api/v1/me").status_code == 200
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-new-secret"
    assert client.get("/api/v1/me").status_code == 401
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/api/v1/me").status_code == 200


# --- API tokens ----------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_record_their_last_use(client, world):
    token = world.tokens["marketing"]
    stored = db.session.scalars(db.select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.prefix == token[:10]))
    assert token_last_used(row) is None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db.session.refresh(row)
    assert token_last_used(row) is not None


class TestTokenUse:
    @pytest.fixture
    def config(self, config):
        return {**config, "CHECK_READS_DONT_WRITE": True}  # a GET that writes raises

    def test_a_read_writes_nothing_and_a_write_records_the_use_in_the_row_once_a_minute(
        self, client, world
    ):
        token = world.tokens["marketing"]
        headers = {"Authorization": f"Bearer {token}"}
        row = db.session.scalar(db.select(ApiToken).where(ApiToken.prefix == token[:10]))
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        db.session.refresh(row)
        assert row.last_used_at is None and token_last_used(row) is not None

        executed = []
        record = lambda *args: executed.append(args[2].upper())  # noqa: E731
        db.event.listen(db.engine, "before_cursor_execute", record)
        try:
            path = f"/api/v1/events/{world.ids['event']}/leads"
            for email in ("a@example.com", "b@example.com"):
                lead = {"client_id": str(uuid.uuid4()), "email": email}
                assert client.post(path, json=lead, headers=headers).status_code == 201
        finally:
            db.event.remove(db.engine, "before_cursor_execute", record)
        assert len([s for s in executed if s.lstrip().startswith("UPDATE API_TOKEN")]) == 1
        db.session.refresh(row)
        assert row.last_used_at is not None and token_last_used(row) >= row.last_used_at


def test_the_tokens_revoke_command_stops_a_token_at_once(runner, client, world):
    token = issue_token(world.users["admin"], "crm")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    listed = runner.invoke(args=["tokens", "list", "admin@example.com"])
    assert token[:10] in listed.output and "last used" in listed.output
    result = runner.invoke(args=["tokens", "revoke", token[:10]])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert "revoked" in runner.invoke(args=["tokens", "list", "admin@example.com"]).output
    assert runner.invoke(args=["tokens", "revoke", "lr_nothing"]).exit_code != 0


def test_a_new_server_process_answers_a_token_on_its_first_request(
    world, instance_dir, database_url
):
    """A kiosk's or an integration's call can be the first request a newly started worker
    serves: its token's user is made there as the ORM's loader makes one, which needs the
    models related when the app is built, not later by a first ``User(...)``."""
    token = issue_token(world.users["admin"], "crm")
    db.session.commit()
    server = LiveServer(server_env(base_config(instance_dir, database_url)), workers=1).start()
    try:
        request = urllib.request.Request(
            server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["user"]["email"] == "admin@example.com"
    finally:
        server.stop()
