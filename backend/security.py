"""Response headers every page and API reply carries."""

from __future__ import annotations

from flask import Flask, g, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


# Every reply carries these (lower-cased name, name, value), unless its view set its own.
HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    )
)

# Replies of these kinds can carry a person's data; images, scripts and styles cannot.
PERSONAL_MIMETYPES = {
    "text/html", "application/json", "text/csv", "application/x-ndjson", "text/plain",
}  # fmt: skip
# Public pages that show someone's address or consent without a sign-in.
PUBLIC_PERSONAL_ENDPOINTS = {"messaging.unsubscribe_link", "consent.confirm_link"}


def may_hold_personal_data(response) -> bool:
    """A page or API reply to a signed-in user (session or token), or a public page that
    names someone: no browser, proxy or shared cache may keep it."""
    if response.mimetype not in PERSONAL_MIMETYPES:
        return False
    if request.endpoint in PUBLIC_PERSONAL_ENDPOINTS:
        return True
    # Only a user the request already loaded: a reply that never looked at who asks
    # (the health checks, the PWA shell) shows nobody's data, and costs no extra query.
    # ``is_anonymous`` reads no column: after the request's commit the user's columns are
    # expired, and ``is_authenticated`` would load them again.
    user = g.get("_login_user")
    return bool(user is not None and not user.is_anonymous)


def init_security(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        # Each header unless the view set its own: one look at the names the reply has
        # (``Headers.setdefault`` raised and caught a KeyError per missing header).
        headers = response.headers
        present = set(headers.keys(lower=True))
        for lower, name, value in HEADERS:
            if lower not in present:
                headers.add(name, value)
        if "cache-control" not in present and may_hold_personal_data(response):
            headers.add("Cache-Control", "no-store")
        return response
