"""Reports: the event report, the dashboard, the funnel planner and the weekly digest.

Every figure comes from the SQL aggregates in ``queries``; these functions only divide,
round and shape. A ratio whose denominator is zero (or whose data is missing) is
``None``, never a division error. Counts and money sums are 0 when nothing matched.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select

from backend.auth.models import OFFICE_ROLES
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead
from backend.reports import queries

# Used by the planner for any rate the system has not measured yet.
PLAN_DEFAULTS = {
    "avg_deal_value": 10_000.0,
    "win_rate": 0.20,
    "qualification_rate": 0.25,
    "cost_per_lead": 100.0,
}
SENSITIVITY = (-0.2, 0.2)


def ratio(numerator, denominator, digits: int = 4) -> float | None:
    """``numerator / denominator`` rounded, or None when either is missing or the
    denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(float(numerator) / float(denominator), digits)


def money(value) -> float | None:
    return None if value is None else round(float(value), 2)


def minutes(value) -> float | None:
    return None if value is None else round(float(value), 1)


def pct(part, whole) -> float | None:
    """Percent with one decimal, or None for an empty whole."""
    value = ratio(part, whole, digits=6)
    return None if value is None else round(value * 100, 1)


def funnel(leads: int, contacted: int, qualified: int, won: int) -> list[dict]:
    """captured → contacted → qualified → won; each conversion is from the stage before."""
    stages = [("captured", leads), ("contacted", contacted), ("qualified", qualified), ("won", won)]
    out = []
    previous = None
    for stage, count in stages:
        out.append(
            {
                "stage": stage,
                "count": count,
                "conversion": None if previous is None else ratio(count, previous),
            }
        )
        previous = count
    return out


def event_report(event: Event) -> dict:
    """The event report: revenue won first, then cost, ROI, volume, speed and quality.

    See ``backend.reports.queries`` for the definition of each count.
    """
    totals, offices, quality = queries.event_figures(event)
    cost = Decimal(event.cost or 0)
    revenue = Decimal(totals["revenue_won"] or 0)
    leads, qualified, won = totals["leads"], totals["qualified"], totals["won"]
    return {
        "event_id": event.id,
        "event_name": event.name,
        "revenue_won": money(revenue),
        "cost": money(cost),
        "currency": event.currency,
        "roi": ratio(revenue - cost, cost),
        "pipeline_value": money(totals["pipeline_value"] or 0),
        "leads": leads,
        "by_rating": {r: totals[r] for r in ("hot", "warm", "cold")},
        "by_office": [
            {
                "office_id": row["office_id"],
                "code": row["code"],
                "name": row["name"] or "Not routed",
                "leads": row["leads"],
                "contacted": row["contacted"],
                "qualified": row["qualified"],
                "won": row["won"],
                "revenue_won": money(row["revenue_won"] or 0),
                "touched_within_sla_pct": pct(row["within_sla"], row["routed"]),
            }
            for row in offices
        ],
        "contacted": totals["contacted"],
        "qualified": qualified,
        "won": won,
        "lost": totals["lost"],
        "stale": totals["stale"],
        "escalated": totals["escalated"],
        "touched_within_sla_pct": pct(totals["within_sla"], totals["routed"]),
        "first_touch_minutes": _median_p90(totals["first_touch_minutes"]),
        "capture_to_touch_minutes": _median_p90(totals["capture_to_touch_minutes"]),
        "quality": quality,
        "cost_per_lead": money(ratio(cost, leads, 6)),
        "cost_per_qualified": money(ratio(cost, qualified, 6)),
        "cost_per_won": money(ratio(cost, won, 6)),
        "funnel": funnel(leads, totals["contacted"], qualified, won),
    }


def _median_p90(values: list) -> dict:
    return {"median": minutes(values[0]), "p90": minutes(values[1])}


def event_row(row: dict) -> dict:
    """Derived figures for one event of the side-by-side table."""
    cost = Decimal(row["cost"] or 0)
    revenue = Decimal(row["revenue_won"] or 0)
    return {
        "id": row["id"],
        "name": row["name"],
        "starts_on": row["starts_on"],
        "currency": row["currency"],
        "revenue_won": money(revenue),
        "cost": money(cost),
        "roi": ratio(revenue - cost, cost),
        "leads": row["leads"],
        "contacted": row["contacted"],
        "qualified": row["qualified"],
        "won": row["won"],
        "stale": row["stale"],
        "touched_within_sla_pct": pct(row["within_sla"], row["routed"]),
        "cost_per_lead": money(ratio(cost, row["leads"], 6)),
        "cost_per_won": money(ratio(cost, row["won"], 6)),
    }


def league_row(row: dict) -> dict:
    return {
        "office_id": row["office_id"],
        "code": row["code"],
        "name": row["name"],
        "leads": row["leads"],
        "median_first_touch_minutes": minutes(row["median_first_touch_minutes"]),
        "touched_within_sla_pct": pct(row["within_sla"], row["routed"]),
        "won": row["won"],
        "win_rate": ratio(row["won"], row["leads"]),
        "buckets": [row[f"bucket_{i}"] for i in range(len(queries.TOUCH_BUCKETS))],
        "untouched": row["leads"] - row["touched"],
    }


