"""Single-lead capture at two revisions under gunicorn, measured by short turns in one run.

    python bench/capture_ab.py [--before main] [--after .] [--turns 12] [--seconds 2]
    python bench/capture_ab.py --sync 500 …   # POST /sync batches of 500 instead

``bench/ingest.py`` measures one revision, and on a shared machine its server CPU per
capture moves by a third from one run to the next with the same code (the neighbours'
load of that minute), more than most changes to capture. Here both revisions are served
at once, each by its own gunicorn (``--workers`` × 4 threads, as ``bench/ingest.py``) on its
own PostgreSQL database holding 20,000 leads, analysed; they are loaded in turns of
``--seconds`` (before, after, then after, before, …), ``--turns`` times, so both pay the
same minutes. Prints each side's requests/s and server CPU per capture (gunicorn +
PostgreSQL, as ``bench/ingest.py`` reads them) over all turns, the ratios after/before,
and the median of the turn pairs' CPU ratios. With ``--sync N`` the load is ``POST /sync``
batches of N leads from half the connections (as ``bench/ingest.py`` sends them), and rates
and CPU are per lead.

Each side is a git revision (exported, as ``bench/capture_cpu_ab.py`` does) or ``.`` (this
checkout); both use this checkout's virtualenv and this bench's load generator.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's ``queue`` module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import importlib.util
import os
import statistics
import tempfile
from dataclasses import dataclass, field

ROOT = Path(__file__).resolve().parent.parent


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # ingest's load generator is handed to worker processes
    spec.loader.exec_module(module)
    return module


ingest = _bench("ingest")
cpu_ab = _bench("capture_cpu_ab")

from tests.live import LiveServer  # noqa: E402 - ingest put the project on the path


@dataclass
class Side:
    label: str
    revision: str
    db_name: str
    server: LiveServer | None = None
    token: str = ""
    event_id: int = 0
    turns: list[dict] = field(default_factory=list)

    def start(self, tree: Path, workers: int) -> None:
        ingest.DB_NAME = self.db_name  # setup_database and store_earlier_leads use it
        env = {
            "DATABASE_URL": ingest.PG + self.db_name,
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            "SECRET_KEY": "bench",
            "LEADRELAY_INSTANCE": tempfile.mkdtemp(prefix=f"leadrelay-ab-{self.label}-"),
            "RATELIMIT_ENABLED": "0",
            "PYTHONPATH": str(tree),
        }
        self.token, self.event_id = ingest.setup_database({**os.environ, **env}, root=tree)
        self.server = LiveServer(env, workers=workers, root=tree).start()
        ingest.store_earlier_leads(self.server.port, self.token, self.event_id, 20_000)

    def turn(self, connections: int, seconds: float, batch: int = 0) -> dict:
        if batch:
            result = ingest.run(
                self.server, self.token, self.event_id, max(2, connections // 2), seconds,
                "POST", "/api/v1/sync", "sync", batch, db_name=self.db_name,
            )  # fmt: skip
            for key in ("requests", "rps"):
                result[key] *= batch
            for key in ("web_cpu_ms", "db_cpu_ms"):
                result[key] /= batch
        else:
            path = f"/api/v1/events/{self.event_id}/leads"
            result = ingest.run(
                self.server, self.token, self.event_id, connections, seconds, "POST", path,
                "lead", db_name=self.db_name,
            )  # fmt: skip
        self.turns.append(result)
        return result

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        ingest.psql(f"DROP DATABASE IF EXISTS {self.db_name}")


def cost(result: dict) -> float:
    return result["web_cpu_ms"] + result["db_cpu_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--after", default=".")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sync", type=int, default=0, help="POST /sync batches of this size")
    args = parser.parse_args()

    prefix = os.environ.get("BENCH_DB_PREFIX", "leadrelay_bench")
    sides = [
        Side("before", args.before, f"{prefix}_ab_before"),
        Side("after", args.after, f"{prefix}_ab_after"),
    ]
    with tempfile.TemporaryDirectory(prefix="leadrelay-ab-") as folder:
        try:
            for side in sides:
                side.start(cpu_ab.checkout(side.revision, Path(folder)), args.workers)
            for side in sides:  # warm: pools, prepared statements, caches
                side.turn(args.connections, 1, args.sync)
                side.turns.clear()
            for n in range(args.turns):
                for side in sides if n % 2 == 0 else sides[::-1]:
                    side.turn(args.connections, args.seconds, args.sync)
        finally:
            for side in sides:
                side.stop()

    before, after = sides
    unit = f"lead (POST /sync batches of {args.sync})" if args.sync else "capture"
    rate = "leads/s" if args.sync else "req/s"
    print(
        f"gunicorn workers={args.workers} threads=4, {args.connections} connections, "
        f"{args.turns} turns of {args.seconds:g} s each; load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    totals = {}
    for side in sides:
        count = sum(r["requests"] for r in side.turns)
        web = sum(r["web_cpu_ms"] * r["requests"] for r in side.turns) / count
        database = sum(r["db_cpu_ms"] * r["requests"] for r in side.turns) / count
        rps = statistics.fmean(r["rps"] for r in side.turns)
        totals[side.label] = (rps, web, database)
        print(
            f"{side.label:<6} {side.revision:<12} {rps:6.0f} {rate}   server CPU per {unit} "
            f"{web:.3f} + {database:.3f} = {web + database:.3f} ms"
        )
    (rps_b, web_b, db_b), (rps_a, web_a, db_a) = totals["before"], totals["after"]
    pairs = [cost(a) / cost(b) for b, a in zip(before.turns, after.turns, strict=True)]
    print(
        f"after/before: {rate} {rps_a / rps_b:.3f}, CPU per {unit} "
        f"{(web_a + db_a) / (web_b + db_b):.3f} (gunicorn {web_a / web_b:.3f}, PostgreSQL "
        f"{db_a / db_b:.3f}); median of the turn pairs {statistics.median(pairs):.3f}"
    )


if __name__ == "__main__":
    main()
