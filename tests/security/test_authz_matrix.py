"""The authorisation matrix: every endpoint of the URL map × every role, allow or deny.

``TABLE`` classifies each endpoint (by name) with the requests to make and the roles
that may make them. An endpoint in the URL map that the table does not classify fails
``test_every_endpoint_and_method_is_classified``, so a new endpoint must be added here.

"Deny" is 401, 403 or 404 (404 for another office's lead or another event's data), a
redirect to the sign-in page (``/login?next=…``), or — for the office's HTML forms, which answer with a
redirect and a message — an error flash. "Allow" is anything else but a 5xx.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from backend.auth.access import PUBLIC
from backend.auth.models import User
from backend.auth.services import issue_reset
from backend.extensions import db
from backend.messaging.unsubscribe import unsubscribe_token
from tests.factories import PASSWORD
from tests.security.conftest import ROLES

ALL = frozenset(ROLES)
SIGNED_IN = ALL - {"anonymous"}
MARKETING = frozenset({"marketing", "admin"})
ADMIN = frozenset({"admin"})
CAPTURERS = frozenset({"staff", "marketing", "admin"})
WORKERS = frozenset({"rep", "manager"})  # of office A, whose lead it is
MANAGERS = frozenset({"manager", "admin"})
SALES = frozenset({"marketing", "admin", "manager", "rep", "rep_other"})
LEAD_READERS = frozenset({"staff", "rep", "manager", "marketing", "admin"})


@dataclass(frozen=True)
class Req:
    method: str
    url: Callable
    allowed: frozenset
    json: Callable | None = None
    form: Callable | None = None
    check: str = "status"  # "status" | "public" | "flash" | "sync"
    # A lead of office A: the rep of office B must get 404, not 403 (no existence leak).
    lead: bool = False


def lead_url(suffix: str = "") -> Callable:
    return lambda w: f"/api/v1/leads/{w.new_lead()}{suffix}"


def payload(w, **extra) -> dict:
    return {"client_id": str(uuid.uuid4()), "first_name": "Ivan", "email": "ivan@example.com",
            **extra}  # fmt: skip


def consent_link(w) -> str:
    """The double opt-in link of a fresh visitor-form capture of a new lead."""
    import hashlib
    import secrets

    from backend.extensions import db
    from backend.leads.models import MergedCapture

    token = secrets.token_urlsafe(16)
    db.session.add(MergedCapture(
        client_id=uuid.uuid4(), lead_id=w.new_lead(), kind="form", consent_text="ok",
        consent_token_hash=hashlib.sha256(token.encode()).hexdigest(),
    ))  # fmt: skip
    db.session.commit()
    return f"/consent/{token}"


E = "/api/v1/events/{}"


def spare_user(w, role: str = "staff") -> User:
    """A fresh user the request may change (deactivate, reset…) without touching the
    world's signed-in users."""
    user = User(email=f"spare.{uuid.uuid4().hex[:10]}@example.com", name="Spare", role=role)
    db.session.add(user)
    db.session.commit()
    return user


def spare_staff_of_other_event(w) -> int:
    user = spare_user(w)
    user.events.append(w.other_event)
    db.session.commit()
    return user.id


def reset_path(w) -> str:
    token = issue_reset(spare_user(w))
    db.session.commit()
    return f"/reset/{token}"


def attachment_url(w, kind: str = "voice") -> str:
    """A voice note (or another kind of file) on a fresh lead of office A."""
    from backend.attachments.models import Attachment
    from backend.attachments.storage import get_storage
    from backend.extensions import db

    lead_id = w.new_lead()
    key = f"{lead_id}/{uuid.uuid4()}.webm"
    get_storage().put(key, b"\x1a\x45\xdf\xa3webm")
    attachment = Attachment(client_id=uuid.uuid4(), lead_id=lead_id, kind=kind,
                            content_type="audio/webm", size_bytes=8, storage_key=key, card={})  # fmt: skip
    db.session.add(attachment)
    db.session.commit()
    return f"/api/v1/leads/{lead_id}/attachments/{attachment.id}"


