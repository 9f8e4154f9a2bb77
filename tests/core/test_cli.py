from backend.auth.models import ApiToken, User
from backend.extensions import db
from backend.offices.models import Office
from tests.factories import make_office


def test_users_create_prints_a_generated_password(runner):
    make_office("MOW")
    db.session.commit()
    result = runner.invoke(
        args=["users", "create", "Rep@Example.com", "--role", "office_rep", "--office", "MOW"]
    )
    assert result.exit_code == 0, result.output
    assert "password:" in result.output
    user = db.session.scalar(db.select(User).where(User.email == "rep@example.com"))
    password = result.output.split("password:")[1].strip()
    assert user.check_password(password)


def test_users_create_refuses_an_office_role_without_office(runner):
    result = runner.invoke(args=["users", "create", "rep@example.com", "--role", "office_rep"])
    assert result.exit_code != 0
    assert "needs an office" in result.output


def test_tokens_create_prints_a_token_that_works(runner, client):
    runner.invoke(
        args=[
            "users",
            "create",
            "crm@example.com",
            "--role",
            "marketing",
            "--password",
            "crm-sync-walrus-42",
        ]
    )
    result = runner.invoke(args=["tokens", "create", "crm@example.com"])
    token = result.output.strip()
    assert db.session.scalar(db.select(ApiToken.prefix)) == token[:10]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_demo_is_idempotent_and_prints_every_role(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    for role in ("admin", "marketing", "office_manager", "office_rep", "staff"):
        assert role in first.output
    counts = (
        db.session.scalar(db.select(db.func.count()).select_from(Office)),
        db.session.scalar(db.select(db.func.count()).select_from(User)),
    )
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert counts == (
        db.session.scalar(db.select(db.func.count()).select_from(Office)),
        db.session.scalar(db.select(db.func.count()).select_from(User)),
    )
    assert counts[0] >= 6


def test_demo_has_a_finished_event_with_leads_in_every_status(runner):
    from backend.leads.models import STATUSES, Lead

    runner.invoke(args=["demo"])
    statuses = set(db.session.scalars(db.select(Lead.status).distinct()))
    assert statuses >= set(STATUSES)


def test_route_prints_the_decision_as_json(runner):
    import json

    make_office("MOW")
    make_office("NSK")
    db.session.commit()
    result = runner.invoke(args=["route", "--city", "Новосибирск", "--country", "Россия"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["office"]["code"] == "NSK"
    assert decision["method"] == "nearest"
    assert decision["location"]["source"] == "gazetteer"


def test_worker_burst_drains_the_queues_and_exits(runner, app):
    """`leadrelay worker --burst` delivers what capture queued (recorded: no SMTP here)."""
    import uuid

    from backend.leads.capture import capture_batch
    from backend.messaging.models import Message
    from backend.transaction import commit
    from tests.factories import make_event, make_user

    make_office("MOW")
    event = make_event()
    user = make_user("marketing")
    db.session.commit()
    payload = {"event_id": event.id, "client_id": str(uuid.uuid4()), "first_name": "Anna",
               "email": "anna@example.com", "city": "Moscow", "consent": {"contact": True}}  # fmt: skip
    capture_batch([payload], user=user)
    commit()  # as the capture request does
    assert set(db.session.scalars(db.select(Message.status))) == {"pending"}

    from backend.cli import main

    # Through the `leadrelay` command: the workers' commands are its plugins.
    result = runner.invoke(main, args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    statuses = set(db.session.scalars(db.select(Message.status).where(Message.channel == "email")))
    assert statuses == {"recorded"}


def test_the_leadrelay_command_offers_the_workers_commands(runner):
    from backend.cli import main

    result = runner.invoke(main, args=["--help"])
    assert result.exit_code == 0, result.output
    for command in ("worker", "cron", "sweep", "serve", "demo"):
        assert f"  {command} " in result.output
    dry = runner.invoke(main, args=["sweep", "--dry-run", "--now", "2026-12-07T09:00:00"])
    assert dry.exit_code == 0, dry.output
    assert '"dry_run": true' in dry.output
