from backend.auth.models import ApiToken, User
from backend.extensions import db
from backend.offices.models import Office
from tests.factories import make_office

OFFICES_CSV = """code,name,city,country,latitude,longitude,timezone,email,phone,territories,capacity
MOW,Moscow,Moscow,RU,55.7558,37.6173,Europe/Moscow,mow@example.com,+74950000000,RU-48,100
NSK,Novosibirsk,Novosibirsk,RU,55.0415,82.9346,Asia/Novosibirsk,nsk@example.com,+73830000000,,
BAD,Nowhere,Nowhere,RU,north,37.0,Europe/Moscow,bad@example.com,,,
BER,Berlin,Berlin,DE,52.52,13.405,Mars/Olympus,ber@example.com,,DE,
MUC,Munich,Munich,DE,48.137,11.575,Europe/Berlin,muc@example.com,,DE:8,
"""


def test_offices_import_keeps_good_rows_and_numbers_the_bad_ones(runner, tmp_path):
    path = tmp_path / "offices.csv"
    path.write_text(OFFICES_CSV)
    result = runner.invoke(args=["offices", "import", str(path)])
    assert result.exit_code == 1
    assert "3 created, 0 updated, 2 errors" in result.output
    assert "line 4: latitude is not a number" in result.output
    assert "line 5: unknown timezone 'Mars/Olympus'" in result.output
    codes = set(db.session.scalars(db.select(Office.code)))
    assert codes == {"MOW", "NSK", "MUC"}
    muc = db.session.scalar(db.select(Office).where(Office.code == "MUC"))
    assert muc.territories == ["DE:8"]
    assert db.session.scalar(db.select(Office).where(Office.code == "MOW")).capacity == 100


def test_offices_import_updates_existing_offices(runner, tmp_path):
    make_office("MOW", name="Old name")
    db.session.commit()
    path = tmp_path / "offices.csv"
    path.write_text(OFFICES_CSV.splitlines()[0] + "\n" + OFFICES_CSV.splitlines()[1] + "\n")
    result = runner.invoke(args=["offices", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated" in result.output
    db.session.expire_all()
    assert db.session.scalar(db.select(Office.name).where(Office.code == "MOW")) == "Moscow"


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


def test_offices_import_checks_rows_with_the_office_schema(runner, tmp_path):
    """Rows go through ``OfficeIn`` (the monthly order with the API's limits): a code too
    long for the database, a negative order and a country name are refused by line."""
    header = OFFICES_CSV.splitlines()[0] + ",monthly_lead_order,working_days"
    path = tmp_path / "offices.csv"
    path.write_text(
        header + "\n"
        + "X" * 40 + ",Long,Moscow,RU,55.7,37.6,Europe/Moscow,l@example.com,,,,,\n"
        + "ORD,Order,Moscow,RU,55.7,37.6,Europe/Moscow,o@example.com,,,,-5,\n"
        + "CTY,Country,Moscow,Russia,55.7,37.6,,c@example.com,,,,,71\n"
        + " kzn ,Kazan, Kazan ,ru,55.79,49.12,,k@example.com,, ru-73 ; RU ,5,12,713\n"
    )  # fmt: skip
    result = runner.invoke(args=["offices", "import", str(path)])
    assert "1 created, 0 updated, 3 errors" in result.output, result.output
    assert "line 2: code: String should have at most 32 characters" in result.output
    assert "line 3: monthly_lead_order: Input should be greater than or equal to 0" in (
        result.output
    )
    assert "line 4: country must be an ISO code like RU or DE: 'Russia'" in result.output
    kazan = db.session.scalar(db.select(Office).where(Office.code == "KZN"))
    assert (kazan.city, kazan.country, kazan.territories) == ("Kazan", "RU", ["RU-73", "RU"])
    assert (kazan.capacity, kazan.monthly_lead_order, kazan.timezone) == (5, 12, "UTC")
    assert kazan.working_days == "137"