TABLE: dict[str, list[Req]] = {
    # --- public --------------------------------------------------------------------
    "web.home": [Req("GET", lambda w: "/", ALL, check="public")],
    "web.login": [
        Req("GET", lambda w: "/login", ALL, check="public"),
        Req(
            "POST",
            lambda w: "/login",
            ALL,
            form=lambda w: {"email": "x@y.z", "password": "no"},
            check="public",
        ),
    ],  # fmt: skip
    "web.set_language": [
        Req("POST", lambda w: "/language", ALL, form=lambda w: {"language": "ru"}, check="public")
    ],
    "users.reset_password": [
        Req("GET", reset_path, ALL, check="public"),
        Req(
            "POST",
            reset_path,
            ALL,
            form=lambda w: {"password": "a", "confirm": "b"},
            check="public",
        ),
    ],  # fmt: skip
    "api.docs": [Req("GET", lambda w: "/api/docs", ALL)],
    "api.healthz": [Req("GET", lambda w: "/healthz", ALL)],
    "api.livez": [Req("GET", lambda w: "/livez", ALL)],
    "api.openapi": [Req("GET", lambda w: "/api/v1/openapi.json", ALL)],
    "auth_api.login": [
        Req(
            "POST",
            lambda w: "/api/v1/auth/login",
            ALL,
            json=lambda w: {"email": "marketing@example.com", "password": PASSWORD},
        ),
    ],  # fmt: skip
    "auth_api.logout": [Req("POST", lambda w: "/api/v1/auth/logout", ALL)],
    "events.public_event": [
        Req("GET", lambda w: f"/api/v1/public/visitor/{w.event.visitor_token}", ALL)
    ],
    "events.public_capture": [
        Req(
            "POST",
            lambda w: f"/api/v1/public/visitor/{w.event.visitor_token}/leads",
            ALL,
            json=lambda w: payload(w, consent={"contact": True}),
        ),
    ],  # fmt: skip
    "consent.confirm_link": [
        Req("GET", lambda w: consent_link(w), ALL),
        Req("POST", lambda w: consent_link(w), ALL),
    ],
    "messaging.unsubscribe_link": [
        Req("GET", lambda w: f"/u/{unsubscribe_token('gone@example.com')}", ALL),
        Req("POST", lambda w: f"/u/{unsubscribe_token('gone@example.com')}", ALL),
    ],
    "pwa.app_shell": [Req("GET", lambda w: "/app/", ALL)],
    "pwa.app_file": [Req("GET", lambda w: "/app/js/badge.js", ALL)],
    "pwa.visitor_form": [Req("GET", lambda w: f"/v/{w.event.visitor_token}", ALL)],
    "static": [Req("GET", lambda w: "/static/app.css", ALL)],
    # --- any signed-in user --------------------------------------------------------
    "web.logout": [Req("POST", lambda w: "/logout", SIGNED_IN)],
    "auth_api.me": [Req("GET", lambda w: "/api/v1/me", SIGNED_IN)],
    "events.list_events": [Req("GET", lambda w: "/api/v1/events", SIGNED_IN)],
    "events.get_event": [
        Req("GET", lambda w: E.format(w.event.id), SIGNED_IN - {"staff_other"}),
    ],
    "events.join": [
        Req(
            "POST",
            lambda w: "/api/v1/join",
            frozenset({"staff", "staff_other", *MARKETING}),
            json=lambda w: {"token": w.join_event.join_token},
        ),
    ],  # fmt: skip
    "leads.lead_detail": [Req("GET", lead_url(), LEAD_READERS, lead=True)],
    "attachments.upload": [
        Req("POST", lead_url("/attachments"), LEAD_READERS, form=lambda w: {}, lead=True)
    ],
    "attachments.list_attachments": [Req("GET", lead_url("/attachments"), LEAD_READERS, lead=True)],
    "attachments.download": [Req("GET", attachment_url, LEAD_READERS, lead=True)],
    "cards_office.confirm_card": [
        Req(
            "POST",
            lambda w: (
                attachment_url(w, "card_front")
                .replace("/api/v1/", "/office/", 1)
                .replace("/attachments/", "/cards/")
                + "/confirm"
            ),
            WORKERS,
            form=lambda w: {},
            check="flash",
            lead=True,
        )
    ],
    "cards.read_card": [
        Req("POST", lambda w: "/api/v1/cards/read", CAPTURERS | {"staff_other"}, form=lambda w: {})
    ],
    # --- capture -------------------------------------------------------------------
    "leads.capture_lead": [
        Req("POST", lambda w: E.format(w.event.id) + "/leads", CAPTURERS, json=payload)
    ],
    "leads.event_leads": [Req("GET", lambda w: E.format(w.event.id) + "/leads", CAPTURERS)],
    "leads.sync": [
        Req(
            "POST",
            lambda w: "/api/v1/sync",
            CAPTURERS,
            check="sync",
            json=lambda w: {"leads": [payload(w, event_id=w.event.id)]},
        ),
    ],  # fmt: skip
    # --- marketing -----------------------------------------------------------------
    "events.post_event": [
        Req("POST", lambda w: "/api/v1/events", MARKETING, json=lambda w: {"name": "Expo X"})
    ],
    "events.patch_event": [
        Req(
            "PATCH",
            lambda w: E.format(w.event.id),
            MARKETING,
            json=lambda w: {"name": "Expo E renamed"},
        ),
    ],  # fmt: skip
    "events.post_staff": [
        Req(
            "POST",
            lambda w: E.format(w.event.id) + "/staff",
            MARKETING,
            json=lambda w: {"user_id": w.users["staff"].id},
        ),
    ],  # fmt: skip
    "reports.event_report_api": [Req("GET", lambda w: E.format(w.event.id) + "/report", MARKETING)],
    "reports.export_csv": [Req("GET", lambda w: "/api/v1/export/leads.csv", MARKETING)],
    "reports.export_jsonl": [Req("GET", lambda w: "/api/v1/export/leads.jsonl", MARKETING)],
    "reports.plan_api": [
        Req("POST", lambda w: "/api/v1/plan", MARKETING, json=lambda w: {"revenue_target": 1e5})
    ],
    "reports.wins_api": [Req("GET", lambda w: "/api/v1/wins", SALES)],
    "routing.routing_preview": [
        Req(
            "POST",
            lambda w: "/api/v1/routing/preview",
            MARKETING,
            json=lambda w: {"city": "Moscow", "country": "RU"},
        ),
    ],  # fmt: skip
    "reports.dashboard": [Req("GET", lambda w: "/marketing", MARKETING)],
    "reports.league": [Req("GET", lambda w: "/league", SALES)],
    "reports.wins_page": [Req("GET", lambda w: "/wins", SALES)],
    "reports.event_report_page": [Req("GET", lambda w: f"/events/{w.event.id}/report", MARKETING)],
    "reports.event_new": [
        Req("GET", lambda w: "/events/new", MARKETING),
        Req("POST", lambda w: "/events/new", MARKETING, form=lambda w: {"name": ""}),
    ],
    "reports.event_edit": [
        Req("GET", lambda w: f"/events/{w.event.id}/edit", MARKETING),
        Req("POST", lambda w: f"/events/{w.event.id}/edit", MARKETING, form=lambda w: {"name": ""}),
    ],  # fmt: skip
    "reports.event_qr": [Req("GET", lambda w: f"/events/{w.event.id}/qr", MARKETING)],
    "attendees.api_upload": [Req("POST", lambda w: E.format(w.event.id) + "/attendees", MARKETING)],
    "attendees.api_list": [Req("GET", lambda w: E.format(w.event.id) + "/attendees", CAPTURERS)],
    "attendees.attendees_page": [
        Req("GET", lambda w: f"/events/{w.event.id}/attendees", MARKETING),
        Req("POST", lambda w: f"/events/{w.event.id}/attendees", MARKETING, form=lambda w: {}),
    ],
    "event_pages.rotate_qr": [
        Req("POST", lambda w: f"/events/{w.other_event.id}/qr/visitor/rotate", MARKETING)
    ],
    "event_pages.remove_staff_member": [
        Req(
            "POST",
            lambda w: f"/events/{w.other_event.id}/staff/{spare_staff_of_other_event(w)}/remove",
            MARKETING,
        ),
    ],  # fmt: skip
    "events.delete_staff": [
        Req(
            "DELETE",
            lambda w: E.format(w.other_event.id) + f"/staff/{spare_staff_of_other_event(w)}",
            MARKETING,
        ),
    ],  # fmt: skip
    "events.post_rotate_token": [
        Req("POST", lambda w: E.format(w.other_event.id) + "/tokens/join/rotate", MARKETING)
    ],
    "reports.event_qr_file": [Req("GET", lambda w: f"/events/{w.event.id}/qr/join.svg", MARKETING)],
    "reports.plan_page": [
        Req("GET", lambda w: "/plan", MARKETING),
        Req("POST", lambda w: "/plan", MARKETING, form=lambda w: {"revenue_target": "100000"}),
    ],
    # --- the office workspace ------------------------------------------------------
    "workspace.api_queue": [
        Req("GET", lambda w: "/api/v1/queue", SALES),
        Req("GET", lambda w: "/api/v1/queue?office=MOW", SALES - {"rep_other"}),
    ],
    "workspace.api_team": [Req("GET", lambda w: "/api/v1/office/team", MANAGERS)],
    "workspace.api_order": [
        Req(
            "PUT",
            lambda w: "/api/v1/offices/MOW/order",
            MANAGERS,
            json=lambda w: {"monthly_lead_order": 12},
        ),
    ],  # fmt: skip
    "workspace.api_claim": [Req("POST", lead_url("/claim"), WORKERS, lead=True)],
    "workspace.api_unclaim": [Req("POST", lead_url("/unclaim"), WORKERS, lead=True)],
    "workspace.api_touch": [
        Req("POST", lead_url("/touches"), WORKERS, json=lambda w: {"kind": "call"}, lead=True)
    ],
    "workspace.api_status": [
        Req("PATCH", lead_url(), WORKERS, json=lambda w: {"status": "contacted"}, lead=True)
    ],
    "workspace.api_handover": [
        Req(
            "POST",
            lead_url("/handover"),
            WORKERS,
            lead=True,
            json=lambda w: {"office_code": "SPB", "reason": "the client moved"},
        ),
    ],  # fmt: skip
    "workspace.api_contact": [
        Req(
            "PATCH",
            lead_url("/contact"),
            WORKERS | {"staff"},  # and the staff member who captured it (the booth app)
            json=lambda w: {"first_name": "Vanya"},
            lead=True,
        ),
    ],  # fmt: skip
    "workspace.api_feedback": [
        Req("POST", lead_url("/feedback"), WORKERS, json=lambda w: {"verdict": "good"}, lead=True)
    ],
    "telegram.profile": [Req("GET", lambda w: "/profile", SIGNED_IN)],
    "telegram.profile_notices": [
        Req("POST", lambda w: "/profile/notices", SIGNED_IN, form=lambda w: {"won": "none"})
    ],
    "telegram.profile_telegram": [
        Req("POST", lambda w: "/profile/telegram", SIGNED_IN, form=lambda w: {"action": "unlink"})
    ],
    # Telegram's updates (no bot in these tests: answered and ignored; the secret header is
    # checked in tests/workspace/test_telegram.py).
    "telegram.webhook": [
        Req(
            "POST",
            lambda w: "/telegram/webhook",
            ALL,
            json=lambda w: {"update_id": 1},
            check="public",
        )
    ],  # fmt: skip
    "workspace.api_reopen": [
        Req("POST", lead_url("/reopen"), WORKERS, json=lambda w: {"reason": "a mistake"}, lead=True)
    ],
    "workspace.api_assign": [
        Req(
            "POST",
            lead_url("/assign"),
            MANAGERS,
            lead=True,
            json=lambda w: {"user_id": w.users["rep"].id},
        ),
    ],  # fmt: skip
    "workspace.queue_page": [Req("GET", lambda w: "/office", SALES)],
    "workspace.lead_page": [
        Req("GET", lambda w: f"/office/leads/{w.new_lead()}", SALES - {"rep_other"}, lead=True)
    ],
    "workspace.lead_form_action": [
        Req(
            "POST",
            lambda w: f"/office/leads/{w.new_lead()}/claim",
            WORKERS,
            form=lambda w: {},
            check="flash",
            lead=True,
        ),
        Req(
            "POST",
            lambda w: f"/office/leads/{w.new_lead()}/assign",
            MANAGERS,
            check="flash",
            form=lambda w: {"user_id": str(w.users["rep"].id)},
            lead=True,
        ),
    ],  # fmt: skip
    "workspace.order_form": [
        Req(
            "POST",
            lambda w: "/office/order",
            MANAGERS,
            check="flash",
            form=lambda w: {"monthly_lead_order": "15"},
        ),
    ],  # fmt: skip
    # --- admin ---------------------------------------------------------------------
    "offices.office_list": [Req("GET", lambda w: "/admin/offices", MARKETING)],
    "offices.toggle_pause": [
        Req("POST", lambda w: "/admin/offices/SPB/pause", ADMIN, form=lambda w: {"paused": "0"})
    ],
    "messaging.outbox": [Req("GET", lambda w: "/admin/outbox", ADMIN)],
    "rates.rates_page": [Req("GET", lambda w: "/admin/rates", ADMIN)],
    "rates.rates_import": [Req("POST", lambda w: "/admin/rates/import", ADMIN)],
    "rates.reporting_currency_update": [
        Req(
            "POST",
            lambda w: "/admin/rates/currency",
            ADMIN,
            form=lambda w: {"reporting_currency": "RUB"},
        )
    ],
    "users.user_list": [Req("GET", lambda w: "/admin/users", ADMIN)],
    "users.user_create": [
        Req(
            "POST",
            lambda w: "/admin/users",
            ADMIN,
            form=lambda w: {"email": f"new.{uuid.uuid4().hex[:8]}@example.com", "role": "staff"},
        ),
    ],  # fmt: skip
    "users.user_role": [
        Req(
            "POST",
            lambda w: f"/admin/users/{spare_user(w).id}/role",
            ADMIN,
            form=lambda w: {"role": "marketing"},
        ),
    ],  # fmt: skip
    "users.user_deactivate": [
        Req("POST", lambda w: f"/admin/users/{spare_user(w).id}/deactivate", ADMIN)
    ],
    "users.user_reactivate": [
        Req("POST", lambda w: f"/admin/users/{spare_user(w).id}/reactivate", ADMIN)
    ],
    "users.user_reset": [Req("POST", lambda w: f"/admin/users/{spare_user(w).id}/reset", ADMIN)],
    "webhooks.webhook_list": [Req("GET", lambda w: "/admin/webhooks", ADMIN)],
    "webhooks.webhook_save": [
        Req(
            "POST",
            lambda w: "/admin/webhooks/SPB",
            ADMIN,
            form=lambda w: {"url": "", "format": "json"},
        )
    ],
    "webhooks.webhook_test": [Req("POST", lambda w: "/admin/webhooks/SPB/test", ADMIN)],
    "audit.audit_log": [Req("GET", lambda w: "/admin/audit", ADMIN)],
    "admin.settings": [
        Req("GET", lambda w: "/admin/settings", ADMIN),
        Req(
            "POST",
            lambda w: "/admin/settings",
            ADMIN,
            form=lambda w: {"site_url": "https://leads.example.com"},
        ),
    ],  # fmt: skip
    "privacy.export_person": [
        Req("GET", lambda w: "/api/v1/privacy/person?email=vera@example.com", ADMIN)
    ],
    "privacy.erase_person": [
        Req(
            "POST",
            lambda w: "/api/v1/privacy/erase",
            ADMIN,
            json=lambda w: {"email": "nobody@example.com"},
        ),
    ],  # fmt: skip
}


