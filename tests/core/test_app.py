from alembic.config import Config
from alembic.script import ScriptDirectory

from backend import MIGRATIONS_DIR, create_app
from backend.settings import load_settings, parse_bool, sqlalchemy_uri


def test_health_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_migrations_have_a_single_head():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrations_upgrade_an_empty_database_to_the_models(app):
    """The schema built by the migrations (the session fixture) matches the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backend.extensions import db

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_default_settings_are_an_embedded_demo(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'leadrelay.db'}"
    assert settings["REDIS_URL"] is None
    assert settings["SMTP_URL"] is None
    # The generated secret is kept, so sessions survive a restart.
    assert load_settings(str(tmp_path))["SECRET_KEY"] == settings["SECRET_KEY"]


def test_settings_come_from_the_environment_and_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://db.example/leads")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "yes")
    settings = load_settings(str(tmp_path), {"SECRET_KEY": "from-test"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.example/leads"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SECRET_KEY"] == "from-test"


def test_a_bad_boolean_setting_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="not a boolean"):
        parse_bool("maybe")


def test_postgres_urls_use_the_psycopg_driver():
    assert sqlalchemy_uri("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert sqlalchemy_uri("sqlite:///x.db") == "sqlite:///x.db"


def test_creating_the_app_opens_no_connection(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DATABASE_URL": "postgresql://127.0.0.1:1/none",
            "RATELIMIT_ENABLED": False,
        }
    )
    assert "leadrelay_redis" not in app.extensions


def test_responses_carry_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_openapi_document_describes_the_capture_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    operation = spec["paths"]["/api/v1/events/{event_id}/leads"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "LeadIn"
    )
    assert "client_id" in spec["components"]["schemas"]["LeadIn"]["required"]
    assert "/api/v1/sync" in spec["paths"]
    assert client.get("/api/docs").status_code == 200
