"""Reading never writes: every GET page and API call of the URL map, walked by each role
over the demo's data, changes no row.

Under TESTING a GET that executes an INSERT, UPDATE or DELETE raises ``ReadRequestWrote``
(``backend.transaction``), so a writing page fails the walk with its statement. The walk
also counts the rows of every table before and after: only the audit entries of the
reads of personal data (exports), written apart from the read, may be new.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

import pytest
from sqlalchemy import func, select

from backend.attachments.models import Attachment
from backend.attachments.storage import get_storage
from backend.audit.models import AuditEntry
from backend.auth.access import ANY_SIGNED_IN, PUBLIC
from backend.auth.services import issue_reset
from backend.demo import DEMO_PASSWORD, USERS, load_demo
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead, MergedCapture
from backend.messaging.unsubscribe import unsubscribe_token
from backend.reports import queries
from backend.transaction import commit
from tests.factories import make_user

ROLES = ("admin", "marketing", "office_manager", "office_rep", "staff")  # staff: the booth
# Files served from disk; they never open the database.
NOT_WALKED = {"static"}
# Reads of personal data: each leaves one audit entry, written apart from the read.
AUDITED_READS = {
    "reports.export_csv": "export",
    "reports.export_jsonl": "export",
    "privacy.export_person": "privacy.export",
}


def seed() -> dict:
    """The demo, plus what the token links need; returns the values of the URL arguments."""
    load_demo()
    commit()
    event = db.session.scalar(select(Event).where(Event.name == "Mashex 2026"))
    lead = db.session.scalar(
        select(Lead).where(Lead.event_id == event.id, Lead.office.has(code="MOW")).limit(1)
    )
    key = f"{lead.id}/{uuid.uuid4()}.webm"
    get_storage().put(key, b"\x1a\x45\xdf\xa3webm")
    attachment = Attachment(client_id=uuid.uuid4(), lead_id=lead.id, kind="voice",
                            content_type="audio/webm", size_bytes=8, storage_key=key, card={})  # fmt: skip
    consent = secrets.token_urlsafe(16)
    db.session.add_all([
        attachment,
        MergedCapture(client_id=uuid.uuid4(), lead_id=lead.id, kind="form", consent_text="ok",
                      consent_token_hash=hashlib.sha256(consent.encode()).hexdigest()),
    ])  # fmt: skip
    reset = issue_reset(make_user("staff"))  # a user of its own: a reset ends sessions
    commit()
    # Fresh captures: the rollup is stale, so the dashboards compute it from the leads.
    assert queries.stale_event_ids()
    return {
        "event_id": event.id,
        "lead_id": lead.id,
        "attachment_id": attachment.id,
        "kind": "visitor",
        "fmt": "png",
        "path": "manifest.webmanifest",
        "tokens": {
            "events.public_event": event.visitor_token,
            "pwa.visitor_form": event.visitor_token,
            "consent.confirm_link": consent,
            "users.reset_password": reset,
            "messaging.unsubscribe_link": unsubscribe_token(lead.email),
        },
        "query": {
            "privacy.export_person": f"?email={lead.email}",
            "reports.dashboard": f"?day_event={event.id}",
            "reports.export_csv": f"?event_id={event.id}",
        },
    }


def pages(app, role: str, values: dict) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET the role may make, arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_WALKED:
            continue
        allowed = getattr(app.view_functions[rule.endpoint], "allowed_roles", ())
        if not ({role, PUBLIC, ANY_SIGNED_IN} & set(allowed)):
            continue
        args = {name: values[name] for name in rule.arguments if name != "token"}
        if "token" in rule.arguments:
            args["token"] = values["tokens"][rule.endpoint]
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **args)
        found.append((rule.endpoint, url + values["query"].get(rule.endpoint, "")))
    return sorted(found)


def row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def audit_actions_after(last_id: int) -> list[str]:
    return sorted(db.session.scalars(select(AuditEntry.action).where(AuditEntry.id > last_id)))


@pytest.mark.parametrize("role", ROLES)
def test_every_get_a_role_may_make_answers_without_writing(app, client, role):
    values = seed()
    email = next(email for r, email, _, _ in USERS if r == role)
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    signed_in = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302
    walk = pages(app, role, values)
    assert len(walk) >= 12, walk
    before = row_counts()
    last_audit = db.session.scalar(select(func.max(AuditEntry.id)))

    for endpoint, url in walk:
        response = client.get(url)  # raises ReadRequestWrote for a read that wrote
        response.get_data()  # a streamed export runs to its end
        assert response.status_code < 400, (endpoint, url, response.status_code)

    expected = sorted(AUDITED_READS[e] for e, _ in walk if e in AUDITED_READS)
    assert audit_actions_after(last_audit) == expected
    after = row_counts()
    after["audit_entry"] -= len(expected)
    assert after == before
