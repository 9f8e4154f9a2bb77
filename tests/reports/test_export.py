"""Streaming lead export: CRM-friendly CSV and JSON lines, recorded in the audit log."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.reports.export import safe_cell


def test_the_csv_export_streams_crm_columns_for_an_events_leads(hand_event, marketing, api):
    response = api.get(f"/api/v1/export/leads.csv?event_id={hand_event.event.id}")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 40
    for column in ("First Name", "Last Name", "Email", "Phone", "Company", "Title", "City",
                   "Country", "Lead Source", "Rating", "Status", "Owner Office", "Consent"):  # fmt: skip
        assert column in rows[0]
    first = rows[0]
    assert (first["First Name"], first["Email"], first["Lead Source"]) == (
        "First0",
        "visitor0@example.com",
        "Hand Expo",
    )
    assert (first["Status"], first["Rating"], first["Owner Office"], first["Consent"]) == (
        "won",
        "hot",
        "Moscow office",
        "No",
    )


def test_the_export_filters_by_status_and_is_audited(hand_event, marketing, api):
    response = api.get("/api/v1/export/leads.csv?status=won,lost")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["Status"] for r in rows) == ["lost", "won", "won", "won"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
    assert entry is not None and entry.user_id == marketing.id
    assert entry.detail["filters"]["status"] == ["won", "lost"]


def test_an_unknown_status_filter_is_refused(app, marketing, api):
    assert api.get("/api/v1/export/leads.csv?status=bogus").status_code == 422


def test_the_json_lines_export_has_one_lead_per_line(hand_event, marketing, api):
    response = api.get("/api/v1/export/leads.jsonl?rating=hot")
    lines = response.get_data(as_text=True).strip().split("\n")
    assert len(lines) == 14
    lead = json.loads(lines[0])
    assert lead["event_name"] == "Hand Expo" and lead["deal_value"] == "12000.00"


def test_formula_like_cells_are_defused_but_phone_numbers_are_kept():
    assert safe_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert safe_cell("+49 30 1234-56") == "+49 30 1234-56"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell(True) == "Yes"


def test_staff_may_not_export(hand_event, auth, api):
    from tests.factories import make_user

    user = make_user("staff")
    db.session.commit()
    auth.login(user.email)
    assert api.get("/api/v1/export/leads.csv").status_code == 403
