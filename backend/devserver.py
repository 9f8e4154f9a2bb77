"""``make run``: migrate, load the demo, start web + worker + cron, print how to get in.

One Ctrl-C stops everything. With no REDIS_URL the embedded Redis is started here, once,
and handed to the children, so web, worker and cron share it.

The machine's LAN address (the one its default route uses) becomes the site's public
URL until an admin sets one, so the QR codes the app prints open on a phone on the same
Wi-Fi. Request logs are off (``REQUEST_LOG=1`` turns them on); errors are still shown.
``TLS_CERT`` and ``TLS_KEY`` (files, e.g. made by mkcert) serve HTTPS, which the booth
app's offline part needs on a phone.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import qrcode

from backend import create_app
from backend.extensions import db

PORT = int(os.environ.get("PORT", "8000"))
# Any public address will do: "connecting" a UDP socket only picks the route, no packet
# is sent. An IPv6 one for machines with no IPv4 default route.
PROBES = (("1.1.1.1", socket.AF_INET), ("2606:4700:4700::1111", socket.AF_INET6))
STARTUP_TIMEOUT = 30


def lan_address() -> str | None:
    """The address this machine's default route uses (what phones on its Wi-Fi reach),
    or None when it has none but loopback."""
    for probe, family in PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                address = sock.getsockname()[0]
        except OSError:
            continue
        if _reachable(address):
            return address
    # No default route (a laptop on a Wi-Fi with no internet): what the name resolves to.
    try:
        _, _, addresses = socket.gethostbyname_ex(socket.gethostname())
    except OSError:
        addresses = []
    return next((a for a in addresses if _reachable(a)), None)


def _reachable(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local)


def base_url(address: str | None, tls: bool) -> str:
    host = address or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{PORT}"


def prepare(app, site: str) -> tuple[list, str | None, str]:
    """Migrate, load the demo and offer ``site`` as the public URL; returns the logins,
    the demo booth's join token and the public URL in force."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from backend.demo import load_demo
    from backend.events.models import Event
    from backend.links import MAKE_RUN, offer_site_url, site_url
    from backend.transaction import commit

    with app.app_context():
        upgrade()
        logins = load_demo()
        if not app.config.get("PUBLIC_BASE_URL"):
            offer_site_url(site, MAKE_RUN)
        commit()
        token = db.session.scalar(select(Event.join_token).where(Event.name == "Innoprom 2026"))
        return logins, token, site_url()


def print_welcome(logins, join_token: str | None, public: str, tls: bool) -> None:
    scheme = "https" if tls else "http"
    print("\nLeadRelay is running.")
    print(f"  on this computer: {scheme}://127.0.0.1:{PORT}/")
    print(f"  from phones:      {public}/")
    print(f"  booth app: {public}/app/   API docs: {public}/api/docs")
    if not tls:
        print(
            "  (plain HTTP: the booth app works on phones, but not offline; see README, 'A show on a laptop')"
        )
    print("\nDemo logins:")
    for role, email, password in logins:
        print(f"  {role:<15} {email:<28} {password}")
    if join_token:
        url = f"{public}/app/?join={join_token}"
        print(f"\nScan to open the booth app on a phone on this network ({url}):")
        code = qrcode.QRCode(border=1)
        code.add_data(url)
        code.print_ascii(invert=True)
    print("Ctrl-C stops web, worker and cron.\n", flush=True)


def wait_until_up(url: str, children: dict) -> bool:
    """Wait for the web server to answer (and the others to have started)."""
    import ssl

    context = ssl._create_unverified_context()  # a local certificate, checked by no one here
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1, context=context):
                time.sleep(0.5)  # the worker and cron print their start-up lines meanwhile
                return True
        except OSError:
            time.sleep(0.2)
    return False


def commands(tls: tuple[str, str] | None) -> dict[str, list[str]]:
    python = sys.executable
    web = [python, "-m", "gunicorn", "backend.wsgi:app", "--bind", f"0.0.0.0:{PORT}",
           "--workers", "2", "--threads", "4", "--preload", "--log-level", "warning"]  # fmt: skip
    if os.environ.get("REQUEST_LOG", "").lower() in ("1", "true", "yes", "on"):
        web += ["--access-logfile", "-"]
    if tls:
        web += ["--certfile", tls[0], "--keyfile", tls[1]]
    return {
        "web": web,
        "worker": [python, "-m", "backend.cli", "worker"],
        "cron": [python, "-m", "backend.cli", "cron"],
    }


def stop(children: dict) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def run() -> int:
    from backend.i18n import compile_catalogs

    compile_catalogs()
    app = create_app()
    env = dict(os.environ)
    env.setdefault("LEADRELAY_INSTANCE", app.instance_path)
    env.setdefault("LOG_LEVEL", "WARNING")
    if not app.config.get("REDIS_URL"):
        from backend.redis_conn import _embedded_socket

        env["REDIS_URL"] = "unix://" + _embedded_socket(app.config["EMBEDDED_REDIS_PATH"])
    cert, key = os.environ.get("TLS_CERT"), os.environ.get("TLS_KEY")
    tls = (cert, key) if cert and key else None
    logins, join_token, public = prepare(app, base_url(lan_address(), bool(tls)))

    children: dict[str, subprocess.Popen] = {}
    try:
        # Their own process group: the terminal's Ctrl-C reaches only this process, which
        # stops them in order (and no child prints a traceback of its own).
        for name, cmd in commands(tls).items():
            children[name] = subprocess.Popen(cmd, env=env, process_group=0)
        scheme = "https" if tls else "http"
        if not wait_until_up(f"{scheme}://127.0.0.1:{PORT}/livez", children):
            print("LeadRelay did not start; see the errors above.", file=sys.stderr)
            return 1
        print_welcome(logins, join_token, public, bool(tls))
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    print(
                        f"{name} exited with {child.returncode}; stopping the rest", file=sys.stderr
                    )
                    return 1
            time.sleep(1)
    finally:
        stop(children)


def main() -> int:
    # Ctrl-C stops everything, even when started from a shell that ignores it for
    # background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run()
    except KeyboardInterrupt:
        print("\nStopped.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