def office_league(refresh: bool = True) -> list[dict]:
    """Offices ranked by speed to lead (fastest median first; offices with no touches last).

    win_rate = won / leads routed to the office. Rebuilds stale rollup rows first unless
    ``refresh=False``; flushes, so the caller should commit.
    """
    rows = [league_row(row) for row in queries.office_league(refresh)]
    return sorted(
        rows,
        key=lambda r: (
            r["median_first_touch_minutes"] is None,
            r["median_first_touch_minutes"] or 0,
            r["code"],
        ),
    )


def dashboard(day_event_id: int | None = None) -> dict:
    """Everything the marketing dashboard shows, from the rollup (rebuilt first for the
    events whose leads changed) and the chosen event's leads per day. Flushes, so the
    caller should commit."""
    queries.refresh_event_stats()
    events = [event_row(row) for row in queries.events_side_by_side(refresh=False)]
    totals = {
        key: sum(e[key] for e in events) for key in ("leads", "contacted", "qualified", "won")
    }
    if day_event_id is None:
        day_event_id = next((e["id"] for e in events if e["leads"]), None)
    day_event = next((e for e in events if e["id"] == day_event_id), None)
    return {
        "events": events,
        "funnel": funnel(totals["leads"], totals["contacted"], totals["qualified"], totals["won"]),
        "league": office_league(refresh=False),
        "buckets": [label for label, _ in queries.TOUCH_BUCKETS],
        "day_event": day_event,
        "leads_per_day": queries.leads_per_day(day_event_id) if day_event_id else [],
    }


def refresh_rollup(chunk: int = 20) -> dict:
    """Bring the dashboard's rollup up to date: rebuild the stale events' rows, then the
    medians of the offices whose sums moved. Run by the cron (``workers.report_jobs``) so
    that a dashboard view finds at most the few events changed since the last run.

    Commits after every ``chunk`` events, so a view that needs the builders' lock waits
    for one chunk rather than the whole cold build (it then rebuilds whatever is still
    stale itself). Returns the ids rebuilt.
    """
    stale = queries.stale_event_ids()
    rebuilt: list[int] = []
    for start in range(0, len(stale), chunk):
        rebuilt += queries.refresh_event_stats(stale[start : start + chunk])
        db.session.commit()
    moved = queries.refresh_office_medians()
    db.session.commit()
    return {"events": rebuilt, "offices": moved}


# --- the funnel planner --------------------------------------------------------------


def measured_rates(events: list[dict]) -> tuple[dict, list[str]]:
    """Pooled rates over ``events`` (aggregate rows): sums first, then one division each,
    so a big event weighs more than a small one. Returns (rates, names of defaults used)."""
    leads = sum(e["leads"] for e in events)
    qualified = sum(e["qualified"] for e in events)
    won = sum(e["won"] for e in events)
    revenue = sum(Decimal(e["revenue_won"] or 0) for e in events)
    cost = sum(Decimal(e["cost"] or 0) for e in events)
    measured = {
        "avg_deal_value": ratio(revenue, won, 6) if won else None,
        "win_rate": ratio(won, qualified, 6) if won else None,
        "qualification_rate": ratio(qualified, leads, 6) if qualified else None,
        "cost_per_lead": ratio(cost, leads, 6) if leads else None,
    }
    used_defaults = [name for name, value in measured.items() if value is None]
    rates = {
        name: (PLAN_DEFAULTS[name] if value is None else value) for name, value in measured.items()
    }
    return rates, used_defaults


def decompose(target: float, rates: dict) -> dict:
    """Revenue target → deals → qualified leads → leads → budget (each rounded up)."""
    deals = math.ceil(round(target / rates["avg_deal_value"], 9))
    qualified = math.ceil(round(deals / rates["win_rate"], 9))
    leads = math.ceil(round(qualified / rates["qualification_rate"], 9))
    return {
        "deals_needed": deals,
        "qualified_needed": qualified,
        "leads_needed": leads,
        "budget_needed": money(leads * rates["cost_per_lead"]),
    }


def _plan_from(target: float, rows: list[dict]) -> dict:
    rates, defaults = measured_rates(rows)
    plan = decompose(target, rates)
    sensitivity = []
    for change in SENSITIVITY:
        moved = {**rates, "win_rate": min(1.0, rates["win_rate"] * (1 + change))}
        sensitivity.append(
            {
                "win_rate_change": change,
                "win_rate": round(moved["win_rate"], 6),
                **decompose(target, moved),
            }
        )
    return {
        **plan,
        "expected_cost": plan["budget_needed"],
        "rates": {k: round(v, 6) for k, v in rates.items()},
        "defaults_used": {name: PLAN_DEFAULTS[name] for name in defaults},
        "based_on_events": [{"id": e["id"], "name": e["name"]} for e in rows],
        "sensitivity": sensitivity,
    }


