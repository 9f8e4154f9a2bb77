"""The periodic sweep: SLA ladder, stale leads, retention, alerts to marketing, outbox.

One module per rule: ``ladder`` (reminder, escalation) and ``reassignment`` (its last
step), ``stale``, ``retention``, ``alerts``, ``outbox``. Plain functions with an
injected ``now``, safe to run any number of times and in parallel: the ladder claims
each step with a conditional UPDATE on the lead (this office stint has not reached step
N), and every alert is a Message with a unique key (per office stint for the ladder),
inserted with ``ON CONFLICT DO NOTHING``, so two sweeps never notify twice.

The rules only flush; ``run_sweep`` commits after each one (see ``_commit``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from backend import transaction
from backend.db_types import utcnow
from workers.sweep.alerts import write_alerts
from workers.sweep.ladder import ladder_steps
from workers.sweep.outbox import enqueue_outbox, recover_outbox
from workers.sweep.retention import apply_retention, prune_sessions
from workers.sweep.stale import mark_stale

__all__ = ["run_sweep"]


def _commit(dry_run: bool) -> None:
    # On purpose, more than the job's one commit: a rule's claim (a conditional UPDATE)
    # holds its rows, and on SQLite the database's write lock, until it commits. Committed
    # rule by rule, each ladder step together with its messages, an overlapping sweep
    # waits for one rule, not for the whole sweep, then finds the rows claimed and skips
    # them; captures are not held up behind a long sweep either.
    if not dry_run:
        transaction.commit()


def run_sweep(now: datetime | None = None, dry_run: bool = False) -> dict:
    """Run every periodic rule as of ``now``; returns what fired (or would fire).

    With ``dry_run`` nothing is changed or sent. Commits each rule's changes.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    report: dict = {"now": now.isoformat(), "dry_run": dry_run}
    report.update(reassigned=[], not_reassigned=[], escalated=[], reminded=[])
    message_ids: list[int] = []
    for found, new_ids in ladder_steps(now, dry_run):
        report.update(found)
        message_ids += new_ids
        _commit(dry_run)
    if not dry_run and message_ids:
        from backend.telegram.services import apply_preferences

        message_ids += apply_preferences(message_ids)  # reps' Telegram and e-mail choices
        _commit(dry_run)
    report["stale"] = mark_stale(now, dry_run)
    _commit(dry_run)
    report["anonymized"] = apply_retention(now, dry_run)
    _commit(dry_run)
    report["sessions_pruned"] = prune_sessions(now, dry_run)
    _commit(dry_run)

    report["alerts"], new_ids = write_alerts(now, dry_run)
    message_ids += new_ids
    _commit(dry_run)

    pending, stuck = recover_outbox(now, dry_run)
    _commit(dry_run)
    report["recovered_sending"] = stuck
    report["enqueued"] = 0 if dry_run else enqueue_outbox(message_ids, pending)
    report["pending"] = len(set(message_ids) | set(pending))
    return report
