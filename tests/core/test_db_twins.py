"""Each PostgreSQL statement and its portable twin (``backend/db_bulk.py``) give the same
answer: both run here on PostgreSQL with the same inputs."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from backend.db_bulk import (
    in_values_portable,
    in_values_postgresql,
    insert_rows_portable,
    insert_rows_postgresql,
    insert_rows_together_portable,
    insert_rows_together_postgresql,
    known_leads_portable,
    known_leads_postgresql,
)
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead, MergedCapture, RoutingDecision
from backend.messaging.models import Message, Unsubscribe
from tests.conftest import requires_postgres
from tests.factories import make_event, make_office

pytestmark = requires_postgres


def _lead_row(event_id: int, n: int, **fields) -> dict:
    now = utcnow()
    return {
        "client_id": uuid.uuid4(),
        "event_id": event_id,
        "first_name": f"Visitor {n}",
        "email": f"v{n}@example.com",
        "email_normalized": f"v{n}@example.com",
        "phone_normalized": f"+7900000{n:04d}",
        "captured_at": now,
        "received_at": now,
        "updated_at": now,
        "flags": ["bad_phone"] if n % 2 else [],
        "answers": {"q1": ["a", "b"], "note": "Ünïcødé ✓"},
        "original": {"n": n},
        "status": "new",
        **fields,
    }


def _stored(ids: list[int]) -> list[dict]:
    leads = db.session.scalars(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id)).all()
    keep = ("first_name", "email", "flags", "answers", "original", "status", "captured_at")
    return [{name: getattr(lead, name) for name in keep} for lead in leads]


def test_both_bulk_inserts_store_and_return_the_same_rows(app):
    event = make_event()
    rows = [_lead_row(event.id, n) for n in range(5)]
    twin_rows = [{**row, "client_id": uuid.uuid4()} for row in rows]

    pg = insert_rows_postgresql(Lead.__table__, rows, ("client_id", "id"), ())
    portable = insert_rows_portable(Lead.__table__, twin_rows, ("client_id", "id"), ())

    assert [client_id for client_id, _ in pg] == [row["client_id"] for row in rows]
    assert [client_id for client_id, _ in portable] == [row["client_id"] for row in twin_rows]
    assert _stored([i for _, i in pg]) == _stored([i for _, i in portable])


def test_both_bulk_inserts_skip_existing_keys_alike(app):
    now = utcnow()

    def messages(prefix):
        return [{"key": f"{prefix}:{n}", "kind": "office_notice", "recipient": "a@example.com",
                 "payload": {"n": n}, "created_at": now} for n in range(3)]  # fmt: skip

    for prefix, twin in (("pg", insert_rows_postgresql), ("portable", insert_rows_portable)):
        first = twin(Message.__table__, messages(prefix)[:2], ("key",), ("key",))
        again = twin(Message.__table__, messages(prefix), ("key",), ("key",))
        assert sorted(first) == [(f"{prefix}:0",), (f"{prefix}:1",)]
        assert again == [(f"{prefix}:2",)]
    stored = db.session.execute(select(Message.key, Message.payload, Message.status)).all()
    by_twin = {
        prefix: sorted((k.split(":")[1], p, s) for k, p, s in stored if k.startswith(prefix))
        for prefix in ("pg", "portable")
    }
    assert by_twin["pg"] == by_twin["portable"]
    assert len(by_twin["pg"]) == 3


def test_both_lookups_of_known_leads_find_the_same_rows(app):
    event, other = make_event(), make_event(name="Other")
    ids = {
        client_id: lead_id
        for client_id, lead_id in insert_rows_postgresql(
            Lead.__table__,
            [_lead_row(event.id, n) for n in range(4)] + [_lead_row(other.id, 9)],
            ("client_id", "id"),
            (),
        )
    }
    first_client, first_id = next(iter(ids.items()))
    merged_client = uuid.uuid4()
    db.session.add(MergedCapture(client_id=merged_client, lead_id=first_id, payload={}))
    db.session.add(Unsubscribe(email="v2@example.com"))
    db.session.flush()

    inputs = (
        [first_client, merged_client, uuid.uuid4()],
        [(event.id, "v1@example.com"), (event.id, "v2@example.com"), (event.id, "v9@example.com"),
         (other.id, "v9@example.com")],
        [(event.id, "+79000000003"), (other.id, "+79000000003")],
    )  # fmt: skip
    pg = known_leads_postgresql(*inputs)
    portable = known_leads_portable(*inputs)

    def key(row):
        return tuple("" if v is None else str(v) for v in row)

    assert sorted(pg, key=key) == sorted(portable, key=key)
    kinds = sorted(row[0] for row in pg)
    # Two client ids known (the lead's and its merged capture's); v1, v2 and the phone of
    # lead 3 in the event, v9 in the other event; v2 unsubscribed.
    assert kinds == ["person"] * 4 + ["unsubscribed"] + ["uuid"] * 2


def test_both_forms_of_an_in_list_select_the_same_rows(app):
    event = make_event()
    ids = [i for (i,) in insert_rows_postgresql(
        Lead.__table__, [_lead_row(event.id, n) for n in range(6)], ("id",), ())]  # fmt: skip
    wanted = ids[1::2] + [10**9]
    query = select(Lead.id).order_by(Lead.id)
    pg = db.session.scalars(query.where(in_values_postgresql(Lead.id, wanted))).all()
    portable = db.session.scalars(query.where(in_values_portable(Lead.id, wanted))).all()
    assert pg == portable == ids[1::2]


def test_the_lookup_of_one_lead_finds_what_the_batch_lookup_finds_and_reserves_ids_for_new_ones(
    app,
):
    """The single-lead endpoint's plain-parameter form and the array form answer alike;
    an id is reserved only for a client id nothing stored has yet."""
    event = make_event()
    [(stored_client, stored_id)] = insert_rows_postgresql(
        Lead.__table__, [_lead_row(event.id, 1)], ("client_id", "id"), ()
    )
    db.session.add(Unsubscribe(email="v1@example.com"))
    db.session.flush()
    contacts = ([(event.id, "v1@example.com")], [(event.id, "+79000000001")])

    def key(row):
        return tuple("" if v is None else str(v) for v in row)

    for client_id in (stored_client, uuid.uuid4()):
        one = known_leads_postgresql([client_id], *contacts, reserve_ids=True)
        batch = known_leads_postgresql([client_id, uuid.uuid4()], *contacts)  # the array form
        portable = known_leads_portable([client_id], *contacts)
        # (A lead found by both e-mail and phone is one row in the portable twin's OR.)
        found = {key(r) for r in one if r[0] != "new_id"}
        assert found == {key(r) for r in batch if r[0] != "new_id"} == {key(r) for r in portable}
        reserved = [r for r in one if r[0] == "new_id"]
        if client_id == stored_client:
            assert reserved == [] and ("uuid", str(stored_id)) in [r[:2] for r in found]
        else:
            assert [r[2] for r in reserved] == [client_id] and reserved[0][1] > stored_id
    assert not [r for r in known_leads_portable([uuid.uuid4()], [], [], True) if r[0] == "new_id"]


def test_both_inserts_of_related_rows_store_the_same_rows_and_return_the_last_groups_columns(app):
    """A lead, its routing decision and its follow-up: one statement on PostgreSQL, one
    insert per table in the portable twin; the rows stored are the same."""
    event, office = make_event(), make_office("MOW")
    row = _lead_row(event.id, 7)
    results = {}
    for name, twin in (("pg", insert_rows_together_postgresql),
                       ("portable", insert_rows_together_portable)):  # fmt: skip
        [(lead_id,)] = db.session.execute(
            select(db.func.coalesce(db.func.max(Lead.id), 0) + 1000)
        ).all()
        lead = {**row, "client_id": uuid.uuid4(), "id": lead_id}
        decision = {"lead_id": lead_id, "office_id": office.id, "method": "nearest",
                    "reason": "nearest office", "at": utcnow()}  # fmt: skip
        message = {"key": f"{name}:lead:{lead_id}", "kind": "office_notice",
                   "recipient": "a@example.com", "lead_id": lead_id, "payload": {"n": 1}}  # fmt: skip
        groups = [
            (Lead.__table__, [lead]),
            (RoutingDecision.__table__, [decision]),
            (Message.__table__, [message]),
        ]
        returned = twin(groups, ("key", "channel"))
        assert returned == [(f"{name}:lead:{lead_id}", "email")]
        results[name] = (
            _stored([lead_id]),
            db.session.execute(
                select(RoutingDecision.method, RoutingDecision.reason).where(
                    RoutingDecision.lead_id == lead_id
                )
            ).all(),
            db.session.execute(
                select(Message.kind, Message.payload).where(Message.lead_id == lead_id)
            ).all(),
        )
    assert results["pg"] == results["portable"]
    assert results["pg"][1] == [("nearest", "nearest office")]


def test_both_forms_of_rows_as_a_table_read_back_the_same_rows_and_types(app):
    """The rollup rows a view computes once: read back through either twin, with the
    stored table's types (an INTEGER count sums to an int, a date stays a date)."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import func

    from backend.db_bulk import rows_as_table_portable, rows_as_table_postgresql
    from backend.reports.models import EventOfficeStats, EventOfficeWonDay

    event, office = make_event(), make_office("MOW")
    now = utcnow()
    counts = {name: 0 for name in ("leads", "contacted", "qualified", "won", "lost", "stale",
              "escalated", "routed", "within_sla", "touched", "bucket_0", "bucket_1",
              "bucket_2", "bucket_3", "bucket_4", "won_valued", "pipeline_deals")}  # fmt: skip
    stats = [
        {**counts, "event_id": event.id, "office_id": office.id, "deal_currency": None,
         "sla_hours": 24, "leads": 3, "touched": 2, "touch_minutes": Decimal("12.345678"),
         "touch_minutes_sq": Decimal("100.000001"), "revenue_won": Decimal("1500.50"),
         "won_valued": 1, "pipeline_value": Decimal("0"), "covers_until": now},
        {**counts, "event_id": event.id, "office_id": None, "deal_currency": "USD",
         "sla_hours": None, "leads": 1, "touch_minutes": Decimal("0"),
         "touch_minutes_sq": Decimal("0"), "revenue_won": Decimal("0"),
         "pipeline_value": Decimal("99.99"), "pipeline_deals": 1, "covers_until": now},
    ]  # fmt: skip
    days = [{"event_id": event.id, "office_id": office.id, "deal_currency": "EUR",
             "won_on": date(2026, 3, 1), "revenue": Decimal("1500.50"), "deals": 1}]  # fmt: skip
    tables = ((EventOfficeStats.__table__, stats, "leads"),
              (EventOfficeWonDay.__table__, days, "deals"))  # fmt: skip
    for table, rows, count in tables:
        read = {}
        for name, twin in (("pg", rows_as_table_postgresql), ("portable", rows_as_table_portable)):
            found = twin(table, rows).subquery()
            none = twin(table, []).subquery()
            read[name] = (
                sorted(
                    (dict(row) for row in db.session.execute(select(found)).mappings()),
                    key=lambda row: row["office_id"] or 0,
                ),
                db.session.execute(select(func.sum(found.c[count]))).scalar(),
                db.session.execute(select(func.count()).select_from(none)).scalar(),
            )
        assert read["pg"] == read["portable"]
        rows_read, summed, empty = read["pg"]
        assert rows_read == sorted(rows, key=lambda row: row["office_id"] or 0)
        assert summed == sum(row[count] for row in rows) and isinstance(summed, int)
        assert empty == 0
