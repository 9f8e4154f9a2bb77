"""Error pages: HTML in the app's look and the reader's language with a way back; the API
keeps its JSON errors."""

from __future__ import annotations

import pytest

from backend import create_app
from backend.extensions import db
from tests.factories import make_user


def test_another_offices_lead_in_the_browser_is_a_page_not_json(
    make_lead, other_office, rep, auth, client, api
):
    theirs = make_lead(target=other_office)
    db.session.commit()
    auth.login(rep.email)

    page = client.get(f"/office/leads/{theirs.id}", headers={"Referer": "http://localhost/office"})
    json = api.get(f"/api/v1/queue?office={other_office.code}")

    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Not found" in html and "belongs to another office" in html
    assert 'href="/office"' in html and "Back to the previous page" in html
    assert '<header class="top">' in html  # the app's look, with its menu
    assert json.status_code == 404 and json.json["error"]["code"] == "not_found"


def test_an_unknown_page_and_a_forbidden_one_speak_russian(app, auth, client):
    admin = make_user("admin", email="root@example.com", language="ru")
    rep = make_user("office_rep", email="r@example.com", language="ru")
    db.session.commit()
    auth.login(admin.email)

    missing = client.get("/admin/no-such-page")
    auth.login(rep.email)
    forbidden = client.get("/admin/offices")

    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert '<html lang="ru">' in html and "Не найдено" in html and 'href="/marketing"' in html
    assert forbidden.status_code == 403
    assert "Нет доступа" in forbidden.get_data(as_text=True)
    assert 'href="/office"' in forbidden.get_data(as_text=True)


def test_the_api_keeps_json_errors_for_unknown_paths(api):
    response = api.get("/api/v1/no-such-thing")

    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


@pytest.fixture
def failing_app(config):
    app = create_app({**config, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    @app.get("/db-down")
    def db_down():
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    @app.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("secret detail")

    return app


def test_a_server_error_is_a_page_in_the_readers_language(failing_app):
    client = failing_app.test_client()

    page = client.get("/boom", headers={"Accept-Language": "ru"})
    api = client.get("/api/v1/boom")

    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "Что-то пошло не так" in html and 'href="/login"' in html and "secret detail" not in html
    assert api.status_code == 500 and api.json["error"]["code"] == "internal_server_error"


def test_a_page_while_the_database_is_down_says_so_in_words(failing_app):
    response = failing_app.test_client().get("/db-down", headers={"Accept-Language": "en"})

    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "The database cannot be reached" in response.get_data(as_text=True)
