"""Serves the booth PWA from ``pwa/`` at ``/app/`` and the visitor form at ``/v/<token>``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, render_template, request, send_from_directory

from backend.auth.access import PUBLIC, roles_required
from backend.events.services import retired_token
from backend.security import CSP

# The booth app compiles its badge decoder (zxing-wasm, vendored) from WebAssembly:
# 'wasm-unsafe-eval' allows exactly that, not JavaScript eval.
APP_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"

bp = Blueprint("pwa", __name__)


def _send(path: str):
    if not (PWA_DIR / path).is_file():
        abort(404)
    response = send_from_directory(PWA_DIR, path, max_age=0)
    if path == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/app/"
        response.headers["Cache-Control"] = "no-cache"
    elif path.endswith(".webmanifest"):
        response.mimetype = "application/manifest+json"
    elif path.endswith(".wasm"):
        response.mimetype = "application/wasm"
    if path == "index.html":
        response.headers["Content-Security-Policy"] = APP_CSP
    return response


@bp.get("/app/")
@roles_required(PUBLIC)
def app_shell():
    """The booth app's page (it signs in through the API); an old staff QR code
    (``?join=`` with a replaced token) gets a page saying so."""
    if retired_token("join", request.args.get("join", "")) is not None:
        return render_template("events/code_replaced.html", kind="join"), 410
    return _send("index.html")


@bp.get("/app/<path:path>")
@roles_required(PUBLIC)
def app_file(path: str):
    """The booth app's static files."""
    return _send(path)


@bp.get("/v/<token>")
@roles_required(PUBLIC)
def visitor_form(token: str):
    """The visitor self-registration form opened from the booth's visitor QR code; an old
    code replaced by a new one gets a page saying so."""
    if retired_token("visitor", token) is not None:
        return render_template("events/code_replaced.html", kind="visitor"), 410
    return _send("visitor.html")
