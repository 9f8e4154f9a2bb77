"""Report queries: every figure is a SQL aggregate; no query loads leads one by one.

The definitions used everywhere in reports:

* **leads** — leads of the event (every capture that became a lead).
* **contacted** — leads with a first touch, or whose status moved beyond ``new``
  (contacted, qualified, won, lost). A lead marked stale without any touch is not contacted.
* **qualified** — leads that reached qualification: status ``qualified`` or ``won``.
  (A lead lost after qualifying cannot be told apart from one lost before, so it is
  not counted.) Qualified leads are therefore a subset of contacted leads.
* **won** / **lost** / **stale** — leads with that status.
* **escalated** — leads whose escalation level reached 2 (escalated) or more.
* **touched within SLA** — of the leads routed to an office, those whose first touch
  came no later than the office's ``sla_hours`` after routing. This is simple
  wall-clock time (not the office's working hours); untouched routed leads count as
  not within SLA.
* **first touch minutes** — from arrival (``received_at``) to ``first_touch_at``;
  **capture to touch minutes** — from ``captured_at``. Median and 90th percentile
  are continuous percentiles (linear interpolation, as PostgreSQL's
  ``percentile_cont``), computed the same way on SQLite with window functions.
* **quality** — sales' verdicts on the event's sampled leads (``feedback_requested``, the
  only leads a verdict can be given for); pending = sampled leads without a verdict.
* **revenue won** — ``deal_value`` of won leads, each converted into the reporting
  currency at the rate of the day it was won (a deal with no currency of its own is in
  the event's); **pipeline value** — the same for open qualified leads, at today's rate.
  The queries return the sums per deal currency and day (``money``); the services
  convert them (``backend.rates.services.Converter``) and count deals with no rate
  apart ("not converted"), never as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import (
    Date,
    Integer,
    Interval,
    Numeric,
    Select,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect, FromClause
from sqlalchemy.sql.util import ClauseAdapter

from backend.auth.models import User
from backend.db_bulk import rows_as_table
from backend.db_types import utcnow
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead, QualityFeedback, Touch
from backend.offices.models import Office
from backend.reports.models import EventOfficeStats, EventOfficeWonDay, OfficeTouchMedian

CONTACTED_STATUSES = ("contacted", "qualified", "won", "lost")
QUALIFIED_STATUSES = ("qualified", "won")
# Time-to-first-touch buckets for the distribution chart: (label, upper bound in minutes).
TOUCH_BUCKETS = (("≤15 min", 15), ("≤1 h", 60), ("≤4 h", 240), ("≤24 h", 1440), (">24 h", None))


def dialect() -> str:
    return db.engine.dialect.name


def minutes_between(later, earlier) -> ColumnElement:
    """Minutes from ``earlier`` to ``later`` as a SQL expression (NULL if either is NULL).

    Rounded to 1e-6 minute so float noise (SQLite's julianday) never moves a value
    that sits exactly on a bucket or SLA boundary.
    """
    if dialect() == "postgresql":
        return func.round(cast(func.extract("epoch", later - earlier), Numeric) / 60, 6)
    return func.round((func.julianday(later) - func.julianday(earlier)) * 1440.0, 6)


def contacted_cond() -> ColumnElement:
    return or_(Lead.first_touch_at.is_not(None), Lead.status.in_(CONTACTED_STATUSES))


def qualified_cond() -> ColumnElement:
    return Lead.status.in_(QUALIFIED_STATUSES)


def within_sla_cond() -> ColumnElement:
    """Touched no later than the office's SLA hours after routing (wall-clock)."""
    if dialect() == "postgresql":
        # Intervals compare exactly and cost far less than numeric minutes per lead.
        sla = func.make_interval(0, 0, 0, 0, Office.sla_sql(), type_=Interval)
        return Lead.first_touch_at - Lead.routed_at <= sla
    return and_(
        Lead.first_touch_at.is_not(None),
        Lead.routed_at.is_not(None),
        minutes_between(Lead.first_touch_at, Lead.routed_at) <= Office.sla_sql() * 60.0,
    )


def routed_cond() -> ColumnElement:
    return and_(Lead.routed_at.is_not(None), Lead.office_id.is_not(None))


def won_day() -> ColumnElement:
    """The UTC day a won lead was won (its last change if the moment was not kept).
    Deal values convert at this day's rate."""
    moment = func.coalesce(Lead.won_at, Lead.updated_at)
    if dialect() == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.date(moment)


def valued_cond(status: str) -> ColumnElement:
    return and_(Lead.status == status, Lead.deal_value.is_not(None))


def count_if(cond) -> ColumnElement:
    return func.count().filter(cond)


LEAD_COUNT_KEYS = (
    "leads", "contacted", "qualified", "won", "lost", "stale", "escalated", "routed",
    "within_sla",
)  # fmt: skip


def lead_counts() -> list[ColumnElement]:
    """The aggregate columns shared by the event report, the dashboard and the league."""
    won = Lead.status == "won"
    return [
        func.count(Lead.id).label("leads"),
        count_if(contacted_cond()).label("contacted"),
        count_if(qualified_cond()).label("qualified"),
        count_if(won).label("won"),
        count_if(Lead.status == "lost").label("lost"),
        count_if(Lead.status == "stale").label("stale"),
        count_if(Lead.escalation_level >= 2).label("escalated"),
        count_if(routed_cond()).label("routed"),
        count_if(within_sla_cond()).label("within_sla"),
    ]


def event_figures(event: Event) -> tuple[dict, list[dict], dict, list[dict]]:
    """The event's totals, its per-office rows (see ``by_office``), its quality
    verdicts (see ``quality``) and its money rows (see ``money``).

    The totals row holds the counts and sums of ``lead_counts``, the pipeline value, the
    ratings, and the median and p90 minutes to first touch (``first_touch_minutes``,
    ``capture_to_touch_minutes``: [median, p90]). On PostgreSQL the three parts are one
    statement (UNION ALL), each part an index-only scan of ``ix_lead_event_report``:
    three scans of one event's leads cost less than one scan grouped by GROUPING SETS,
    which would also compute the percentiles for every office. SQLite runs one query
    per part.
    """
    if dialect() != "postgresql":
        query = _totals_query(event.id)
        totals = dict(db.session.execute(query).mappings().one())
        totals.update(event_touch_percentiles(event))
        return totals, by_office(event), quality(event), money(event)
    rows: dict[str, list[dict]] = {"totals": [], "office": [], "quality": [], "money": []}
    params = {"event_id": event.id}
    for row in db.session.execute(_report_statement(), params).mappings():
        rows[row["part"]].append(dict(row))
    totals = rows["totals"][0]
    for key, name in (("first_touch_minutes", "arrival"), ("capture_to_touch_minutes", "capture")):
        totals[key] = [_minutes(totals[f"{name}_{p}"]) for p in (50, 90)]
    offices = [
        {name: row[name] for name in ("office_id", "code", "name", *LEAD_COUNT_KEYS)}
        for row in sorted(
            rows["office"], key=lambda r: (-r["leads"], r["code"] is None, r["code"] or "")
        )
    ]
    money_rows = [
        {name: row[name] for name in ("office_id", "status", "currency", "day", "amount", "deals")}
        for row in rows["money"]
    ]
    return totals, offices, _quality_from(rows["quality"]), money_rows


@cache
def _report_statement() -> CompoundSelect:
    """The PostgreSQL event report statement, on the parameter ``event_id``.

    Built once: composing it (and its cache key) costs about as much as running it.
    """
    event_id = bindparam("event_id", type_=Integer)
    return union_all_padded(
        {
            "totals": _totals_query(event_id, percentiles=True),
            "office": _by_office_query(event_id),
            "quality": _quality_query(event_id),
            "money": _money_query(event_id),
        }
    )


def union_all_padded(parts: dict[str, Select]) -> CompoundSelect:
    """The ``parts`` as one UNION ALL: every row names its part in ``part`` and holds
    NULL in the columns of the other parts (typed, so PostgreSQL can match them up)."""
    types: dict[str, object] = {}
    for query in parts.values():
        for column in query.selected_columns:
            types.setdefault(column.name, column.type)
    padded = []
    for part, query in parts.items():
        have = {column.name: column for column in query.selected_columns}
        columns = [literal(part).label("part")]
        for name, type_ in types.items():
            if name in have:
                columns.append(have[name])
            else:
                columns.append(cast(null(), type_).label(name))
        padded.append(query.with_only_columns(*columns, maintain_column_froms=True))
    return union_all(*padded)


def _totals_query(event_id, percentiles: bool = False):
    touch_cols = []
    if percentiles:  # PostgreSQL: intervals sort as exactly as minutes, and faster
        for name, since in (("arrival", Lead.received_at), ("capture", Lead.captured_at)):
            for p in (0.5, 0.9):
                percentile = func.percentile_cont(p).within_group(Lead.first_touch_at - since)
                touch_cols.append(type_coerce(percentile, Interval).label(f"{name}_{int(p * 100)}"))
    return (
        select(
            *lead_counts(),
            count_if(Lead.rating == "hot").label("hot"),
            count_if(Lead.rating == "warm").label("warm"),
            count_if(Lead.rating == "cold").label("cold"),
            *touch_cols,
        )
        .select_from(Lead)
        .outerjoin(Office, Office.id == Lead.office_id)
        .where(Lead.event_id == event_id)
    )


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


def by_office(event: Event) -> list[dict]:
    """The event's leads per office (leads with no office are grouped under ``None``),
    most leads first."""
    query = _by_office_query(event.id).order_by(func.count(Lead.id).desc(), Office.code)
    return [dict(row) for row in db.session.execute(query).mappings()]


def _by_office_query(event_id):
    return (
        select(
            Office.id.label("office_id"),
            Office.code.label("code"),
            Office.name.label("name"),
            *lead_counts(),
        )
        .select_from(Lead)
        .outerjoin(Office, Office.id == Lead.office_id)
        .where(Lead.event_id == event_id)
        .group_by(Office.id, Office.code, Office.name)
    )


def money(event: Event) -> list[dict]:
    """The event's deal values summed per office, status (won, or qualified for the
    pipeline), deal currency (NULL: the event's) and day won (NULL for the pipeline)."""
    return [dict(row) for row in db.session.execute(_money_query(event.id)).mappings()]


def _money_query(event_id):
    day = case((Lead.status == "won", won_day()), else_=None)
    return (
        select(
            Lead.office_id.label("office_id"),
            Lead.status.label("status"),
            Lead.deal_currency.label("currency"),
            day.label("day"),
            func.sum(Lead.deal_value).label("amount"),
            func.count().label("deals"),
        )
        .where(
            Lead.event_id == event_id,
            Lead.status.in_(("won", "qualified")),
            Lead.deal_value.is_not(None),
        )
        .group_by(Lead.office_id, Lead.status, Lead.deal_currency, day)
    )


def percentiles(
    value: ColumnElement,
    where: Sequence[ColumnElement],
    group: ColumnElement | None = None,
    ps: Sequence[float] = (0.5, 0.9),
    joins: Sequence = (),
    present: ColumnElement | None = None,
) -> dict:
    """Continuous percentiles of ``value`` per ``group`` (key ``None`` without a group).

    ``present`` is a cheaper condition equivalent to ``value IS NOT NULL`` (and one an
    index predicate can match), used instead of it when given.

    PostgreSQL uses ``percentile_cont``; SQLite numbers the sorted values with window
    functions and fetches only the rows either side of each percentile's position,
    interpolating as ``percentile_cont`` does: position = p × (n − 1).
    Returns ``{group: [value or None per p]}`` (an interval in minutes); groups with no
    values are absent.
    """
    key = group if group is not None else literal(None)
    conditions = [value.is_not(None) if present is None else present, *where]
    if dialect() == "postgresql":
        cols = [func.percentile_cont(p).within_group(value) for p in ps]
        query = select(key.label("g"), *cols).select_from(Lead)
        for target, onclause in joins:
            query = query.outerjoin(target, onclause)
        query = query.where(*conditions)
        if group is not None:
            query = query.group_by(group)
        return {row[0]: [_number(v) for v in row[1:]] for row in db.session.execute(query)}

    partition = [group] if group is not None else None
    inner = select(
        key.label("g"),
        value.label("v"),
        func.row_number().over(partition_by=partition, order_by=value).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).select_from(Lead)
    for target, onclause in joins:
        inner = inner.outerjoin(target, onclause)
    ranked = inner.where(*conditions).subquery()
    wanted = []
    for p in ps:
        lo = func.cast(p * (ranked.c.n - 1), db.Integer) + 1
        wanted += [ranked.c.rn == lo, ranked.c.rn == lo + 1]
    rows = db.session.execute(
        select(ranked.c.g, ranked.c.n, ranked.c.rn, ranked.c.v).where(or_(*wanted))
    )
    found: dict = {}
    for g, n, rn, v in rows:
        found.setdefault(g, {"n": n})[rn] = float(v)
    result = {}
    for g, values in found.items():
        n = values["n"]
        out = []
        for p in ps:
            pos = p * (n - 1)
            lo = int(pos)
            low = values[lo + 1]
            high = values.get(lo + 2, low)
            out.append(low + (high - low) * (pos - lo))
        result[g] = out
    return result


def _number(value) -> float | None:
    """A percentile as a float; an interval (PostgreSQL) in minutes."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return _minutes(value)
    return float(value)


def event_touch_percentiles(event: Event) -> dict[str, list[float | None]]:
    """Median and p90 minutes to first touch, from arrival and from capture."""
    where = [Lead.event_id == event.id]
    from_arrival = percentiles(minutes_between(Lead.first_touch_at, Lead.received_at), where)
    from_capture = percentiles(minutes_between(Lead.first_touch_at, Lead.captured_at), where)
    return {
        "first_touch_minutes": from_arrival.get(None, [None, None]),
        "capture_to_touch_minutes": from_capture.get(None, [None, None]),
    }


def quality(event: Event, top: int = 3) -> dict:
    """Sales' verdicts on the event's leads; pending = sampled leads with no verdict yet."""
    return _quality_from(db.session.execute(_quality_query(event.id)).mappings(), top)


def _quality_query(event_id):
    """The event's sampled leads grouped by verdict and (for bad verdicts) reason.

    Only sampled leads (``feedback_requested``) can get a verdict (see
    ``workspace.services.record_feedback``), so the others are left out.
    """
    feedback = QualityFeedback.__table__
    if dialect() == "postgresql":
        # One probe of the unique lead_id index per sampled lead; left to itself the
        # planner hashes the whole feedback table instead. OFFSET 0 keeps the subquery
        # from being flattened into a plain join.
        feedback = (
            select(feedback.c.id, feedback.c.verdict, feedback.c.reason)
            .where(feedback.c.lead_id == Lead.id)
            .offset(0)
            .lateral("feedback")
        )
        onclause = true()
    else:
        onclause = feedback.c.lead_id == Lead.id
    reason = case(
        (
            feedback.c.verdict == "bad",
            func.coalesce(func.nullif(feedback.c.reason, ""), "unspecified"),
        ),
        else_=None,
    )
    return (
        select(
            feedback.c.verdict.label("verdict"),
            reason.label("reason"),
            func.count(feedback.c.id).label("verdicts"),
            count_if(feedback.c.id.is_(None)).label("pending"),
        )
        .select_from(Lead)
        .outerjoin(feedback, onclause)
        .where(Lead.event_id == event_id, Lead.feedback_requested.is_(True))
        .group_by(feedback.c.verdict, reason)
    )


def _quality_from(groups: Iterable, top: int = 3) -> dict:
    """The quality figures from ``_quality_query``'s rows; top bad reasons are the most
    frequent first (ties by name)."""
    groups = list(groups)
    bad = sorted(
        ((row["reason"], row["verdicts"]) for row in groups if row["verdict"] == "bad"),
        key=lambda item: (-item[1], item[0]),
    )
    return {
        "good": sum(row["verdicts"] for row in groups if row["verdict"] == "good"),
        "bad": sum(count for _, count in bad),
        "pending": sum(row["pending"] for row in groups),
        "top_bad_reasons": [{"reason": r, "count": c} for r, c in bad[:top]],
    }


def leads_per_day(event_id: int) -> list[tuple[str, int]]:
    """Leads that arrived per UTC day for one event."""
    if dialect() == "postgresql":
        day = func.to_char(func.timezone("UTC", Lead.received_at), "YYYY-MM-DD")
    else:
        day = func.date(Lead.received_at)
    rows = db.session.execute(
        select(day.label("day"), func.count())
        .where(Lead.event_id == event_id)
        .group_by(day)
        .order_by(day)
    )
    return [(str(d), c) for d, c in rows]


# --- across events and offices -------------------------------------------------------
#
# The dashboard, the league, the planner and the digest read ``event_office_stats`` (the
# rollup in ``backend.reports.models``) instead of scanning every lead. Only the cron
# builds it (``services.refresh_rollup``, every few minutes): a read never writes. An
# event whose rows may be out of date is "stale": a lead of it has ``updated_at`` after
# the rollup's ``covers_until``, or an office's SLA differs from the one its rows were
# built with. A read takes the stored rows of the other events and computes the stale
# events' rows from their leads in the same statement (``rollup``), so the numbers are
# exact right after a capture and a view costs the few events changed since the cron's
# last run. ``covers_until`` is the build time minus ``STATS_LAG``, so a change stamped
# shortly before the build but committed after it (a transaction still open during the
# build) is still seen as stale. A median does not add up, so the office medians are
# computed from the leads (exactly) and kept in ``office_touch_median`` by the cron
# until the office's rollup sums move; a read recomputes those that moved, unstored.

STATS_LAG = timedelta(minutes=5)
# Any constant shared by all builders: refreshes run one at a time.
STATS_LOCK_KEY = 0x1EAD5747
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def touch_buckets(touch: ColumnElement) -> list[ColumnElement]:
    """One count per ``TOUCH_BUCKETS`` entry, labelled ``bucket_0`` …"""
    buckets = []
    lower = None
    for index, (_, upper) in enumerate(TOUCH_BUCKETS):
        conds = [Lead.first_touch_at.is_not(None)]
        if lower is not None:
            conds.append(touch > lower)
        if upper is not None:
            conds.append(touch <= upper)
        buckets.append(count_if(and_(*conds)).label(f"bucket_{index}"))
        lower = upper
    return buckets


def stale_event_ids() -> list[int]:
    """Events whose rollup rows may not match their leads any more."""
    stats = EventOfficeStats
    # An event never built has no rows: every lead of it counts as changed.
    covered = func.coalesce(
        select(func.min(stats.covers_until))
        .where(stats.event_id == Event.id)
        .correlate(Event)
        .scalar_subquery(),
        literal(NEVER, stats.covers_until.type),
    )
    # One probe of ix_lead_event_report (event_id, updated_at) per event.
    changed = exists().where(Lead.event_id == Event.id, Lead.updated_at > covered)
    sla_moved = exists().where(
        stats.event_id == Event.id,
        stats.office_id == Office.id,
        stats.sla_hours != Office.sla_sql(),
    )
    return list(db.session.scalars(select(Event.id).where(or_(changed, sla_moved))))


def _stats_from_leads(event_ids: Sequence[int]) -> Select:
    """The ``event_office_stats`` rows of ``event_ids`` computed from their leads: every
    column but ``id``, in the table's order."""
    stats = EventOfficeStats
    # Each lead's minutes to first touch computed once, in a subquery the planner keeps
    # as it is (OFFSET 0): the buckets and sums below read it eight times, and PostgreSQL
    # would evaluate the numeric expression at every mention (on the reports bench's
    # database one event of 5,000 leads took 15 ms that way, 7 ms this way; twenty events
    # 470 and 370 ms). Its columns are in ix_lead_event_report: an index-only scan.
    needed = ("event_id", "office_id", "deal_currency", "status", "escalation_level",
              "routed_at", "first_touch_at", "deal_value")  # fmt: skip
    leads = (
        select(
            *(Lead.__table__.c[name] for name in needed),
            minutes_between(Lead.first_touch_at, Lead.received_at).label("touch"),
        )
        .where(Lead.event_id.in_(event_ids))
        .offset(0)
        .subquery("leads")
    )
    on_leads = ClauseAdapter(leads).traverse  # Lead's columns read from the subquery
    touch = leads.c.touch
    won = Lead.status == "won"
    columns = {
        "event_id": leads.c.event_id,
        "office_id": leads.c.office_id,
        "deal_currency": leads.c.deal_currency,
        "sla_hours": Office.sla_sql(),
        "leads": func.count(),
        "contacted": count_if(contacted_cond()),
        "qualified": count_if(qualified_cond()),
        "won": count_if(won),
        "lost": count_if(Lead.status == "lost"),
        "stale": count_if(Lead.status == "stale"),
        "escalated": count_if(Lead.escalation_level >= 2),
        "routed": count_if(routed_cond()),
        "within_sla": count_if(within_sla_cond()),
        "touched": count_if(Lead.first_touch_at.is_not(None)),
        **{bucket.name: bucket for bucket in touch_buckets(touch)},
        "touch_minutes": func.coalesce(func.sum(touch), 0),
        "touch_minutes_sq": func.coalesce(func.sum(touch * touch), 0),
        "revenue_won": func.coalesce(func.sum(Lead.deal_value).filter(won), 0),
        "won_valued": count_if(valued_cond("won")),
        "pipeline_value": func.coalesce(
            func.sum(Lead.deal_value).filter(Lead.status == "qualified"), 0
        ),
        "pipeline_deals": count_if(valued_cond("qualified")),
        "covers_until": literal(utcnow() - STATS_LAG, stats.covers_until.type),
    }
    assert list(columns) == _columns_but_id(stats.__table__)
    return (
        select(*_as_stored(stats.__table__, {k: on_leads(v) for k, v in columns.items()}))
        .select_from(leads)
        .outerjoin(Office, Office.id == leads.c.office_id)
        .group_by(leads.c.event_id, leads.c.office_id, leads.c.deal_currency, Office.sla_hours)
    )


def _won_days_from_leads(event_ids: Sequence[int]) -> Select:
    """The ``event_office_won_day`` rows of ``event_ids`` computed from their leads (every
    column but ``id``, in the table's order)."""
    day = won_day()
    columns = {
        "event_id": Lead.event_id,
        "office_id": Lead.office_id,
        "deal_currency": Lead.deal_currency,
        "won_on": day,
        "revenue": func.sum(Lead.deal_value),
        "deals": func.count(),
    }
    assert list(columns) == _columns_but_id(EventOfficeWonDay.__table__)
    return (
        select(*_as_stored(EventOfficeWonDay.__table__, columns))
        .where(Lead.event_id.in_(event_ids), valued_cond("won"))
        .group_by(Lead.event_id, Lead.office_id, Lead.deal_currency, day)
    )


def _columns_but_id(table) -> list[str]:
    return [column.name for column in table.c if column.name != "id"]


def _as_stored(table, columns: dict[str, ColumnElement]) -> list[ColumnElement]:
    """``columns`` labelled, counts cast to the table's INTEGER: PostgreSQL counts in
    BIGINT, which would make the union with the stored rows BIGINT and their sums
    NUMERIC (Decimal), not the int the stored rollup sums to. The others read back as the
    table's types (SQLite's ``date()`` gives text, the stored ``won_on`` a date)."""
    return [
        (
            cast(expr, Integer)
            if isinstance(table.c[name].type, Integer)
            else type_coerce(expr, table.c[name].type)
        ).label(name)
        for name, expr in columns.items()
    ]


def refresh_event_stats(event_ids: Iterable[int] | None = None) -> list[int]:
    """Rebuild the stored rollup of ``event_ids`` (default: the stale events) from their
    leads: the cron's work (``services.refresh_rollup``), never a read's.

    Flushes, leaves the commit to the caller. Returns the ids rebuilt.
    """
    if event_ids is None and not stale_event_ids():
        return []
    if dialect() == "postgresql":
        # Two builders of the same event would each insert its rows.
        db.session.execute(select(func.pg_advisory_xact_lock(STATS_LOCK_KEY)))
    ids = sorted(stale_event_ids() if event_ids is None else set(event_ids))
    if not ids:
        return []
    for model, rows in (
        (EventOfficeStats, _stats_from_leads(ids)),
        (EventOfficeWonDay, _won_days_from_leads(ids)),
    ):
        db.session.execute(delete(model).where(model.event_id.in_(ids)))
        table = model.__table__
        db.session.execute(table.insert().from_select(_columns_but_id(table), rows))
    db.session.flush()
    return ids


@dataclass(frozen=True)
class Rollup:
    """The rollup as a read sees it: ``stats`` and ``won_days`` have the columns of
    ``event_office_stats`` and ``event_office_won_day``."""

    stats: FromClause
    won_days: FromClause


def rollup() -> Rollup:
    """The rollup as a build would leave it now, without building it (writes nothing):
    the stored rows of the events that are up to date, and the stale events' rows
    computed from their leads (see the comment above ``STATS_LAG``).

    The stale events' rows are computed once, here, and handed to every query that reads
    the rollup as rows (``db_bulk.rows_as_table``): a view runs several such queries, and
    each would otherwise compute them from the leads again."""
    stats, days = EventOfficeStats.__table__, EventOfficeWonDay.__table__
    stale = stale_event_ids()
    if not stale:
        return Rollup(stats, days)

    def read(table, computed: Select, alias: str) -> FromClause:
        rows = [dict(row) for row in db.session.execute(computed).mappings()]
        columns = [table.c[name] for name in _columns_but_id(table)]
        stored = select(*columns).where(table.c.event_id.not_in(stale))
        return union_all(stored, rows_as_table(table, rows)).subquery(alias)

    return Rollup(
        read(stats, _stats_from_leads(stale), "stats"),
        read(days, _won_days_from_leads(stale), "won_days"),
    )


def _summed(stats: FromClause, *names: str) -> list[ColumnElement]:
    return [func.coalesce(func.sum(stats.c[name]), 0).label(name) for name in names]


def events_side_by_side(rollup: Rollup) -> list[dict]:
    """Every event with its lead aggregates from ``rollup``, newest first (events
    without leads included)."""
    stats = rollup.stats
    query = (
        select(
            Event.id,
            Event.name,
            Event.starts_on,
            Event.cost,
            Event.currency,
            Event.created_at,
            *_summed(
                stats,
                "leads",
                "contacted",
                "qualified",
                "won",
                "lost",
                "stale",
                "escalated",
                "routed",
                "within_sla",
            ),  # fmt: skip
        )
        .select_from(Event)
        .outerjoin(stats, stats.c.event_id == Event.id)
        .group_by(Event.id)
        .order_by(Event.starts_on.desc().nulls_last(), Event.id.desc())
    )
    return [dict(row) for row in db.session.execute(query).mappings()]


def money_rows(by: str, target: str, rollup: Rollup) -> list[dict]:
    """Won deal values (``revenue``, ``deals``) and open pipeline (``pipeline``,
    ``pipeline_deals``) from ``rollup``, summed per ``by`` ("event" or "office"; key
    ``key``), currency (a deal with none is in its event's) and ``day`` won.

    Sums already in ``target`` need no rate: they come from the rollup's totals with
    ``day`` NULL; only the other currencies' won deals are read per day (from
    ``won_days``).
    """
    stats, days = rollup.stats, rollup.won_days
    key = stats.c.event_id if by == "event" else stats.c.office_id
    currency = func.coalesce(stats.c.deal_currency, Event.currency)
    totals = (
        select(
            key.label("key"),
            currency.label("currency"),
            func.sum(stats.c.revenue_won).label("revenue"),
            func.sum(stats.c.won_valued).label("deals"),
            func.sum(stats.c.pipeline_value).label("pipeline"),
            func.sum(stats.c.pipeline_deals).label("pipeline_deals"),
        )
        .join(Event, Event.id == stats.c.event_id)
        .where(or_(stats.c.won_valued > 0, stats.c.pipeline_deals > 0))
        .group_by(key, currency)
    )
    rows = []
    for row in db.session.execute(totals).mappings():
        row = {**row, "day": None}
        if row["currency"] != target:  # its won deals come per day below
            row["revenue"], row["deals"] = 0, 0
        rows.append(row)
    day_key = days.c.event_id if by == "event" else days.c.office_id
    day_currency = func.coalesce(days.c.deal_currency, Event.currency)
    per_day = (
        select(
            day_key.label("key"),
            day_currency.label("currency"),
            days.c.won_on.label("day"),
            func.sum(days.c.revenue).label("revenue"),
            func.sum(days.c.deals).label("deals"),
        )
        .join(Event, Event.id == days.c.event_id)
        .where(day_currency != target)
        .group_by(day_key, day_currency, days.c.won_on)
    )
    for row in db.session.execute(per_day).mappings():
        rows.append({**row, "pipeline": 0, "pipeline_deals": 0})
    return rows


def office_league(rollup: Rollup) -> list[dict]:
    """Per office: leads, speed to lead (median minutes arrival → first touch), share
    touched within SLA, won, and the time-to-first-touch distribution buckets.

    Counts come from ``rollup``; medians as ``office_touch_medians``. Writes nothing.
    """
    buckets = [f"bucket_{i}" for i in range(len(TOUCH_BUCKETS))]
    stats = rollup.stats
    query = (
        select(
            Office.id.label("office_id"),
            Office.code,
            Office.name,
            Office.sla_sql().label("sla_hours"),
            *_summed(
                stats,
                "leads",
                "touched",
                "routed",
                "within_sla",
                "won",
                "lost",
                *buckets,
                "touch_minutes",
                "touch_minutes_sq",
            ),  # fmt: skip
        )
        .select_from(Office)
        .outerjoin(stats, stats.c.office_id == Office.id)
        .group_by(Office.id)
        .order_by(Office.code)
    )
    rows = [dict(row) for row in db.session.execute(query).mappings()]
    medians = office_touch_medians(rows)
    for row in rows:
        row["median_first_touch_minutes"] = medians.get(row["office_id"])
        del row["touch_minutes"], row["touch_minutes_sq"]
    return rows


def refresh_office_medians() -> list[int]:
    """Recompute and store the medians of the offices whose stored rollup sums moved (the
    cron's work; flushes); returns their ids."""
    stats = EventOfficeStats.__table__
    rows = db.session.execute(
        select(stats.c.office_id, *_summed(stats, "touched", "touch_minutes", "touch_minutes_sq"))
        .where(stats.c.office_id.is_not(None))
        .group_by(stats.c.office_id)
    ).mappings()
    return _touch_medians([dict(row) for row in rows], store=True)[1]


def office_touch_medians(rows: list[dict]) -> dict[int, float]:
    """Exact median minutes from arrival to first touch per office (as
    ``percentile_cont(0.5)``), for league rows carrying the office's rollup sums.

    A median is recomputed from the leads only for offices whose sums differ from those
    stored with the last median (``office_touch_median``), and not stored: a read writes
    nothing. Offices without touched leads are absent.
    """
    return _touch_medians(rows, store=False)[0]


def _touch_medians(rows: list[dict], *, store: bool) -> tuple[dict[int, float], list[int]]:
    """The medians for ``rows`` and the ids of the offices whose median was recomputed
    (stored in ``office_touch_median`` when ``store``, which flushes)."""
    wanted = {
        row["office_id"]: (row["touched"], row["touch_minutes"], row["touch_minutes_sq"])
        for row in rows
        if row["touched"]
    }
    cache = OfficeTouchMedian
    stored = {
        office: ((touched, minutes, squares), median)
        for office, touched, minutes, squares, median in db.session.execute(
            select(
                cache.office_id,
                cache.touched,
                cache.touch_minutes,
                cache.touch_minutes_sq,
                cache.median_minutes,
            )
        )
    }
    medians = {
        office: stored[office][1]
        for office, sums in wanted.items()
        if office in stored and _same_sums(stored[office][0], sums)
    }
    moved = sorted(set(wanted) - set(medians))
    if not moved:
        return medians, moved
    if store and dialect() == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(STATS_LOCK_KEY)))
    # On PostgreSQL an index-only scan of the partial index ix_lead_office_touched, hence
    # the plain first_touch_at condition; there the intervals themselves are sorted, as
    # the event report's percentiles (read back in minutes): half the time of numeric
    # minutes computed per lead (10 offices of 20,000 leads: 87 -> 47 ms).
    if dialect() == "postgresql":
        touch = Lead.first_touch_at - Lead.received_at
    else:
        touch = minutes_between(Lead.first_touch_at, Lead.received_at)
    found = percentiles(
        touch,
        [Lead.office_id.in_(moved)],
        group=Lead.office_id,
        ps=(0.5,),
        present=Lead.first_touch_at.is_not(None),  # received_at is never NULL
    )
    for office in moved:
        median = found.get(office, [None])[0]
        if median is not None:
            medians[office] = median
    if store:
        db.session.execute(delete(cache).where(cache.office_id.in_(moved)))
        for office in moved:
            touched, minutes, squares = wanted[office]
            db.session.add(
                cache(
                    office_id=office,
                    touched=touched,
                    touch_minutes=minutes,
                    touch_minutes_sq=squares,
                    median_minutes=found.get(office, [None])[0],
                )
            )
        db.session.flush()
    return medians, moved


