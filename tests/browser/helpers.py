"""Helpers for the booth PWA's end-to-end tests: seeded data and small page steps.

"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.leads.models import Lead
from tests.factories import PASSWORD, make_event, make_office, make_user
from tests.live import CHROMIUM

requires_browser = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) or bool(os.environ.get("LEADRELAY_SKIP_BROWSER")),
    reason="Debian chromium is not installed (tests/run.py installs it)",
)

# Chromium logs every 4xx answer as a console error; the app probes /api/v1/me once
# on start to learn whether a session exists, and a signed-out probe answers 401.
EXPECTED_CONSOLE = re.compile(r"status of 401 \(UNAUTHORIZED\)", re.I)


@dataclass
class Booth:
    email: str
    password: str
    event_id: int
    event_name: str
    join_token: str
    visitor_token: str


def seed_booth() -> Booth:
    """Two offices, a Hannover event with questions, and a staff member on it (committed)."""
    make_office("BER")
    make_office("MUC")
    event = make_event(
        name="Hannover Messe",
        venue_city="Hannover",
        venue_country="DE",
        venue_latitude=52.3759,
        venue_longitude=9.7320,
        consent_text="We may contact you about our products.",
        questions=[
            {"id": "budget", "label": "Budget", "type": "choice", "options": ["<10k", ">10k"]},
            {"id": "demo", "label": "Wants a demo", "type": "yesno", "options": []},
        ],
    )
    user = make_user("staff", email="booth@example.com", name="Bea Booth")
    user.events.append(event)
    db.session.commit()
    return Booth(
        email=user.email,
        password=PASSWORD,
        event_id=event.id,
        event_name=event.name,
        join_token=event.join_token,
        visitor_token=event.visitor_token,
    )


def server_leads(event_id: int | None = None) -> list[Lead]:
    """Leads as the server stored them (a fresh transaction, so the server's writes show)."""
    db.session.rollback()
    query = select(Lead)
    if event_id is not None:
        query = query.where(Lead.event_id == event_id)
    leads = list(db.session.scalars(query))
    db.session.rollback()
    return leads


def wait_ready(page) -> None:
    page.wait_for_selector("html[data-ready='true']", timeout=15_000)


def sign_in(page, booth: Booth, path: str = "/app/") -> None:
    page.goto(path)
    wait_ready(page)
    signin = page.locator("#screen-signin")
    signin.get_by_label("Email").fill(booth.email)
    signin.get_by_label("Password").fill(booth.password)
    signin.get_by_role("button", name="Sign in").click()
    page.locator("#screen-capture").wait_for(state="visible")


def wait_for_service_worker(page) -> None:
    """Until the shell is precached and the worker controls the page."""
    page.wait_for_function(
        "navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)",
        timeout=15_000,
    )


def capture(page, n: int, *, prefix: str = "Visitor") -> None:
    """Type and save one lead (distinct email and name, so none merges with another)."""
    form = page.locator("#capture-form")
    form.get_by_label("First name").fill(f"{prefix}{n}")
    form.get_by_label("Last name").fill("Tester")
    form.get_by_label("Email").fill(f"{prefix.lower()}{n}@example.org")
    form.get_by_role("radio", name="Warm").check()
    form.get_by_role("button", name="Save lead").click()
    # Saved means: the form is cleared for the next visitor.
    page.wait_for_function("document.getElementById('f-first_name').value === ''")


def unsynced(page) -> str:
    return page.get_by_test_id("unsynced-count").inner_text()


def expect_unsynced(page, count: int, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "n => document.querySelector('[data-testid=unsynced-count]').textContent === String(n)",
        arg=count,
        timeout=timeout,
    )


def unexpected_console(messages: list[str]) -> list[str]:
    return [m for m in messages if not EXPECTED_CONSOLE.search(m)]
