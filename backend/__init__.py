"""LeadRelay: the Flask app factory."""

from __future__ import annotations

import os
import select
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, abort
from psycopg.pq import ConnStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import configure_mappers
from sqlalchemy.pool import Pool

from backend.extensions import db, login_manager, migrate
from backend.params import MAX_ID
from backend.settings import load_settings

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides settings by name (tests pass their DB and Redis)."""
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("LEADRELAY_INSTANCE")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_mapping(load_settings(app.instance_path, config))

    app.json.sort_keys = False
    from backend.auth.cookie_session import CookieSessionInterface

    app.session_interface = CookieSessionInterface()
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if proxies:
        # Behind Caddy: the client's address (rate limits) and https:// come from it.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    from backend import models  # noqa: F401 - registers every table
    from backend.auth import access  # noqa: F401 - registers the user loaders
    from backend.auth.csrf import init_csrf
    from backend.errors import register_error_handlers
    from backend.i18n import init_i18n
    from backend.links import init_links
    from backend.ratelimit import init_ratelimit
    from backend.security import init_security
    from backend.transaction import init_transaction

    @app.url_value_preprocessor
    def _ids_in_range(endpoint, values):
        # Beyond the column's range the database would raise; answer as for any unknown id.
        if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
            abort(404)

    init_i18n(app)
    init_csrf(app)
    init_security(app)
    init_ratelimit(app)
    init_links(app)
    init_transaction(app)
    register_error_handlers(app)
    register_blueprints(app)
    # Every model is imported by now: relate them here, not at the first instance made
    # (``access._user_from_row`` makes users as the ORM's loader does, which does not).
    configure_mappers()

    from backend.cli import register_cli

    register_cli(app)
    return app


def register_blueprints(app: Flask) -> None:
    from backend.admin.views import bp as admin_bp
    from backend.api.views import bp as api_bp
    from backend.attachments.views import bp as attachments_bp
    from backend.attendees.views import bp as attendees_bp
    from backend.audit.views import bp as audit_bp
    from backend.auth.admin_views import bp as users_bp
    from backend.auth.views import api_bp as auth_api_bp
    from backend.cards.views import bp as cards_bp
    from backend.cards.views import office_bp as cards_office_bp
    from backend.events.pages import bp as event_pages_bp
    from backend.events.views import bp as events_bp
    from backend.leads.views import bp as leads_bp
    from backend.messaging.views import bp as messaging_bp
    from backend.messaging.webhook_views import bp as webhooks_bp
    from backend.offices.views import bp as offices_bp
    from backend.privacy.consent import bp as consent_bp
    from backend.privacy.views import bp as privacy_bp
    from backend.pwa_views import bp as pwa_bp
    from backend.rates.views import bp as rates_bp
    from backend.reports.views import bp as reports_bp
    from backend.routing.views import bp as routing_bp
    from backend.telegram.views import bp as telegram_bp
    from backend.web.views import bp as web_bp
    from backend.workspace.views import bp as workspace_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(auth_api_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(leads_bp)
    app.register_blueprint(routing_bp)
    app.register_blueprint(workspace_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(messaging_bp)
    app.register_blueprint(offices_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(rates_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(consent_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(event_pages_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(cards_bp)
    app.register_blueprint(cards_office_bp)
    app.register_blueprint(telegram_bp)
    app.register_blueprint(attendees_bp)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL and foreign keys for SQLite; other databases ignore this."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


@event.listens_for(Pool, "checkout")
def _discard_dead_connection(dbapi_connection, connection_record, connection_proxy):
    """Hand out no PostgreSQL connection the server has closed, without a round trip.

    An idle pooled connection has nothing to read: the server writes to it only to end
    it (a restart, a terminated backend, ``idle_session_timeout``: its last message and
    then the end of the stream). So a readable socket, or one libpq knows is bad, is
    discarded and the pool tries another or a new connection (SQLAlchemy's
    ``DisconnectionError`` protocol), as ``pool_pre_ping`` would but without its
    round trip per request. A connection that dies while a request uses it fails that
    request (the booth keeps the lead and sends it again), and SQLAlchemy's disconnect
    handling then invalidates the pool's older connections."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # SQLite: a file, nothing to lose
        return
    if dbapi_connection.closed or pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the pooled connection is closed")
    poller = select.poll()  # not select.select: a busy process may hold fds above 1024
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed (or wrote to) an idle pooled connection")
