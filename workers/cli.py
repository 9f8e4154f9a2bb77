"""The workers' commands: ``worker``, ``cron`` and ``sweep``.

Registered with Flask's ``flask.commands`` entry points (pyproject.toml), so the
``leadrelay`` command (``backend.cli:main``, a FlaskGroup) and ``flask --app backend``
offer them; each runs inside the app the group builds with ``create_app``.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--burst", is_flag=True, help="drain the queues and exit")
@click.option("--queues", default="", help="comma-separated queue names (default: all)")
@with_appcontext
def worker_command(burst: bool, queues: str) -> None:
    """Run an RQ worker with its scheduler, every job inside the app context."""
    from backend.queues import QUEUE_NAMES
    from workers.queues import make_worker

    names = [q for q in queues.split(",") if q] or list(QUEUE_NAMES)
    worker = make_worker(current_app._get_current_object(), names)
    worker.work(burst=burst, with_scheduler=True, logging_level=current_app.config.get("LOG_LEVEL"))


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Run the periodic sweeps on RQ's cron scheduler (run exactly one of these)."""
    from workers.schedule import make_cron

    make_cron(current_app._get_current_object()).start()


@click.command("sweep")
@click.option("--now", "now_text", help="ISO time to sweep as of (default: now)")
@click.option("--dry-run", is_flag=True, help="print what would fire, change nothing")
@with_appcontext
def sweep_command(now_text: str | None, dry_run: bool) -> None:
    """Run the SLA/stale/silence sweep once, as of a given time."""
    from datetime import UTC, datetime

    from workers.sweep import run_sweep

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.ClickException(f"not an ISO time: {now_text}") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    report = run_sweep(now=now, dry_run=dry_run)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
