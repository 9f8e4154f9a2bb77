"""The floor under the single-lead goal: the cheapest durable write this stack can serve.

    python bench/capture_floor.py [--seconds 8] [--connections 8]

``bench/ingest.py`` asks one captured lead to reach 40% of a trivial endpoint's
requests/s. This bench serves, from the same gunicorn (3 workers × 4 threads) on the same
PostgreSQL, a Flask app that does nothing but that trivial endpoint and the least a
capture must do: take a JSON body and INSERT it into a one-index table, then COMMIT.
No auth, no validation, no routing, no follow-ups. Three ways to write:

* ``/sqlalchemy``: a Flask-SQLAlchemy session, as the app writes;
* ``/psycopg``: psycopg alone, a connection per thread;
* ``/psycopg-async-commit``: the same with ``synchronous_commit = off``, which the product
  may not use (a lead acknowledged but not yet on disk could be lost), shown only to
  tell the cost of the durable commit from the rest.

It prints each one's requests/s, its ratio to ``/livez`` and the server CPU per request
(gunicorn and PostgreSQL, as ``bench/ingest.py`` measures it). The database
``leadrelay_bench_floor`` is created and dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's ``queue`` module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import http.client
import importlib.util
import os
import subprocess
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "leadrelay_bench") + "_floor"
PG = f"postgresql://127.0.0.1:5432/{DB_NAME}"

_spec = importlib.util.spec_from_file_location(
    "bench_ingest", Path(__file__).with_name("ingest.py")
)
ingest = importlib.util.module_from_spec(_spec)
sys.modules["bench_ingest"] = ingest  # its load generator is handed to worker processes
_spec.loader.exec_module(ingest)

from tests.live import free_port  # noqa: E402 - ingest put the project on the path

APP = """
import json, os, threading
import psycopg
from flask import Flask, request, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

URL = os.environ["FLOOR_DATABASE_URL"]
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = URL.replace("postgresql://", "postgresql+psycopg://")
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
db = SQLAlchemy(app)
INSERT = "INSERT INTO floor_lead (client_id, payload) VALUES (%s, %s) RETURNING id"
local = threading.local()

@app.get("/livez")
def livez():
    return "ok"

@app.post("/sqlalchemy")
def with_sqlalchemy():
    body = request.get_json()
    new_id = db.session.execute(
        text("INSERT INTO floor_lead (client_id, payload) VALUES (:c, CAST(:p AS jsonb)) RETURNING id"),
        {"c": body["client_id"], "p": json.dumps(body)},
    ).scalar_one()
    db.session.commit()
    return jsonify(id=new_id), 201

def _connection(durable):
    name = "durable" if durable else "async"
    conn = getattr(local, name, None)
    if conn is None:
        conn = psycopg.connect(URL, options="" if durable else "-c synchronous_commit=off")
        setattr(local, name, conn)
    return conn

def _write(durable):
    body = request.get_json()
    conn = _connection(durable)
    with conn.cursor() as cur:
        cur.execute(INSERT, (body["client_id"], json.dumps(body)), prepare=True)
        new_id = cur.fetchone()[0]
    conn.commit()
    return jsonify(id=new_id), 201

@app.post("/psycopg")
def with_psycopg():
    return _write(durable=True)

@app.post("/psycopg-async-commit")
def with_psycopg_async_commit():
    return _write(durable=False)
"""


class FloorServer:
    """The floor app on gunicorn (``workers`` × 4 threads, as ``bench/ingest.py`` runs the
    product) with its own database; ``bench/ingest.py`` starts one to measure the floor in
    the same run as capture."""

    def __init__(self, workers: int):
        self.workers = workers
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> FloorServer:
        ingest.psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
        ingest.psql(f"CREATE DATABASE {DB_NAME}")
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-d", DB_NAME, "-qc",
             "CREATE TABLE floor_lead (id bigserial PRIMARY KEY, client_id uuid UNIQUE NOT NULL,"
             " payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"],
            check=True,
        )  # fmt: skip
        app_dir = Path(tempfile.mkdtemp(prefix="leadrelay-floor-"))
        (app_dir / "floor_app.py").write_text(APP)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "floor_app:app", "--chdir", str(app_dir),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--threads", "4"],
            env={**os.environ, "FLOOR_DATABASE_URL": PG},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait()
        ingest.psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    def measure(self, path: str, connections: int, seconds: float) -> dict:
        """``bench/ingest.py``'s ``run`` on ``path`` (``/livez`` is a GET, the others write
        a lead): requests/s and the server's CPU per request, after one unmeasured second
        (workers start, connections open, plans cache)."""
        method, kind = ("GET", None) if path == "/livez" else ("POST", "lead")
        return ingest.run(
            self, "-", 0, connections, seconds, method, path, kind, db_name=DB_NAME, warm_up=1.0
        )


def main() -> None:
    args = ingest.parse_arguments()
    server = FloorServer(args.workers).start()
    try:
        results = {
            path: server.measure(path, args.connections, args.seconds)
            for path in ("/livez", "/sqlalchemy", "/psycopg", "/psycopg-async-commit")
        }
    finally:
        server.stop()

    ceiling = results["/livez"]["rps"]
    print(
        f"gunicorn workers={args.workers} threads=4, {args.connections} connections, "
        f"{args.seconds}s each, PostgreSQL; load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    for path, result in results.items():
        rps = result["rps"]
        print(
            f"{path:<24} {rps:8.0f} req/s   / ceiling {rps / ceiling:5.2f}   server CPU per "
            f"request {result['web_cpu_ms']:.2f} + {result['db_cpu_ms']:.2f} ms"
        )


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/livez")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the floor app did not start")


if __name__ == "__main__":
    main()
