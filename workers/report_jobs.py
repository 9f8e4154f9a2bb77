"""Report jobs: the dashboard's rollup kept fresh by the cron, so no page view pays for
rebuilding it (see ``backend.reports.services.refresh_rollup``)."""

from __future__ import annotations

from backend.reports.services import refresh_rollup


def refresh_report_rollup() -> dict:
    """Rebuild the stale parts of the dashboard's rollup; returns how many were rebuilt."""
    done = refresh_rollup()
    return {name: len(ids) for name, ids in done.items()}
