"""RQ jobs that are not delivery: plain functions that take ids (or nothing), run the
backend's services and are safe to run twice. Delivering the outbox is
``backend.messaging.sending`` (``deliver_batch``, ``deliver_message``)."""

from __future__ import annotations

from flask import current_app

from backend.db_types import utcnow
from backend.extensions import db


def warm_up() -> None:
    """Do once, in the worker before it forks, what every work horse would redo.

    Each job runs in a fresh fork: without this, every one of them imports the
    sending modules, configures the ORM mappers, compiles the delivery SQL and the
    mail templates, then throws it all away (most of a job's time). Run in an app
    context; it changes nothing.
    """
    import gc

    from sqlalchemy.orm import configure_mappers

    from backend.messaging import sending

    configure_mappers()
    sending.warm_up()
    db.session.remove()
    db.engine.dispose()  # the horses open their own connections
    # Objects made so far live as long as the worker: keep the horses' garbage
    # collector off their pages (copy-on-write).
    gc.collect()
    gc.freeze()


def sweep() -> dict:
    """The periodic sweep as a job (the cron enqueues it on the escalation queue)."""
    from workers.sweep import run_sweep

    report = run_sweep()
    return {
        name: len(value) if isinstance(value, list) else value for name, value in report.items()
    }


def telegram_updates() -> int:
    """Read the bot's updates (links being made): long polling for up to 20 s, or, with
    TELEGRAM_WEBHOOK on, make sure Telegram posts them to the site. Nothing without a bot."""
    from backend.telegram import api, services

    if not api.configured():
        return 0
    if current_app.config.get("TELEGRAM_WEBHOOK"):
        services.set_webhook()
        return 0
    return services.read_updates(timeout=20)


def next_step_mails() -> int:
    """The reps' morning mails of overdue next steps (the cron runs it every few minutes)."""
    from backend.workspace.reminders import send_next_step_mails

    return len(send_next_step_mails(utcnow()))
