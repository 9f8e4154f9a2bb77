"""Periodic work declared as data, registered on RQ's cron scheduler.

Run exactly one ``leadrelay cron``; the jobs it enqueues run on the workers, inside
the app context the AppWorker builds.
"""

from __future__ import annotations

from flask import Flask
from rq.cron import CronScheduler

from backend.queues import ESCALATION, OCR, WEBHOOKS
from backend.redis_conn import connect
from workers import jobs, ocr_jobs, report_jobs

SCHEDULE = [
    dict(name="sweep", func=jobs.sweep, queue=ESCALATION, interval=60, job_timeout=300),
    # Reps linking Telegram: getUpdates long polling (or setWebhook when configured).
    dict(
        name="telegram-updates",
        func=jobs.telegram_updates,
        queue=WEBHOOKS,
        interval=60,
        job_timeout=120,
    ),
    # Each rep's overdue next steps, once on a working-day morning of their office.
    dict(
        name="next-step-mails",
        func=jobs.next_step_mails,
        queue=ESCALATION,
        interval=600,
        job_timeout=300,
    ),
    # Runs as soon as the cron starts, so the cold build of the rollup (seconds at a
    # million leads) happens here rather than in the first dashboard view.
    dict(
        name="report-rollup",
        func=report_jobs.refresh_report_rollup,
        queue=ESCALATION,
        interval=300,
        job_timeout=900,
    ),
    # Card photos that arrived while Redis was down are read a little later.
    dict(name="unread-cards", func=ocr_jobs.enqueue_unread_cards, queue=OCR, interval=300),
]


def make_cron(app: Flask, schedule=SCHEDULE) -> CronScheduler:
    """A CronScheduler on the app's Redis with every entry of ``schedule`` registered."""
    cron = CronScheduler(
        connection=connect(app), logging_level=app.config.get("LOG_LEVEL") or "INFO"
    )
    for entry in schedule:
        cron.register(
            entry["func"],
            queue_name=entry["queue"],
            interval=entry.get("interval"),
            cron=entry.get("cron"),
            job_timeout=entry.get("job_timeout"),
            name=entry["name"],
        )
    return cron
