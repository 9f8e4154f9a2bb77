"""Absolute links that leave the browser (mails, QR codes, webhooks, Telegram).

The site's public URL is ``PUBLIC_BASE_URL`` when it is set. Otherwise it is the address
an admin or marketing user first signed in on, kept in the database and shown and
editable on the admin settings page (``/admin/settings``); ``make run`` fills in the
machine's LAN address until an admin types one. ``public_url`` is the one place that
turns a path into a link that works outside the browser.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from backend.admin.models import SiteSetting
from backend.extensions import db
from backend.process_cache import ProcessCache

# Used only while nothing is configured or stored (a worker sending before anyone signed in).
FALLBACK_URL = "http://localhost:8000"
SITE_URL_KEY = "site_url"
# Who, by signing in, tells the app its address: people at a desk who set the show up.
FIRST_VISIT_ROLES = ("admin", "marketing")
ADMIN, FIRST_VISIT, MAKE_RUN, ENVIRONMENT = "admin", "first_visit", "make_run", "environment"


def _load_stored() -> tuple[str, str] | None:
    row = db.session.get(SiteSetting, SITE_URL_KEY)
    return (row.value, row.source) if row is not None and row.value else None


# Read for every link of every mail; changed once or twice in an install's life.
_stored = ProcessCache("site_url", (SiteSetting,), _load_stored)


@dataclass(frozen=True)
class SiteUrl:
    url: str
    #: ENVIRONMENT, ADMIN, FIRST_VISIT, MAKE_RUN, or "" (nothing yet: the fallback).
    source: str

    @property
    def problem(self) -> str | None:
        return site_url_problem(self.url)


def site_url_info() -> SiteUrl:
    """The site's public URL and where it comes from."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return SiteUrl(configured.rstrip("/"), ENVIRONMENT)
    stored = _stored.get()
    if stored is not None:
        return SiteUrl(stored[0], stored[1])
    return SiteUrl(FALLBACK_URL, "")


def site_url() -> str:
    """The site's public URL, without a trailing slash."""
    return site_url_info().url


def public_url(path: str) -> str:
    """The absolute URL of ``path`` on the site's public address."""
    return site_url().rstrip("/") + "/" + path.lstrip("/")


def normalize_site_url(raw: str) -> str:
    """``scheme://host[:port][/path]`` without a trailing slash; raises ValueError (with
    a message for the admin) for anything a phone could not open."""
    raw = (raw or "").strip()
    if raw and "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError("not a web address") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("write it as https://name or http://address:port")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("no user name, query or # part, please")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def site_url_problem(url: str) -> str | None:
    """Why phones would fail with this address: ``"loopback"`` (they cannot reach it),
    ``"plain_http"`` (they reach it, but browsers run the booth app's offline part only
    over HTTPS), or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _is_loopback(host):
        return "loopback"
    if parts.scheme == "http":
        return "plain_http"
    return None


def set_site_url(url: str, source: str) -> SiteSetting:
    """Store the site's public URL (normalised; raises ValueError); the caller commits."""
    row = db.session.get(SiteSetting, SITE_URL_KEY)
    if row is None:
        row = SiteSetting(key=SITE_URL_KEY)
        db.session.add(row)
    row.value, row.source = normalize_site_url(url), source
    db.session.flush()
    return row


def offer_site_url(url: str, source: str) -> bool:
    """Store ``url`` unless an admin typed one (``make run``'s LAN address, which may
    change from show to show); returns True when stored. The caller commits."""
    row = db.session.get(SiteSetting, SITE_URL_KEY)
    if row is not None and row.value and row.source == ADMIN:
        return False
    set_site_url(url, source)
    return True


def remember_first_address(user) -> None:
    """An admin or marketing user signing in tells the app its address (when neither
    ``PUBLIC_BASE_URL`` nor a stored address says it): the sign-in views call it, so no
    page view (a GET) ever writes it. Flushes; the sign-in's request commits."""
    if current_app.config.get("PUBLIC_BASE_URL") or user.role not in FIRST_VISIT_ROLES:
        return
    if _stored.get() is not None:
        return
    try:
        with db.session.begin_nested():  # a refusal must not undo the sign-in itself
            set_site_url(request.host_url, FIRST_VISIT)
    except IntegrityError:  # another sign-in stored it first
        pass
    except ValueError:  # an address no phone could open (a raw IPv6 zone, say): not kept
        pass


def _banner() -> dict:
    """``site_url_banner`` for pages: the problem with the site URL, shown to admins."""
    if not has_request_context():
        return {}
    if not (current_user.is_authenticated and current_user.role == "admin"):
        return {}
    info = site_url_info()
    problem = info.problem
    return {"site_url_banner": {"problem": problem, "url": info.url}} if problem else {}


def init_links(app: Flask) -> None:
    app.context_processor(_banner)