def _outcome(req: Req, response, client) -> str:
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if req.check == "public":
        return "deny" if status in (401, 403, 404) else "allow"
    if status in (401, 403, 404):
        return "deny"
    location = response.headers.get("Location", "")
    if status in (301, 302, 303) and "/login?next=" in location:
        return "deny"
    if req.check == "flash":
        with client.session_transaction() as session:
            flashes = session.get("_flashes", [])
        return "deny" if any(category == "error" for category, _ in flashes) else "allow"
    if req.check == "sync":
        results = response.get_json()["results"]
        return "deny" if any(r["status"] == "rejected" for r in results) else "allow"
    return "allow"


def _send(client_as, world, role: str, req: Req):
    client = client_as(role)
    kwargs = {"headers": {"X-Requested-With": "XMLHttpRequest"}}
    if req.json is not None:
        kwargs["json"] = req.json(world)
    if req.form is not None:
        kwargs["data"] = req.form(world)
    response = client.open(req.url(world), method=req.method, **kwargs)
    response.get_data()  # run a streamed body (the exports) to its end inside the request
    response.close()
    return client, response


def test_every_endpoint_and_method_is_classified(app):
    classified = {(name, req.method) for name, reqs in TABLE.items() for req in reqs}
    missing = sorted(
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (rule.endpoint, method) not in classified
    )
    assert not missing, f"classify these endpoints in TABLE: {missing}"
    stale = sorted(set(TABLE) - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert not stale, f"TABLE names endpoints that no longer exist: {stale}"


def test_every_view_declares_who_may_call_it(app):
    undeclared = sorted(
        name
        for name, view in app.view_functions.items()
        if name != "static" and not getattr(view, "allowed_roles", None)
    )
    assert not undeclared, f"views without roles_required: {undeclared}"


def test_every_endpoint_answers_each_role_as_the_table_says(app, world, client_as):
    mismatches = []
    for name, reqs in TABLE.items():
        for req in reqs:
            for role in ROLES:
                client, response = _send(client_as, world, role, req)
                got = _outcome(req, response, client)
                want = "allow" if role in req.allowed else "deny"
                if got != want:
                    mismatches.append(
                        f"{name} {req.method} as {role}: want {want}, got {got} "
                        f"({response.status_code} {response.get_data(as_text=True)[:120]!r})"
                    )
    assert not mismatches, "\n".join(mismatches)


def test_another_offices_lead_is_not_found_rather_than_forbidden(app, world, client_as):
    """A rep of office B learns nothing about office A's leads, not even that they exist."""
    for name, reqs in TABLE.items():
        # Where a rep may act at all, the only difference is the office: 404, not 403.
        for req in (r for r in reqs if r.lead and "rep" in r.allowed):
            _, response = _send(client_as, world, "rep_other", req)
            assert response.status_code == 404, (name, req.method, response.status_code)


def test_public_views_are_the_ones_the_table_opens_to_anonymous_visitors(app):
    public_views = {
        name for name, view in app.view_functions.items()
        if PUBLIC in getattr(view, "allowed_roles", ())
    }  # fmt: skip
    open_in_table = {
        name for name, reqs in TABLE.items() if all("anonymous" in r.allowed for r in reqs)
    }  # fmt: skip
    assert public_views == open_in_table - {"static"}
