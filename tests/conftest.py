"""Fixtures: a real database (SQLite or PostgreSQL) and real Redis, clean for every test."""

from __future__ import annotations

import copy
import os
import socket
from collections import OrderedDict
from pathlib import Path

import flask_babel
import pytest
import redis
from flask import Flask, g
from sqlalchemy import text

from backend import create_app
from backend.extensions import db
from backend.ratelimit import limiter


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _database_kind() -> str:
    kind = os.environ.get("LEADRELAY_TEST_DB", "auto")
    if kind == "auto":
        kind = "postgresql" if _answers("127.0.0.1", 5432) else "sqlite"
    return kind


DB_KIND = _database_kind()
PG_URL = os.environ.get("LEADRELAY_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LEADRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

requires_postgres = pytest.mark.skipif(DB_KIND != "postgresql", reason="needs PostgreSQL")


def pytest_report_header(config):
    return f"leadrelay: database={DB_KIND} redis={REDIS_URL}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def database_url(instance_dir) -> str:
    if DB_KIND == "postgresql":
        return PG_URL
    return f"sqlite:///{instance_dir / 'test.db'}"


def base_config(instance_dir: Path, database_url: str) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://leadrelay.test",
        "SMTP_URL": None,
        "RATELIMIT_ENABLED": False,
        "MARKETING_EMAILS": "marketing@example.com",
        # Test receivers listen on 127.0.0.1.
        "WEBHOOK_ALLOW_PRIVATE": True,
    }


def reset_schema(app) -> None:
    """Drop every table, then build the schema through the migrations."""
    from flask_migrate import upgrade

    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        upgrade()


@pytest.fixture(scope="session")
def _schema(instance_dir, database_url):
    app = create_app(base_config(instance_dir, database_url))
    reset_schema(app)
    return True


def truncate_all() -> None:
    """Empty every table; on PostgreSQL ids start again at 1.

    PostgreSQL: TRUNCATE only the tables that hold rows (one probe finds them). TRUNCATE
    makes new files for each table and its indexes and syncs them (0.2-0.8 s for all 26),
    but DELETE would leave free space that later inserts fill out of order, and tests read
    rows in the order they were written. Every sequence is restarted, so ids start at 1
    in tables a test wrote to and rolled back.
    """
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        probe = " UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
        )
        used = db.session.scalars(text(probe)).all()
        if used:
            quoted = ", ".join(f'"{name}"' for name in used)
            db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        db.session.execute(
            text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        )
    else:
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
    db.session.commit()


@pytest.fixture
def config(instance_dir, database_url) -> dict:
    """Override in a test module to change settings before the app is built."""
    return base_config(instance_dir, database_url)


def _forget_request_user(exc=None):
    # Requests in tests share the test's app context (and so ``g``): forget the signed-in
    # user after each request, as a real request's fresh context would.
    g.pop("_login_user", None)
    g.pop("bearer_auth", None)
    g.pop("leadrelay_bearer_pending", None)
    flask_babel.refresh()  # the locale is cached on the shared context too


# Building an app compiles its ~480 URL rules and opens a new pool of connections (about
# 0.1 s, a quarter of an average test): tests with equal settings share one, put back
# before each test to the settings it was built with and without what it kept in memory.
_APPS: OrderedDict[str, tuple[Flask, dict, dict]] = OrderedDict()
_APPS_KEPT = 3
# What an app keeps between requests (backend/process_cache.py and its kin, the Redis
# client and queues, which a test may point at a Redis that is down) is dropped; the
# OpenAPI document depends on the code only and stays.
_KEPT_STATE = {"leadrelay_openapi"}


def _app_for(config: dict) -> Flask:
    key = repr(sorted(config.items()))
    entry = _APPS.pop(key, None)
    if entry is None:
        built = create_app(config)
        built.teardown_request(_forget_request_user)
        # Flask-Limiter keeps one app's settings on its one global object: kept beside.
        entry = (built, copy.deepcopy(dict(built.config)), dict(limiter.__dict__))
    _APPS[key] = entry
    while len(_APPS) > _APPS_KEPT:
        old = _APPS.popitem(last=False)[1][0]
        with old.app_context():
            db.engine.dispose()
    app, settings, limits = entry
    app.config.clear()
    app.config.update(copy.deepcopy(settings))
    limiter.__dict__.update(limits)
    for name in [n for n in app.extensions if n.startswith("leadrelay") and n not in _KEPT_STATE]:
        del app.extensions[name]
    return app


@pytest.fixture
def app(_schema, config):
    app = _app_for(config)
    with app.app_context():
        truncate_all()
    redis.Redis.from_url(config["REDIS_URL"]).flushdb()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Signs in through the real endpoint, like the PWA does."""

    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "secret-pass"):
        return self.client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": password},
            headers={"X-Requested-With": "XMLHttpRequest"},
        )

    def logout(self):
        return self.client.post(
            "/api/v1/auth/logout", headers={"X-Requested-With": "XMLHttpRequest"}
        )


@pytest.fixture
def auth(client):
    return AuthActions(client)


class Api:
    """A JSON client that sends the header cookie-authenticated fetch calls carry."""

    def __init__(self, client):
        self.client = client

    def _call(self, method, url, **kwargs):
        headers = {"X-Requested-With": "XMLHttpRequest", **kwargs.pop("headers", {})}
        # A request starts on a session with no transaction open, as in production (where
        # each request has its own): what the test wrote is committed, what it read is not
        # held, and a capture's statements commit one by one (transaction.reads_alone).
        db.session.commit()
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self._call("GET", url, **kw)

    def post(self, url, **kw):
        return self._call("POST", url, **kw)

    def patch(self, url, **kw):
        return self._call("PATCH", url, **kw)

    def delete(self, url, **kw):
        return self._call("DELETE", url, **kw)


@pytest.fixture
def api(client):
    return Api(client)


# --- end-to-end: a real server subprocess and real Chromium ---------------------------

from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, server_env, watch_console  # noqa: E402

browser_available = os.path.exists(CHROMIUM) and not os.environ.get("LEADRELAY_SKIP_BROWSER")
BROWSER_SKIP_REASON = (
    "browser tests not asked for in this run (--no-browser)"
    if os.environ.get("LEADRELAY_SKIP_BROWSER")
    else "Debian chromium is not installed (make test installs it)"
)
requires_browser = pytest.mark.skipif(not browser_available, reason=BROWSER_SKIP_REASON)


@pytest.fixture(scope="session")
def live_server(_schema, instance_dir, database_url):
    """gunicorn on a free port, shared by the session; tests seed data with the ``app`` fixture.

    The server reads the same database, so data a test commits is what the browser sees.
    """
    env = server_env(base_config(instance_dir, database_url))
    # Tests change offices and events straight in the database between requests, and the
    # server is shared: it must not answer from what an earlier test left (5 s by default).
    env["PROCESS_CACHE_SECONDS"] = "0"
    server = LiveServer(env).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    if not browser_available:
        pytest.skip(BROWSER_SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context and page; console errors are collected on ``page.console_errors``."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = watch_console(context.new_page())
    yield page
    context.close()


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