def plan(revenue_target: float, event_id: int | None = None, currency: str | None = None) -> dict:
    """Plan down the funnel from a revenue target, using rates measured at past events.

    Past events are those in the plan's currency that produced at least one lead. When
    ``event_id`` is given, its currency is used and a ``compare`` plan built from that
    event's rates alone is added. Any rate with no history falls back to
    ``PLAN_DEFAULTS`` and is named in ``defaults_used``.
    """
    rows = queries.events_side_by_side()
    compare_row = None
    if event_id is not None:
        compare_row = next((r for r in rows if r["id"] == event_id), None)
        if compare_row is None:
            from backend.errors import ApiError

            raise ApiError(404, "not_found", "No such event.")
        currency = compare_row["currency"]
    currency = (currency or "EUR").upper()
    history = [r for r in rows if r["currency"] == currency and r["leads"] > 0]
    result = {"revenue_target": round(float(revenue_target), 2), "currency": currency}
    result.update(_plan_from(float(revenue_target), history))
    result["compare"] = None
    if compare_row is not None:
        compare = _plan_from(float(revenue_target), [compare_row] if compare_row["leads"] else [])
        compare.pop("sensitivity")
        result["compare"] = {
            "event_id": compare_row["id"],
            "event_name": compare_row["name"],
            **compare,
        }
    return result


# --- wins and the weekly digest ------------------------------------------------------


def may_see_contact(viewer, win: dict) -> bool:
    """The wins board is public to the company; the contact person is not: only those
    who may read the lead itself (its office, whoever captured it, marketing, admins)."""
    if viewer is None:
        return False
    if viewer.role in ("admin", "marketing"):
        return True
    if viewer.role in OFFICE_ROLES:
        return viewer.office_id is not None and viewer.office_id == win["office_id"]
    return win["captured_by_id"] == viewer.id


def wins_json(limit: int = 100, viewer=None) -> list[dict]:
    """Won deals for ``viewer``: company, value, event, office and rep for everyone; the
    contact's name only where ``may_see_contact``."""
    return [
        {
            "lead_id": w["lead_id"],
            "won_at": w["won_at"],
            "value": money(w["deal_value"]),
            "currency": w["currency"],
            "company": w["company"],
            "contact": " ".join(p for p in (w["first_name"], w["last_name"]) if p)
            if may_see_contact(viewer, w)
            else "",
            "event": {"id": w["event_id"], "name": w["event_name"]},
            "office": w["office_name"],
            "rep": w["rep"],
        }
        for w in queries.wins(limit=limit)
    ]


def _fmt_money(value, currency: str) -> str:
    return f"{float(value or 0):,.0f} {currency}"


def weekly_digest(now: datetime) -> tuple[str, str]:
    """The weekly digest mail: the past seven days' wins, then results of the events that
    had leads arriving or deals won in that week. Returns (subject, plain text).

    Sending and scheduling belong to the workers; this only builds the content.
    """
    since = now - timedelta(days=7)
    week_wins = queries.wins(limit=1000, since=since, until=now)
    active = set(
        db.session.scalars(
            select(Lead.event_id)
            .where(
                or_(
                    Lead.received_at.between(since, now),
                    Lead.won_at.between(since, now),
                )
            )
            .distinct()
        )
    )
    events = [event_row(r) for r in queries.events_side_by_side() if r["id"] in active]
    totals: dict[str, Decimal] = {}
    for w in week_wins:
        totals[w["currency"]] = totals.get(w["currency"], Decimal(0)) + Decimal(
            w["deal_value"] or 0
        )
    won_text = ", ".join(_fmt_money(v, c) for c, v in sorted(totals.items())) or "0"
    subject = f"LeadRelay weekly: {len(week_wins)} win(s), {won_text} won from event leads"
    lines = [
        f"Week {since:%Y-%m-%d} – {now:%Y-%m-%d}",
        "",
        "Revenue won from event leads: " + won_text,
        "",
    ]
    lines.append("Wins")
    if not week_wins:
        lines.append("  No deals were won this week.")
    for w in week_wins:
        lines.append(
            f"  {w['won_at']:%a %d %b}: {_fmt_money(w['deal_value'], w['currency'])}"
            f" — {w['company'] or 'unnamed company'} ({w['event_name']}; "
            f"{w['office_name'] or 'no office'}; {w['rep'] or 'no rep'})"
        )
    lines += ["", "Event results (to date)"]
    if not events:
        lines.append("  No event had activity this week.")
    for e in events:
        roi = "n/a" if e["roi"] is None else f"{e['roi'] * 100:.0f}%"
        sla = "n/a" if e["touched_within_sla_pct"] is None else f"{e['touched_within_sla_pct']}%"
        lines.append(
            f"  {e['name']}: revenue {_fmt_money(e['revenue_won'], e['currency'])}, "
            f"cost {_fmt_money(e['cost'], e['currency'])}, ROI {roi}; "
            f"{e['leads']} leads, {e['qualified']} qualified, {e['won']} won; within SLA {sla}"
        )
    return subject, "\n".join(lines) + "\n"
