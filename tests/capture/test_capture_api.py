import re
import threading
import time
import uuid

import psycopg
import pytest

from backend import create_app
from backend.extensions import db
from backend.leads.models import Lead, MergedCapture, RoutingDecision
from backend.messaging.models import Message
from tests.conftest import requires_postgres
from tests.factories import make_event, make_office, make_user


@pytest.fixture
def booth(auth):
    """Two offices, an event in Moscow, and signed-in booth staff of that event."""
    make_office("MOW")
    make_office("NSK")
    event = make_event(name="Mashex")
    staff = make_user("staff", email="booth@example.com")
    staff.events.append(event)
    db.session.commit()
    auth.login("booth@example.com")
    return event


def lead(**fields):
    return {
        "client_id": str(uuid.uuid4()),
        "first_name": "Anna",
        "email": "anna@example.com",
        **fields,
    }


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_a_new_lead_is_stored_routed_and_answered_with_201(api, booth):
    response = api.post(
        f"/api/v1/events/{booth.id}/leads", json=lead(city="Novosibirsk", country="RU")
    )
    assert response.status_code == 201
    body = response.json
    assert body["status"] == "new"
    assert body["office"] == {"code": "NSK", "name": "Novosibirsk office"}
    assert body["routing"]["method"] == "nearest"
    assert "Novosibirsk" in body["routing"]["reason"]
    assert body["flags"] == []
    stored = db.session.get(Lead, body["id"])
    assert stored.captured_by.email == "booth@example.com"


def test_a_replayed_upload_makes_no_second_lead_and_changes_nothing(api, booth):
    payload = lead(rating="warm", notes="first")
    first = api.post(f"/api/v1/events/{booth.id}/leads", json=payload)
    replay = api.post(
        f"/api/v1/events/{booth.id}/leads", json={**payload, "notes": "changed", "rating": "hot"}
    )
    assert replay.status_code == 200
    assert replay.json["id"] == first.json["id"]
    assert replay.json["result"] == "duplicate"
    assert count(Lead) == 1
    assert count(RoutingDecision) == 1
    stored = db.session.get(Lead, first.json["id"])
    db.session.refresh(stored)
    assert (stored.notes, stored.rating) == ("first", "warm")


def test_captured_by_comes_from_the_session_never_from_the_payload(api, booth):
    other = make_user("staff", email="other@example.com")
    db.session.commit()
    response = api.post(f"/api/v1/events/{booth.id}/leads", json=lead(captured_by=other.id))
    assert db.session.get(Lead, response.json["id"]).captured_by.email == "booth@example.com"


def test_a_bad_email_and_phone_are_flagged_and_the_lead_kept(api, booth):
    response = api.post(
        f"/api/v1/events/{booth.id}/leads",
        json=lead(email="anna@@example", phone="12", city="Moscow"),
    )
    assert response.status_code == 201
    assert set(response.json["flags"]) == {"bad_email", "bad_phone"}
    stored = db.session.get(Lead, response.json["id"])
    assert (stored.email, stored.phone) == ("anna@@example", "12")
    # No autoresponder to an address that cannot receive it; the office is still told.
    kinds = set(db.session.scalars(db.select(Message.kind)))
    assert kinds == {"office_notice"}


def test_contact_data_is_normalised(api, booth):
    response = api.post(
        f"/api/v1/events/{booth.id}/leads",
        json=lead(email="  Anna@EXAMPLE.com ", phone="8 (495) 123-45-67", country="Россия"),
    )
    body = response.json
    assert body["email"] == "Anna@example.com"
    assert body["phone"] == "+74951234567"
    assert body["country"] == "RU"


def test_cyrillic_names_and_emoji_round_trip_exactly(api, booth):
    payload = lead(
        first_name="Ёлка", last_name="Щукина-Иванова", notes="Очень горячий 🔥 лид", city="Москва"
    )
    created = api.post(f"/api/v1/events/{booth.id}/leads", json=payload).json
    detail = api.get(f"/api/v1/leads/{created['id']}").json
    assert (detail["first_name"], detail["last_name"]) == ("Ёлка", "Щукина-Иванова")
    assert detail["notes"] == "Очень горячий 🔥 лид"
    assert detail["city"] == "Москва"


