"""Admin pages a person reads: the Outbox in pages, audit details as a list, and the API
docs that explain bearer tokens and X-Requested-With before listing readable schemas."""

from __future__ import annotations

from backend.audit.services import record
from backend.extensions import db
from backend.messaging.models import Message
from tests.factories import make_user


def _admin(client, auth):
    admin = make_user("admin")
    db.session.commit()
    auth.login(admin.email)
    return admin


def test_the_outbox_comes_in_pages_of_25(client, auth):
    _admin(client, auth)
    for n in range(30):
        db.session.add(Message(key=f"test:{n}", kind="autoresponder", recipient=f"v{n}@example.com",
                               subject=f"Subject {n}", status="sent"))  # fmt: skip
    db.session.commit()
    first = client.get("/admin/outbox").get_data(as_text=True)
    assert first.count('<tr class="status-') == 25
    assert "page 1 of 2" in first and "Subject 29" in first and "Subject 4<" not in first
    second = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert second.count('<tr class="status-') == 5 and "page 2 of 2" in second


def test_audit_details_read_as_a_list_not_json(client, auth):
    admin = _admin(client, auth)
    record(
        "lead.handover", user=admin, detail={"to": "SPB", "reasons": ["busy", "far"], "note": None}
    )
    db.session.commit()
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<dt>to</dt><dd>SPB</dd>" in html
    assert "<dt>reasons</dt><dd>busy, far</dd>" in html
    assert "{&#34;" not in html and '{"to"' not in html


def test_the_api_docs_explain_authentication_first_and_show_schemas_as_tables(client):
    html = client.get("/api/docs").get_data(as_text=True)
    first_operation = html.index("<h3><code>")
    for words in ("Authorization: Bearer &lt;token&gt;", "X-Requested-With: XMLHttpRequest",
                  "leadrelay tokens create EMAIL"):  # fmt: skip
        assert html.index(words) < first_operation
    assert 'id="schema-LeadIn"' in html and '<table class="schema">' in html
    assert '"properties"' not in html and "&#34;properties&#34;" not in html
    assert 'href="#schema-EventIn"' in html  # a body links to its schema
