"""The audit log: every sensitive action leaves an entry, and admins read them on a page."""

from __future__ import annotations

from datetime import timedelta

from backend.audit.models import AuditEntry
from backend.audit.services import record
from backend.db_types import utcnow
from backend.extensions import db
from tests.factories import PASSWORD
from tests.security.conftest import sign_in

XHR = {"X-Requested-With": "XMLHttpRequest"}


def actions() -> list[str]:
    db.session.expire_all()
    return db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)).all()


def test_sign_in_and_failed_sign_in_are_recorded_with_the_address(client, world):
    client.post("/api/v1/auth/login", json={"email": "rep@example.com", "password": "no"},
                headers=XHR)  # fmt: skip
    client.post("/api/v1/auth/login", json={"email": "rep@example.com", "password": PASSWORD},
                headers=XHR)  # fmt: skip
    entries = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action.like("auth.%")).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["auth.failed_sign_in", "auth.sign_in"]
    assert entries[0].detail == {"email": "rep@example.com"} and entries[0].user_id is None
    assert entries[1].user_id == world.users["rep"].id
    assert entries[1].ip == "127.0.0.1"


def test_export_erase_role_change_handover_assign_and_pause_are_recorded(client, runner, world):
    marketing = {"Authorization": f"Bearer {world.tokens['marketing']}"}
    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    assert client.get("/api/v1/export/leads.csv", headers=marketing).status_code == 200
    client.post("/api/v1/privacy/erase", json={"email": "x@example.com"}, headers=admin)
    client.get("/api/v1/privacy/person?phone=%2B79161234567", headers=admin)
    runner.invoke(args=["users", "role", "rep.other@example.com", "--role", "staff"])

    rep = {"Authorization": f"Bearer {world.tokens['rep']}"}
    lead_id = world.new_lead()
    client.post(f"/api/v1/leads/{lead_id}/handover", headers=rep,
                json={"office_code": "SPB", "reason": "the client moved"})  # fmt: skip
    manager = {"Authorization": f"Bearer {world.tokens['manager']}"}
    client.post(f"/api/v1/leads/{world.new_lead()}/assign", headers=manager,
                json={"user_id": world.users["rep"].id})  # fmt: skip
    sign_in(client, world.users["admin"])
    client.post("/admin/offices/SPB/pause", data={"paused": "1"}, headers=XHR)

    recorded = actions()
    for action in ("export", "privacy.erase", "privacy.export", "user.role_change",
                   "lead.handover", "lead.assigned", "office.pause"):  # fmt: skip
        assert action in recorded, (action, recorded)
    handover = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "lead.handover"))
    assert handover.target_id == str(lead_id) and handover.detail["to"] == "SPB"
    assert handover.user_id == world.users["rep"].id


def test_the_audit_page_lists_entries_newest_first_for_admins_only(client, world):
    start = utcnow() - timedelta(hours=1)
    for n in range(55):
        entry = record(f"test.action{n % 3}", detail={"n": n})
        entry.at = start + timedelta(seconds=n)
    db.session.commit()
    sign_in(client, world.users["marketing"])
    assert client.get("/admin/audit").status_code == 403

    sign_in(client, world.users["admin"])
    first = client.get("/admin/audit").get_data(as_text=True)
    assert "Audit log" in first and "Sign out" in first  # the site's layout
    assert first.index(_n(54)) < first.index(_n(53)) < first.index(_n(5))
    assert _n(4) not in first and "older" in first
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert _n(4) in second and _n(0) in second and "newer" in second
    narrowed = client.get("/admin/audit?action=test.action1").get_data(as_text=True)
    assert "test.action2</code>" not in narrowed and "test.action1</code>" in narrowed


def _n(n: int) -> str:
    return f"<dt>n</dt><dd>{n}</dd>"  # the detail as a readable list