def test_staff_of_another_event_are_refused(api, booth):
    elsewhere = make_event(name="Other show")
    db.session.commit()
    response = api.post(f"/api/v1/events/{elsewhere.id}/leads", json=lead())
    assert response.status_code == 403
    assert count(Lead) == 0


def test_a_payload_that_is_not_a_lead_gets_422_listing_each_field(api, booth):
    response = api.post(
        f"/api/v1/events/{booth.id}/leads", json={"first_name": "No id", "rating": 5}
    )
    assert response.status_code == 422
    fields = {f["field"] for f in response.json["error"]["fields"]}
    assert "client_id" in fields
    nobody = api.post(
        f"/api/v1/events/{booth.id}/leads", json={"client_id": str(uuid.uuid4()), "notes": "?"}
    )
    assert nobody.status_code == 422
    assert "identify" in nobody.json["error"]["message"]
    not_json = api.post(f"/api/v1/events/{booth.id}/leads", data="hello", content_type="text/plain")
    assert not_json.status_code == 422


def test_an_oversized_body_gets_413(api, booth):
    response = api.post(
        f"/api/v1/events/{booth.id}/leads", json=lead(notes="x" * (3 * 1024 * 1024))
    )
    assert response.status_code == 413


def test_an_unknown_rating_is_flagged_not_rejected(api, booth):
    response = api.post(f"/api/v1/events/{booth.id}/leads", json=lead(rating="scorching"))
    assert response.status_code == 201
    assert "bad_rating" in response.json["flags"]


def test_the_same_person_captured_again_is_merged_into_the_first_lead(api, booth):
    first = api.post(
        f"/api/v1/events/{booth.id}/leads",
        json=lead(rating="cold", notes="met Anna", answers={"budget": "<10k"}),
    ).json
    again = api.post(
        f"/api/v1/events/{booth.id}/leads",
        json=lead(email="ANNA@example.com", first_name="Ann", rating="hot", notes="wants a demo",
                  answers={"budget": ">10k", "timeline": "yes"}),
    )  # fmt: skip
    assert again.status_code == 200
    assert again.json["result"] == "merged"
    assert again.json["id"] == first["id"]
    stored = db.session.get(Lead, first["id"])
    db.session.refresh(stored)
    assert stored.first_name == "Anna"  # nothing stored is overwritten
    # The rating never changes silently: the second one is kept on the merged capture.
    assert stored.rating == "cold"
    assert db.session.scalar(db.select(MergedCapture.rating)) == "hot"
    assert "met Anna" in stored.notes and "wants a demo" in stored.notes
    assert stored.answers == {"budget": "<10k", "timeline": "yes"}
    assert count(Lead) == 1
    # The office is not told twice.
    assert db.session.scalar(db.select(db.func.count()).where(Message.kind == "office_notice")) == 1


def test_a_batch_with_duplicates_merges_and_a_rejected_item(api, booth):
    known = lead(email="known@example.com")
    api.post("/api/v1/sync", json={"leads": [{**known, "event_id": booth.id}]})
    repeated = lead(email="twice@example.com", first_name="Twice")
    batch = [
        {**lead(email="new@example.com"), "event_id": booth.id},
        {**known, "event_id": booth.id},  # replay
        {**lead(email="KNOWN@example.com", notes="second scan"), "event_id": booth.id},  # merge
        {"event_id": booth.id, "client_id": "not-a-uuid", "first_name": "Bad"},
        "not even an object",
        {**repeated, "event_id": booth.id},
        {**repeated, "event_id": booth.id},  # same UUID twice in one batch
        {**lead(email="x@example.com"), "event_id": 999_999},
    ]
    response = api.post("/api/v1/sync", json={"leads": batch})
    assert response.status_code == 200
    results = response.json["results"]
    assert [r["status"] for r in results] == [
        "created", "duplicate", "merged", "rejected", "rejected", "created", "duplicate", "rejected",
    ]  # fmt: skip
    assert results[3]["errors"][0]["field"] == "client_id"
    assert results[7]["errors"][0]["message"] == "unknown event"
    assert results[5]["lead_id"] == results[6]["lead_id"]
    assert all(r["office"] for r in results if r["status"] != "rejected")
    assert count(Lead) == 3
    assert count(MergedCapture) == 1


