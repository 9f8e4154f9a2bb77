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
    known_leads_portable,
    known_leads_postgresql,
)
from backend.db_types import utcnow
from backend.extensions import db
from backend.leads.models import Lead, MergedCapture
from backend.messaging.models import Message, Unsubscribe
from tests.conftest import requires_postgres
from tests.factories import make_event

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
