"""Security headers on every kind of response, and the request size limit."""

from __future__ import annotations

import uuid

import pytest

PAGES = ["/login", "/app/", "/api/v1/me", "/api/v1/openapi.json", "/nope", "/static/app.css"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    # No inline script, no eval. The booth app alone may compile WebAssembly (its vendored
    # badge decoder): 'wasm-unsafe-eval' allows that and nothing else.
    wasm = " 'wasm-unsafe-eval'" if path == "/app/" else ""
    assert directives["script-src"] == "'self'" + wasm
    assert "unsafe-inline" not in csp and "'unsafe-eval'" not in csp.split()
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_script(client, world):
    from tests.security.conftest import sign_in

    sign_in(client, world.users["admin"])
    for path in ("/login", "/admin/offices", "/admin/audit", "/marketing", "/office"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " onclick=" not in html, path


@pytest.fixture
def config(config):
    return {**config, "MAX_CONTENT_LENGTH": 64 * 1024}


def test_a_body_over_the_limit_gets_413_before_anything_is_stored(client, world):
    huge = {"client_id": str(uuid.uuid4()), "first_name": "A", "notes": "x" * 70_000}
    url = f"/api/v1/public/visitor/{world.event.visitor_token}/leads"
    response = client.post(url, json=huge)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    headers = {"Authorization": f"Bearer {world.tokens['staff']}"}
    response = client.post("/api/v1/sync", json={"leads": [huge] * 2}, headers=headers)
    assert response.status_code == 413
    from backend.extensions import db
    from backend.leads.models import Lead

    assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0


def test_a_form_over_the_limit_gets_413(client):
    response = client.post("/login", data={"email": "a" * 70_000, "password": "x"})
    assert response.status_code == 413