def _same_sums(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and all(Decimal(x) == Decimal(y) for x, y in zip(a[1:], b[1:], strict=True))


def last_toucher():
    """A scalar subquery: the name of the user of a lead's latest touch."""
    return (
        select(User.name)
        .select_from(Touch)
        .join(User, User.id == Touch.user_id)
        .where(Touch.lead_id == Lead.id)
        .order_by(Touch.at.desc(), Touch.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def wins(
    limit: int = 100, since: datetime | None = None, until: datetime | None = None
) -> list[dict]:
    """Won deals from event leads, newest first, with event, office, rep and value.

    The rep is the user who claimed the lead, else the user of its latest touch.
    """
    claimer = User.__table__.alias("claimer")
    query = (
        select(
            Lead.id.label("lead_id"),
            Lead.won_at,
            Lead.deal_value,
            func.coalesce(Lead.deal_currency, Event.currency).label("currency"),
            Lead.company,
            Lead.first_name,
            Lead.last_name,
            Lead.office_id,
            Lead.captured_by_id,
            Event.id.label("event_id"),
            Event.name.label("event_name"),
            Office.name.label("office_name"),
            func.coalesce(claimer.c.name, last_toucher()).label("rep"),
        )
        .select_from(Lead)
        .join(Event, Event.id == Lead.event_id)
        .outerjoin(Office, Office.id == Lead.office_id)
        .outerjoin(claimer, claimer.c.id == Lead.claimed_by_id)
        .where(Lead.status == "won")
        .order_by(case((Lead.won_at.is_(None), 1), else_=0), Lead.won_at.desc(), Lead.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Lead.won_at >= since)
    if until is not None:
        query = query.where(Lead.won_at < until)
    return [dict(row) for row in db.session.execute(query).mappings()]
