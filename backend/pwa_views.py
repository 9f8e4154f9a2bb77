"""Serves the booth PWA from ``pwa/`` at ``/app/`` and the visitor form at ``/v/<token>``.

The service worker (``sw.js``) is served with its cache ``VERSION`` replaced by a hash of
the files it caches, so changing any shell file renames the cache and phones fetch the
new shell; nobody bumps a version by hand. The list of files is the one in ``sw.js``: the
arrays its install handler spreads into ``cache.addAll([...])``. The hash is computed
once per process (restart the server after editing a shell file). ``PWA_DIR`` in the app
config points at another copy of ``pwa/`` (tests use a temporary one).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
)

from backend.auth.access import PUBLIC, roles_required
from backend.events.services import retired_token
from backend.security import CSP

# The booth app compiles its badge decoder (zxing-wasm, vendored) from WebAssembly:
# 'wasm-unsafe-eval' allows exactly that, not JavaScript eval.
APP_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"

bp = Blueprint("pwa", __name__)

_VERSION_LINE = re.compile(r"^const VERSION = '[^'\n]*';$", re.M)
_ARRAY = re.compile(r"^const (\w+) = \[(.*?)\];", re.M | re.S)
_INSTALL = re.compile(r"cache\.addAll\(\s*\[([^\]]*)\]")
_URL = re.compile(r"'(/app/[^']*)'")


def pwa_dir() -> Path:
    return Path(current_app.config.get("PWA_DIR") or PWA_DIR)


def shell_urls(source: str) -> list[str]:
    """The URLs the service worker caches at install, read from its source: the arrays
    spread into ``cache.addAll([...SHELL, ...])``, in that order."""
    arrays = {name: _URL.findall(body) for name, body in _ARRAY.findall(source)}
    install = _INSTALL.search(source)
    names = re.findall(r"\.\.\.(\w+)", install.group(1)) if install else []
    if not names or any(name not in arrays for name in names):
        raise RuntimeError("sw.js: no cache.addAll([...ARRAY, ...]) over const arrays")
    return [url for name in names for url in arrays[name]]


def shell_file(folder: Path, url: str) -> Path:
    """The file behind a shell URL (``/app/`` is ``index.html``)."""
    relative = url.removeprefix("/app/") or "index.html"
    return folder / relative


@functools.cache
def served_service_worker(folder: Path) -> tuple[str, str]:
    """``(version, sw.js with that version)``: the version is ``v`` and the first 16 hex
    digits of a SHA-256 over each cached URL (sorted), its file's size and its bytes."""
    source = (folder / "sw.js").read_text(encoding="utf-8")
    digest = hashlib.sha256()
    for url in sorted(set(shell_urls(source))):
        data = shell_file(folder, url).read_bytes()
        digest.update(f"{url}\n{len(data)}\n".encode())
        digest.update(data)
    version = f"v{digest.hexdigest()[:16]}"
    served, count = _VERSION_LINE.subn(f"const VERSION = '{version}';", source)
    if count != 1:
        raise RuntimeError("sw.js: expected exactly one line  const VERSION = '...';")
    return version, served


def _service_worker():
    _version, source = served_service_worker(pwa_dir().resolve())
    response = Response(source, mimetype="text/javascript")
    response.add_etag()  # of the served text: sw.js itself may change without the shell
    response.headers["Service-Worker-Allowed"] = "/app/"
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _send(path: str):
    if path == "sw.js":
        return _service_worker()
    folder = pwa_dir()
    if not (folder / path).is_file():
        abort(404)
    response = send_from_directory(folder, path, max_age=0)
    if path.endswith(".webmanifest"):
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
