"""Report benchmark: `python bench/reports.py [--leads N] [--keep] [--reuse]`.

Creates its own PostgreSQL database (``leadrelay_bench_reports`` on 127.0.0.1, or
``BENCH_PG_DB``; via psql), builds the schema through the migrations, loads 1,000,000
leads over 200 events (each spread over the 50 offices) with server-side
``INSERT … SELECT generate_series`` (faster than COPY: no rows cross the wire), then
prints the event report and dashboard times next to the same aggregates written as raw
SQL over the leads. Drops the database afterwards unless --keep; --reuse measures a
kept database again (its schema must still match the models). Goals: event report
< 100 ms, dashboard < 500 ms, within 2x of raw SQL.

The dashboard reads the event × office rollup (``backend/reports/models.py``), which the
cron refreshes (``services.refresh_rollup``): the rollup is emptied, and the cron's cold
refresh of every event and the first view after it are timed apart; "a lead changed"
times a view that follows a change to one lead, so it computes that event's rows and
that office's median from the leads (a view stores nothing: only the cron builds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# Replace this script's folder on the path: bench/queue.py would shadow the stdlib's queue.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import psycopg  # noqa: E402

DB = os.environ.get("BENCH_PG_DB", "leadrelay_bench_reports")
HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
URL = f"postgresql://{HOST}:5432/{DB}"
EVENTS, OFFICES = 200, 50


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", "-h", HOST, "-d", db, "-qc", sql], check=True)


def build_schema() -> None:
    from flask_migrate import upgrade

    from backend import create_app

    app = create_app(
        {"DATABASE_URL": URL, "INSTANCE_PATH": tempfile.mkdtemp(), "SECRET_KEY": "bench"}
    )
    with app.app_context():
        upgrade()


def load(leads: int) -> None:
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(
            f"""
            INSERT INTO office (code, name, names, city, country, latitude, longitude,
                timezone, working_days, email, phone, territories, sla_hours, paused,
                webhook_format, notes, created_at)
            SELECT 'O' || g, 'Office ' || g, '{{}}', 'City ' || g, 'DE', 50 + g * 0.1,
                10 + g * 0.1, 'UTC', '12345', '', '', '[]',
                CASE WHEN g % 5 = 0 THEN 4 ELSE 24 END, false, 'json', '', now()
            FROM generate_series(1, {OFFICES}) g"""
        )
        conn.execute(
            f"""
            INSERT INTO event (name, venue_city, venue_country, timezone, starts_on, ends_on,
                cost, currency, brief, autoresponder_subject, autoresponder_body, questions,
                consent_text, feedback_sample_size, language, join_token, visitor_token,
                created_at)
            SELECT 'Expo ' || g, 'Berlin', 'DE', 'UTC', date '2025-01-01' + g * 3,
                date '2025-01-01' + g * 3 + 2, 5000 + g * 100, 'EUR', '{{}}', '', '', '[]', '',
                20, 'en', 'j' || g, 'v' || g, now()
            FROM generate_series(1, {EVENTS}) g"""
        )
        start = time.perf_counter()
        conn.execute(
            f"""
            INSERT INTO lead (client_id, event_id, source, captured_at, received_at, first_name,
                last_name, email, phone, company, job_title, city, country, postal_code, rating,
                notes, answers, badge_raw, badge_id, consent_contact, consent_marketing,
                consent_text, flags, original, status, deal_value, deal_currency, won_at, office_id,
                routed_at, first_touch_at, escalation_level, ladder_step, feedback_requested,
                updated_at)
            SELECT gen_random_uuid(), e, 'staff', r - interval '3 minutes', r, 'First' || g,
                'Last' || g, 'v' || g || '@example.com', '+49 30 ' || g, 'Company ' || (g % 9000),
                'Buyer', 'Berlin', 'DE', '10115', (ARRAY['hot','warm','cold'])[1 + g % 3], '', '{{}}',
                '', '', true, false, 'ok', '[]', '{{}}',
                CASE WHEN x < 0.03 THEN 'won' WHEN x < 0.05 THEN 'lost'
                     WHEN x < 0.12 THEN 'qualified' WHEN x < 0.50 THEN 'contacted'
                     WHEN x < 0.55 THEN 'stale' ELSE 'new' END,
                CASE WHEN x < 0.03 OR (x >= 0.05 AND x < 0.12) THEN 1000 + floor(x * 1000000) END,
                CASE WHEN x < 0.03 THEN 'EUR' END,
                CASE WHEN x < 0.03 THEN r + interval '20 days' END,
                1 + ((g / {EVENTS}) * 7 + g) % {OFFICES}, r,
                CASE WHEN x < 0.50 THEN r + (y * 3000) * interval '1 minute' END,
                CASE WHEN x >= 0.55 AND x < 0.60 THEN 2 ELSE 0 END,
                CASE WHEN x >= 0.55 AND x < 0.60 THEN 2 ELSE 0 END,
                (g / {EVENTS}) % 12 = 0, r
            FROM (
                SELECT g, 1 + g % {EVENTS} AS e, random() AS x, random() AS y,
                    timestamptz '2025-01-01' + ((g % {EVENTS}) * 3) * interval '1 day'
                        + (g % 4320) * interval '1 minute' AS r
                FROM generate_series(1, {leads}) g
            ) s"""
        )
        print(f"loaded {leads:,} leads in {time.perf_counter() - start:.1f} s")
        conn.execute(
            """INSERT INTO quality_feedback (lead_id, verdict, reason, note, at)
               SELECT id, CASE WHEN x < 0.3 THEN 'bad' ELSE 'good' END,
                      CASE WHEN x < 0.3 THEN (ARRAY['no budget','student','competitor'])[1 + floor(x * 10)::int]
                      ELSE '' END, '', now()
               FROM (SELECT id, random() AS x FROM lead WHERE feedback_requested) s
               WHERE random() < 0.75"""
        )
        conn.execute("VACUUM ANALYZE")


def timed(fn, runs: int = 15) -> tuple[float, float]:
    fn()  # warm caches and the statement cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


# The event report's raw SQL compares and sorts intervals, as the app does on PostgreSQL.
INTERVAL = "first_touch_at - {col}"
MINUTES = "extract(epoch FROM first_touch_at - {col}) / 60.0"
RAW_EVENT = [
    """SELECT count(l.id), count(*) FILTER (WHERE l.first_touch_at IS NOT NULL OR l.status IN
        ('contacted','qualified','won','lost')), count(*) FILTER (WHERE l.status IN ('qualified','won')),
        count(*) FILTER (WHERE l.status='won'), count(*) FILTER (WHERE l.status='lost'),
        count(*) FILTER (WHERE l.status='stale'), count(*) FILTER (WHERE l.escalation_level >= 2),
        count(*) FILTER (WHERE l.routed_at IS NOT NULL AND l.office_id IS NOT NULL),
        count(*) FILTER (WHERE l.first_touch_at - l.routed_at <= make_interval(hours => o.sla_hours)),
        sum(l.deal_value) FILTER (WHERE l.status='won'), sum(l.deal_value) FILTER (WHERE l.status='qualified'),
        count(*) FILTER (WHERE l.rating='hot'), count(*) FILTER (WHERE l.rating='warm'),
        count(*) FILTER (WHERE l.rating='cold')
       FROM lead l LEFT JOIN office o ON o.id = l.office_id WHERE l.event_id = %(e)s""",
    """SELECT o.id, count(l.id), count(*) FILTER (WHERE l.status='won') FROM lead l
       LEFT JOIN office o ON o.id = l.office_id WHERE l.event_id = %(e)s GROUP BY o.id""",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
    + INTERVAL.format(col="received_at")
    + "), percentile_cont(0.9) WITHIN GROUP (ORDER BY "
    + INTERVAL.format(col="received_at")
    + ") FROM lead WHERE event_id = %(e)s AND first_touch_at IS NOT NULL",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
    + INTERVAL.format(col="captured_at")
    + "), percentile_cont(0.9) WITHIN GROUP (ORDER BY "
    + INTERVAL.format(col="captured_at")
    + ") FROM lead WHERE event_id = %(e)s AND first_touch_at IS NOT NULL",
    """SELECT count(*) FILTER (WHERE q.verdict='good'), count(*) FILTER (WHERE q.verdict='bad')
       FROM quality_feedback q JOIN lead l ON l.id = q.lead_id WHERE l.event_id = %(e)s""",
    """SELECT count(l.id) FROM lead l LEFT JOIN quality_feedback q ON q.lead_id = l.id
       WHERE l.event_id = %(e)s AND l.feedback_requested AND q.id IS NULL""",
    """SELECT q.reason, count(*) FROM quality_feedback q JOIN lead l ON l.id = q.lead_id
       WHERE l.event_id = %(e)s AND q.verdict = 'bad' GROUP BY q.reason ORDER BY 2 DESC LIMIT 3""",
]
RAW_DASHBOARD = [
    """SELECT e.id, count(l.id), count(*) FILTER (WHERE l.first_touch_at IS NOT NULL OR l.status IN
        ('contacted','qualified','won','lost')), count(*) FILTER (WHERE l.status IN ('qualified','won')),
        count(*) FILTER (WHERE l.status='won'), count(*) FILTER (WHERE l.status='lost'),
        count(*) FILTER (WHERE l.status='stale'), count(*) FILTER (WHERE l.escalation_level >= 2),
        count(*) FILTER (WHERE l.routed_at IS NOT NULL AND l.office_id IS NOT NULL),
        count(*) FILTER (WHERE l.first_touch_at IS NOT NULL AND l.routed_at IS NOT NULL AND
            extract(epoch FROM l.first_touch_at - l.routed_at) / 60.0 <= o.sla_hours * 60.0),
        sum(l.deal_value) FILTER (WHERE l.status='won')
       FROM event e LEFT JOIN lead l ON l.event_id = e.id LEFT JOIN office o ON o.id = l.office_id
       GROUP BY e.id""",
    """SELECT o.id, count(l.id), count(l.first_touch_at),
        count(*) FILTER (WHERE l.routed_at IS NOT NULL AND l.office_id IS NOT NULL),
        count(*) FILTER (WHERE l.first_touch_at IS NOT NULL AND l.routed_at IS NOT NULL AND
            extract(epoch FROM l.first_touch_at - l.routed_at) / 60.0 <= o.sla_hours * 60.0),
        count(*) FILTER (WHERE l.status='won'), count(*) FILTER (WHERE l.status='lost'),
        count(*) FILTER (WHERE l.first_touch_at IS NOT NULL AND
            extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 <= 15),
        count(*) FILTER (WHERE extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 > 15 AND
            extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 <= 60),
        count(*) FILTER (WHERE extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 > 60 AND
            extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 <= 240),
        count(*) FILTER (WHERE extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 > 240 AND
            extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 <= 1440),
        count(*) FILTER (WHERE extract(epoch FROM l.first_touch_at - l.received_at) / 60.0 > 1440)
       FROM office o LEFT JOIN lead l ON l.office_id = o.id GROUP BY o.id""",
    "SELECT office_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY "
    + MINUTES.format(col="received_at")
    + ") FROM lead WHERE first_touch_at IS NOT NULL AND office_id IS NOT NULL GROUP BY office_id",
    """SELECT to_char(timezone('UTC', received_at), 'YYYY-MM-DD') d, count(*) FROM lead
       WHERE event_id = %(e)s GROUP BY d ORDER BY d""",
]


def raw(conn, statements: list[str], event_id: int):
    def run():
        for sql in statements:
            conn.execute(sql, {"e": event_id}).fetchall()

    return run


def measure() -> None:
    from sqlalchemy import delete, select

    from backend import create_app
    from backend.events.models import Event
    from backend.extensions import db
    from backend.leads.models import Lead
    from backend.reports import services
    from backend.reports.models import EventOfficeStats, OfficeTouchMedian

    app = create_app(
        {"DATABASE_URL": URL, "INSTANCE_PATH": tempfile.mkdtemp(), "SECRET_KEY": "bench"}
    )
    with app.app_context():
        event = db.session.get(Event, 100)
        report_ms = timed(lambda: services.event_report(event))

        def dashboard():  # as the page does: it writes nothing
            services.dashboard()
            db.session.rollback()

        db.session.execute(delete(EventOfficeStats))
        db.session.execute(delete(OfficeTouchMedian))
        db.session.commit()
        start = time.perf_counter()
        services.refresh_rollup()
        cold_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        dashboard()
        first_ms = (time.perf_counter() - start) * 1000
        dashboard_ms = timed(dashboard, runs=7)
        # A live event: before each view a rep touches one more of its leads, so the view
        # computes that event's rollup rows and the touched office's median from the leads.
        untouched = iter(
            db.session.scalars(
                select(Lead)
                .where(Lead.event_id == event.id, Lead.first_touch_at.is_(None))
                .order_by(Lead.id)
                .limit(20)
            ).all()
        )

        def touch_one_then_dashboard():
            lead = next(untouched)
            lead.first_touch_at = lead.received_at + timedelta(minutes=7)
            lead.status = "contacted"
            db.session.commit()
            dashboard()

        changed_ms = timed(touch_one_then_dashboard, runs=7)
        report = services.event_report(event)
    with psycopg.connect(URL, autocommit=True) as conn:
        raw_report_ms = timed(raw(conn, RAW_EVENT, 100))
        latest = conn.execute(
            "SELECT id FROM event ORDER BY starts_on DESC NULLS LAST, id DESC LIMIT 1"
        ).fetchone()[0]
        raw_dashboard_ms = timed(raw(conn, RAW_DASHBOARD, latest), runs=7)

    print(f"event {event.id}: {report['leads']:,} leads, revenue {report['revenue_won']:,.0f}, "
          f"median first touch {report['first_touch_minutes']['median']} min")  # fmt: skip
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"{'':28}{'median ms':>10}{'best ms':>10}")
    rows = [
        ("event report (app)", report_ms),
        ("event report (raw SQL)", raw_report_ms),
        ("dashboard (app)", dashboard_ms),
        ("dashboard, a lead changed", changed_ms),
        ("dashboard (raw SQL)", raw_dashboard_ms),
    ]
    for name, (median, best) in rows:
        print(f"{name:28}{median:10.1f}{best:10.1f}")
    print(f"rollup refresh by the cron, cold (every event): {cold_ms:,.0f} ms")
    print(f"dashboard, first view after it: {first_ms:,.0f} ms")
    print(
        f"ratio app/raw: event report {report_ms[0] / raw_report_ms[0]:.2f}x, "
        f"dashboard {dashboard_ms[0] / raw_dashboard_ms[0]:.2f}x"
    )
    print(
        "goals: event report < 100 ms: "
        + ("met" if report_ms[0] < 100 else "MISSED")
        + "; dashboard < 500 ms: "
        + ("met" if dashboard_ms[0] < 500 else "MISSED")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure an existing kept database")
    args = parser.parse_args()
    if not args.reuse:
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        psql(f"CREATE DATABASE {DB}")
    try:
        if not args.reuse:
            build_schema()
            load(args.leads)
        measure()
    finally:
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
