"""``make run``: migrate, load the demo, start web + worker + cron, print how to get in.

One Ctrl-C stops everything. With no REDIS_URL the embedded Redis is started here, once,
and handed to the children, so web, worker and cron share it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import qrcode

from backend import create_app
from backend.extensions import db

PORT = int(os.environ.get("PORT", "8000"))


def lan_addresses() -> list[str]:
    try:
        _, _, addresses = socket.gethostbyname_ex(socket.gethostname())
    except OSError:
        addresses = []
    return [a for a in addresses if not a.startswith("127.")]


def prepare(app) -> tuple[list, str | None]:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from backend.demo import load_demo
    from backend.events.models import Event

    with app.app_context():
        upgrade()
        logins = load_demo()
        db.session.commit()
        token = db.session.scalar(select(Event.join_token).where(Event.name == "Innoprom 2026"))
    return logins, token


def print_welcome(logins, join_token: str | None) -> None:
    lan = lan_addresses()
    base = f"http://{lan[0]}:{PORT}" if lan else f"http://127.0.0.1:{PORT}"
    print("\nLeadRelay is running.")
    print(f"  local:  http://127.0.0.1:{PORT}/")
    for address in lan:
        print(f"  LAN:    http://{address}:{PORT}/")
    print(f"  booth app: {base}/app/   API docs: http://127.0.0.1:{PORT}/api/docs")
    print("\nDemo logins:")
    for role, email, password in logins:
        print(f"  {role:<15} {email:<28} {password}")
    if join_token:
        url = f"{base}/app/?join={join_token}"
        print(f"\nScan to open the booth app on a phone on this network ({url}):")
        code = qrcode.QRCode(border=1)
        code.add_data(url)
        code.print_ascii(invert=True)
    print("Ctrl-C stops web, worker and cron.\n", flush=True)


def main() -> int:
    from backend.i18n import compile_catalogs

    compile_catalogs()
    app = create_app()
    env = dict(os.environ)
    env.setdefault("LEADRELAY_INSTANCE", app.instance_path)
    if not app.config.get("REDIS_URL"):
        from backend.redis_conn import _embedded_socket

        env["REDIS_URL"] = "unix://" + _embedded_socket(app.config["EMBEDDED_REDIS_PATH"])
    logins, join_token = prepare(app)

    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "backend.wsgi:app", "--bind", f"0.0.0.0:{PORT}",
                "--workers", "2", "--threads", "4", "--preload", "--access-logfile", "-"],
        "worker": [python, "-m", "backend.cli", "worker"],
        "cron": [python, "-m", "backend.cli", "cron"],
    }  # fmt: skip
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    time.sleep(1.5)
    print_welcome(logins, join_token)

    def stop(*_):
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the rest", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