def test_a_replayed_merge_is_a_duplicate_and_adds_nothing_twice(api, booth):
    api.post(f"/api/v1/events/{booth.id}/leads", json=lead())
    second = lead(notes="second scan")
    assert api.post(f"/api/v1/events/{booth.id}/leads", json=second).json["result"] == "merged"
    assert api.post(f"/api/v1/events/{booth.id}/leads", json=second).json["result"] == "duplicate"
    stored = db.session.scalar(db.select(Lead))
    db.session.refresh(stored)
    assert stored.notes.count("second scan") == 1


def test_a_batch_of_500_is_accepted(api, booth):
    batch = [{**lead(email=f"v{n}@example.com"), "event_id": booth.id} for n in range(500)]
    response = api.post("/api/v1/sync", json={"leads": batch})
    assert response.status_code == 200
    assert [r["status"] for r in response.json["results"]] == ["created"] * 500
    too_many = api.post("/api/v1/sync", json={"leads": batch + batch[:1]})
    assert too_many.status_code == 422


@requires_postgres
def test_a_batch_costs_the_database_as_few_statements_at_300_leads_as_at_30(api, booth):
    """Replays, second scans of stored people and new people, a third each: the number of
    SQL statements does not grow with the batch (no round trip per lead; an executemany,
    which psycopg pipelines, counts once). SQLite, in the process and without round trips,
    inserts row by row to learn each new id."""

    def mixed_batch(size: int, tag: str) -> list[dict]:
        stored = [
            {**lead(email=f"{tag}{n}@example.com"), "event_id": booth.id} for n in range(size // 3)
        ]
        assert api.post("/api/v1/sync", json={"leads": stored}).status_code == 200
        second_scans = [
            {**item, "client_id": str(uuid.uuid4()), "notes": "second scan"} for item in stored
        ]
        new = [
            {**lead(email=f"{tag}-new{n}@example.com"), "event_id": booth.id}
            for n in range(size // 3)
        ]
        return stored + second_scans + new

    def statements_for(batch: list[dict]) -> tuple[int, list[str]]:
        executed = []
        record = lambda *args: executed.append(args[2])  # noqa: E731
        db.event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = api.post("/api/v1/sync", json={"leads": batch})
        finally:
            db.event.remove(db.engine, "before_cursor_execute", record)
        assert response.status_code == 200
        statuses = [r["status"] for r in response.json["results"]]
        third = len(batch) // 3
        assert statuses == ["duplicate"] * third + ["merged"] * third + ["created"] * third
        return len(executed), executed

    small, _ = statements_for(mixed_batch(30, "small"))
    large, executed = statements_for(mixed_batch(300, "large"))
    # (The smaller batch may also count the feedback sample, which the larger one filled.)
    assert large <= small, executed
    assert large <= 12, executed
    merged = db.session.scalars(db.select(Lead).where(Lead.email == "large7@example.com")).one()
    db.session.refresh(merged)
    assert merged.notes == "second scan" and "merged" in merged.flags


def _statements_and_modes(send) -> tuple[object, list[tuple[str, bool]]]:
    """What ``send()`` answered, and each SQL statement it ran with whether the driver
    committed that statement on its own (psycopg's autocommit)."""
    executed, used = [], []

    def record(conn, cursor, statement, *_):
        driver = conn.connection.dbapi_connection
        executed.append((" ".join(statement.split()), driver.autocommit))
        used.append(driver)

    db.session.commit()  # the request starts on a session with no transaction, as in production
    db.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = send()
    finally:
        db.event.remove(db.engine, "before_cursor_execute", record)
    # Back in the pool, the connections the request used commit only when told again.
    assert all(driver.autocommit is False for driver in used), executed
    return response, executed


@requires_postgres
def test_a_new_lead_is_read_and_written_without_begin_and_commit_round_trips(api, booth):
    """The signed-in user, then one statement: the lookup of known people and, as it found
    nothing, the insert of the lead, its decision and its mails. Each commits on its own:
    no BEGIN and no COMMIT sent around them. (Once the process has read its offices,
    events and settings, as the first capture here does: a read after the insert would be
    a transaction of its own.)"""
    url = f"/api/v1/events/{booth.id}/leads"
    assert api.post(url, json=lead(email="first@example.com")).status_code == 201
    response, executed = _statements_and_modes(lambda: api.post(url, json=lead(city="Novosibirsk")))
    assert response.status_code == 201, response.json
    assert [alone for _, alone in executed] == [True] * len(executed), "\n".join(map(str, executed))
    # The signed-in user, reads (the event's feedback sample), the one lookup-and-insert.
    assert executed[0][0].startswith('SELECT "user"'), executed
    assert "FROM lead l" in executed[-1][0] and "INSERT INTO lead" in executed[-1][0], executed
    assert [sql for sql, _ in executed[1:-1] if "INSERT" in sql or "UPDATE" in sql] == []
    with psycopg.connect(_dsn()) as other:  # committed: another connection sees it all
        rows = other.execute(
            "SELECT (SELECT count(*) FROM lead), (SELECT count(*) FROM routing_decision),"
            " (SELECT count(*) FROM message WHERE lead_id = %s)",
            (response.json["id"],),
        ).fetchone()
    assert rows[:2] == (2, 2) and rows[2] >= 1, rows
    assert response.json["id"] > 1  # ids in the order of capture


@requires_postgres
def test_a_replay_finds_its_lead_in_the_lookup_and_writes_nothing(api, booth):
    url = f"/api/v1/events/{booth.id}/leads"
    first = lead(email="first@example.com")
    stored = api.post(url, json=first).json
    response, executed = _statements_and_modes(lambda: api.post(url, json=first))
    assert response.status_code == 200 and response.json["id"] == stored["id"], response.json
    assert count(Lead) == 1 and count(RoutingDecision) == 1
    with psycopg.connect(_dsn()) as other:
        assert other.execute("SELECT count(*) FROM message").fetchone()[0] == len(
            db.session.scalars(db.select(Message.id)).all()
        )


def test_a_visitor_who_unsubscribed_is_captured_without_an_autoresponder(api, booth):
    from backend.messaging.models import Unsubscribe

    db.session.add(Unsubscribe(email="gone@example.com"))
    db.session.commit()
    url = f"/api/v1/events/{booth.id}/leads"
    response = api.post(
        url, json=lead(email="gone@example.com", consent={"contact": True, "text": "ok"})
    )
    assert response.status_code == 201, response.json
    kinds = db.session.scalars(
        db.select(Message.kind).where(Message.lead_id == response.json["id"])
    )
    assert "autoresponder" not in set(kinds)


@requires_postgres
def test_a_second_scan_merged_into_a_stored_lead_is_one_transaction(api, booth):
    """Locking the stored lead, writing what the second scan adds and keeping the capture
    beside it are three writes: they run in one transaction (BEGIN … COMMIT), never alone."""
    url = f"/api/v1/events/{booth.id}/leads"
    first = api.post(url, json=lead(notes="first scan"))
    response, executed = _statements_and_modes(
        lambda: api.post(url, json=lead(notes="second scan", company="Acme"))
    )
    assert response.status_code == 200 and response.json["result"] == "merged", response.json
    writes = [(sql, alone) for sql, alone in executed if _writes(sql)]
    assert len(writes) >= 2, executed
    assert not any(alone for _, alone in writes), executed
    stored = db.session.get(Lead, first.json["id"])
    db.session.refresh(stored)
    assert stored.company == "Acme" and "second scan" in stored.notes
    assert count(MergedCapture) == 1


def _writes(sql: str) -> bool:
    """Whether a statement (its first 60 characters) writes: the lookup begins ``WITH``."""
    return re.match(r"(WITH \w+ AS \()?(INSERT|UPDATE|DELETE)\b", sql) is not None


def _dsn() -> str:
    url = db.engine.url
    return (
        f"host={url.host} port={url.port or 5432} dbname={url.database} user={url.username or ''}"
    )


def test_the_first_leads_of_an_event_are_sampled_for_feedback(api, booth):
    booth.feedback_sample_size = 3
    db.session.commit()
    batch = [{**lead(email=f"s{n}@example.com"), "event_id": booth.id} for n in range(5)]
    api.post("/api/v1/sync", json={"leads": batch})
    flagged = db.session.scalars(db.select(Lead.feedback_requested).order_by(Lead.id)).all()
    assert flagged == [True, True, True, False, False]


def test_reading_leads_back_respects_who_captured_them(api, auth, booth):
    mine = api.post(f"/api/v1/events/{booth.id}/leads", json=lead()).json
    colleague = make_user("staff", email="colleague@example.com")
    colleague.events.append(booth)
    db.session.commit()
    auth.login("colleague@example.com")
    assert api.get(f"/api/v1/leads/{mine['id']}").status_code == 404
    assert api.get(f"/api/v1/events/{booth.id}/leads").json["total"] == 0


def test_event_leads_are_paginated_and_filtered(api, auth, booth):
    make_user("marketing", email="m@example.com")
    db.session.commit()
    batch = [{**lead(email=f"p{n}@example.com", rating=("hot" if n % 2 else "cold")), "event_id": booth.id}
             for n in range(7)]  # fmt: skip
    api.post("/api/v1/sync", json={"leads": batch})
    auth.login("m@example.com")
    page = api.get(f"/api/v1/events/{booth.id}/leads?per_page=5&page=2").json
    assert (page["total"], len(page["items"])) == (7, 2)
    hot = api.get(f"/api/v1/events/{booth.id}/leads?rating=hot").json
    assert hot["total"] == 3 and {i["rating"] for i in hot["items"]} == {"hot"}


def test_lead_detail_shows_routing_history(api, booth):
    created = api.post(
        f"/api/v1/events/{booth.id}/leads", json=lead(city="Атлантида", country="RU")
    ).json
    detail = api.get(f"/api/v1/leads/{created['id']}").json
    assert "location_unknown" in detail["flags"]
    [decision] = detail["routing_history"]
    assert decision["method"] == "fallback"
    assert decision["location_source"] == "event"


@requires_postgres
def test_concurrent_submissions_of_one_client_id_make_one_lead(app, config, booth):
    """Two phones (threads, separate connections) send the same UUID at the same moment."""
    staff_id = db.session.scalar(db.select(db.func.min(Lead.id)))  # noqa: F841 - none yet
    payload = lead()
    # Each phone's app and sign-in are made here, one after another: CPython 3.11 can fail
    # compiling code in several threads at once ("AST constructor recursion depth
    # mismatch"), and only the uploads need to race.
    clients = []
    for _ in range(6):
        client = create_app(config).test_client()
        client.post("/api/v1/auth/login", json={"email": "booth@example.com", "password": "secret-pass"},
                    headers={"X-Requested-With": "t"})  # fmt: skip
        clients.append(client)
    barrier = threading.Barrier(len(clients), timeout=60)
    statuses, errors = [], []
    url = f"/api/v1/events/{booth.id}/leads"  # the threads have no app context to load it

    def submit(client):
        try:
            barrier.wait()
            response = client.post(url, json=payload,
                                   headers={"X-Requested-With": "t"})  # fmt: skip
            statuses.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
            barrier.abort()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(statuses) == [200] * 5 + [201]
    db.session.expire_all()
    assert count(Lead) == 1
    assert count(RoutingDecision) == 1


def test_second_scans_in_one_batch_find_their_people_by_email_or_phone(api, booth):
    """Stored: Anna (a@, phone A) and Boris (b@, phone B). One batch scans Anna by e-mail
    with Boris's phone (the e-mail decides), Boris by phone alone, Anna again, and replays
    the first scan."""
    anna = {**lead(email="a@example.com", phone="+79120000001", notes="anna"), "event_id": booth.id}
    boris = {
        **lead(email="b@example.com", phone="+79120000002", notes="boris"),
        "event_id": booth.id,
    }
    stored = api.post("/api/v1/sync", json={"leads": [anna, boris]}).json["results"]
    anna_id, boris_id = stored[0]["lead_id"], stored[1]["lead_id"]
    both = {
        **lead(email="A@example.com", phone="+79120000002", notes="scan 1"),
        "event_id": booth.id,
    }
    batch = [
        both,
        {**lead(email=None, first_name="Boris", phone="8 912 000-00-02", notes="scan 2"),
         "event_id": booth.id},
        {**lead(email="a@example.com", notes="scan 3"), "event_id": booth.id},
        both,
    ]  # fmt: skip
    results = api.post("/api/v1/sync", json={"leads": batch}).json["results"]
    assert [r["status"] for r in results] == ["merged", "merged", "merged", "duplicate"]
    assert [r["lead_id"] for r in results] == [anna_id, boris_id, anna_id, anna_id]
    db.session.expire_all()
    anna_lead, boris_lead = db.session.get(Lead, anna_id), db.session.get(Lead, boris_id)
    assert anna_lead.notes.split("\n---\n") == ["anna", "scan 1", "scan 3"]
    assert anna_lead.phone_normalized == "+79120000001"  # nothing stored is overwritten
    assert boris_lead.notes.split("\n---\n") == ["boris", "scan 2"]
    assert count(MergedCapture) == 3


@requires_postgres
def test_two_requests_merging_into_one_lead_at_once_both_keep_their_notes(app, config, booth):
    """Two colleagues rescan the same visitor while the stored lead is busy (a row lock
    held here); when it frees, both requests go on, and neither scan's notes are lost."""
    first = api_post_as_booth(config, f"/api/v1/events/{booth.id}/leads", lead(notes="first"))
    assert first.status_code == 201
    lead_id = first.json["id"]
    statuses = []
    # Apps are built here, not in the threads (CPython 3.11 may fail compiling in parallel).
    clients = {notes: booth_client(config) for notes in ("scan one", "scan two")}

    def rescan(notes):
        statuses.append(
            api_post_as_booth(
                config, f"/api/v1/events/{booth.id}/leads", lead(notes=notes), clients[notes]
            ).status_code
        )

    with db.engine.connect() as holder:
        transaction = holder.begin()
        holder.execute(db.select(Lead.id).where(Lead.id == lead_id).with_for_update())
        threads = [threading.Thread(target=rescan, args=(n,)) for n in ("scan one", "scan two")]
        for thread in threads:
            thread.start()
        wait_until_sessions_wait_for_a_lock(2)
        transaction.rollback()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    db.session.expire_all()
    notes = db.session.get(Lead, lead_id).notes.split("\n---\n")
    assert sorted(notes) == ["first", "scan one", "scan two"]


def booth_client(config):
    """A signed-in client of its own app (its own connections), made in the test's thread."""
    client = create_app(config).test_client()
    client.post("/api/v1/auth/login", json={"email": "booth@example.com", "password": "secret-pass"},
                headers={"X-Requested-With": "t"})  # fmt: skip
    return client


def api_post_as_booth(config, path, payload, client=None):
    client = client or booth_client(config)
    return client.post(path, json=payload, headers={"X-Requested-With": "t"})


def wait_until_sessions_wait_for_a_lock(count, timeout=20.0):
    deadline = time.monotonic() + timeout
    waiting = 0
    while time.monotonic() < deadline:
        with db.engine.connect() as watcher:  # a new snapshot of pg_stat_activity each time
            waiting = watcher.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar()
        if waiting >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{waiting} of {count} requests reached the locked lead")


def test_joining_by_qr_token_makes_the_user_booth_staff(api, auth):
    event = make_event(name="Join me")
    make_user("staff", email="new@example.com")
    db.session.commit()
    auth.login("new@example.com")
    assert api.post("/api/v1/join", json={"token": "wrong"}).status_code == 404
    response = api.post("/api/v1/join", json={"token": event.join_token})
    assert response.status_code == 200
    assert response.json["event"]["id"] == event.id
    assert api.get("/api/v1/me").json["user"]["events"] == [{"id": event.id, "name": "Join me"}]


def test_a_visitor_registers_through_the_public_form(client):
    make_office("MOW")
    event = make_event(name="Open day")
    db.session.commit()
    info = client.get(f"/api/v1/public/visitor/{event.visitor_token}").json
    assert info["event"]["name"] == "Open day"
    headers = {"X-Requested-With": "XMLHttpRequest"}
    response = client.post(
        f"/api/v1/public/visitor/{event.visitor_token}/leads",
        json=lead(consent={"contact": True, "text": info["event"]["consent_text"]}),
        headers=headers,
    )
    assert response.status_code == 201
    assert response.json["office"]["name"] == "Moscow office"
    assert "lead_id" not in response.json  # the reply never tells a stored id
    stored = db.session.scalar(db.select(Lead))
    assert (stored.source, stored.captured_by_id, stored.consent_contact) == ("kiosk", None, True)
    bot = client.post(
        f"/api/v1/public/visitor/{event.visitor_token}/leads",
        json=lead(website="http://spam.example"),
        headers=headers,
    )
    assert bot.status_code == 422
    assert count(Lead) == 1


def test_events_are_created_and_edited_by_marketing(api, auth):
    make_user("marketing", email="m@example.com")
    db.session.commit()
    auth.login("m@example.com")
    created = api.post(
        "/api/v1/events",
        json={"name": "Expo", "venue_city": "Berlin", "venue_country": "Deutschland", "cost": "1500.50",
              "questions": [{"id": "size", "label": "Team size", "type": "choice", "options": ["1-10", "10+"]}]},
    )  # fmt: skip
    assert created.status_code == 201, created.json
    assert created.json["venue_country"] == "DE"
    assert created.json["visitor_url"].endswith(created.json["visitor_url"].split("/")[-1])
    patched = api.patch(
        f"/api/v1/events/{created.json['id']}", json={"brief": {"offer": "20% off"}}
    )
    assert patched.json["brief"]["offer"] == "20% off"
    bad = api.patch(
        f"/api/v1/events/{created.json['id']}",
        json={"starts_on": "2026-05-02", "ends_on": "2026-05-01"},
    )
    assert bad.status_code == 422


def test_the_same_person_twice_in_one_batch_is_one_lead(api, booth):
    first = lead(email="pair@example.com", rating="cold", notes="first scan")
    second = lead(email="PAIR@example.com", rating="hot", notes="second scan", company="Acme")
    batch = [{**first, "event_id": booth.id}, {**second, "event_id": booth.id}]
    results = api.post("/api/v1/sync", json={"leads": batch}).json["results"]
    assert [r["status"] for r in results] == ["created", "merged"]
    assert results[0]["lead_id"] == results[1]["lead_id"]
    stored = db.session.get(Lead, results[0]["lead_id"])
    assert stored.rating == "cold" and stored.company == "Acme"
    assert db.session.scalar(db.select(MergedCapture.rating)) == "hot"
    assert "first scan" in stored.notes and "second scan" in stored.notes
    assert "merged" in stored.flags
    # The folded capture's UUID is remembered: its retry is a duplicate of the same lead.
    replay = api.post("/api/v1/sync", json={"leads": [batch[1]]}).json["results"][0]
    assert (replay["status"], replay["lead_id"]) == ("duplicate", results[0]["lead_id"])
    assert count(Lead) == 1 and count(RoutingDecision) == 1
    assert db.session.scalar(db.select(db.func.count()).where(Message.kind == "office_notice")) == 1


def test_an_office_paused_between_two_captures_gets_no_more_leads(api, client, auth, booth):
    near_novosibirsk = {"city": "Novosibirsk", "country": "RU"}
    url = f"/api/v1/events/{booth.id}/leads"
    first = api.post(url, json=lead(email="one@example.com", **near_novosibirsk))
    assert first.json["office"]["code"] == "NSK"
    make_user("admin", email="admin@example.com")
    auth.login("admin@example.com")
    client.get("/admin/offices")
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    paused = client.post("/admin/offices/NSK/pause", data={"paused": "1", "csrf_token": token})
    assert paused.status_code in (302, 303)
    second = api.post(url, json=lead(email="two@example.com", **near_novosibirsk))
    assert (second.json["result"], second.json["office"]["code"]) == ("created", "MOW")


def test_an_office_capacity_counts_the_leads_of_earlier_requests(api, booth):
    from backend.offices.models import Office

    office = db.session.scalar(db.select(Office).where(Office.code == "NSK"))
    office.capacity = 2
    db.session.commit()
    url = f"/api/v1/events/{booth.id}/leads"
    offices = [
        api.post(url, json=lead(email=f"c{n}@example.com", city="Novosibirsk", country="RU"))
        for n in range(3)
    ]
    body = offices[-1].json
    assert [r.json["office"]["code"] for r in offices[:2]] == ["NSK", "NSK"]
    # Moscow is far more than 1.5x the distance: the lead stays, flagged over capacity.
    assert body["office"]["code"] == "NSK" and "over_capacity" in body["flags"]


def test_a_full_office_is_named_with_its_whole_load_not_only_up_to_its_capacity(api, booth):
    """Routing counts an office's open leads only up to its capacity while it has room;
    an office found full is counted in full, so its reason says how far over it is."""
    from backend.offices.models import Office

    url = f"/api/v1/events/{booth.id}/leads"
    for n in range(4):
        response = api.post(
            url, json=lead(email=f"o{n}@example.com", city="Novosibirsk", country="RU")
        )
        assert response.json["office"]["code"] == "NSK"
    office = db.session.scalar(db.select(Office).where(Office.code == "NSK"))
    office.capacity = 5
    db.session.commit()
    fifth = api.post(url, json=lead(email="o4@example.com", city="Novosibirsk", country="RU"))
    assert fifth.json["office"]["code"] == "NSK" and "over_capacity" not in fifth.json["flags"]
    office.capacity = 2  # lowered below what it already holds: 5 open leads
    db.session.commit()
    sixth = api.post(url, json=lead(email="o5@example.com", city="Novosibirsk", country="RU"))
    assert "over_capacity" in sixth.json["flags"]
    assert sixth.json["routing"]["reason_params"]["open_load"] == 5
    assert "(5/2)" in sixth.json["routing"]["reason"]


def test_a_larger_feedback_sample_is_honoured_after_the_first_was_filled(api, booth):
    booth.feedback_sample_size = 1
    db.session.commit()
    url = f"/api/v1/events/{booth.id}/leads"
    api.post(url, json=lead(email="a1@example.com"))
    api.post(url, json=lead(email="a2@example.com"))
    booth.feedback_sample_size = 3
    db.session.commit()
    api.post(url, json=lead(email="a3@example.com"))
    flagged = db.session.scalars(db.select(Lead.feedback_requested).order_by(Lead.id)).all()
    assert flagged == [True, False, True]


def test_a_nul_character_never_loses_the_lead(api, booth):
    response = api.post(
        f"/api/v1/events/{booth.id}/leads",
        json=lead(first_name="An\x00na", notes="scan\x00", answers={"q1": "a\x00b"}),
    )
    assert response.json["result"] == "created"
    assert response.status_code == 201
    stored = db.session.get(Lead, response.json["id"])
    assert stored.first_name.replace("\x00", "") == "Anna"
    assert stored.email == "anna@example.com"


def test_a_rep_who_joins_an_office_hears_of_its_next_lead(api, booth):
    from backend.offices.models import Office

    def notice_recipients(response):
        return db.session.scalar(
            db.select(Message.recipient).where(
                Message.kind == "office_notice", Message.lead_id == response.json["id"]
            )
        )

    url = f"/api/v1/events/{booth.id}/leads"
    before = api.post(url, json=lead(email="b1@example.com", city="Novosibirsk", country="RU"))
    assert "new.rep@example.com" not in notice_recipients(before)
    office = db.session.scalar(db.select(Office).where(Office.code == "NSK"))
    make_user("office_rep", office=office, email="new.rep@example.com")
    after = api.post(url, json=lead(email="b2@example.com", city="Novosibirsk", country="RU"))
    assert "new.rep@example.com" in notice_recipients(after)
    assert "nsk@offices.example.com" in notice_recipients(after)


def test_an_event_id_no_database_can_hold_is_an_unknown_event(api, booth):
    huge = 2**70
    batch = [{**lead(email="ok@example.com"), "event_id": booth.id}, {**lead(), "event_id": huge}]
    results = api.post("/api/v1/sync", json={"leads": batch}).json["results"]
    assert [r["status"] for r in results] == ["created", "rejected"]
    assert results[1]["errors"][0]["message"] == "unknown event"
    assert api.post(f"/api/v1/events/{huge}/leads", json=lead()).status_code == 404


def test_the_reply_to_a_new_lead_carries_its_language(api, booth):
    created = api.post(f"/api/v1/events/{booth.id}/leads", json=lead(language="ru-RU")).json
    assert created["result"] == "created" and created["language"] == "ru"
    assert api.get(f"/api/v1/leads/{created['id']}").json["language"] == "ru"


@requires_postgres
def test_a_capture_after_the_database_ended_the_pooled_connections_is_stored(api, booth):
    """PostgreSQL ended the idle connections the app keeps (a restart, an administrator's
    pg_terminate_backend, an idle timeout): the next capture gets a live connection and
    is stored, not answered with an error the booth would have to retry."""
    url = f"/api/v1/events/{booth.id}/leads"
    assert api.post(url, json=lead(email="first@example.com")).status_code == 201
    db.session.commit()  # every pooled connection idle
    dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        others = "datname = current_database() AND pid <> pg_backend_pid()"
        ended = admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}"
        )
        assert any(ok for (ok,) in ended)
        deadline = time.monotonic() + 10
        while admin.execute(f"SELECT count(*) FROM pg_stat_activity WHERE {others}").fetchone()[0]:
            assert time.monotonic() < deadline, "the backends did not end"
            time.sleep(0.05)

    response = api.post(url, json=lead(email="second@example.com"))
    assert response.status_code == 201, response.json
    db.session.expire_all()
    assert count(Lead) == 2
