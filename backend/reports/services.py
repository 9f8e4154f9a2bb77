"""Reports: the event report, the dashboard, the funnel planner and the weekly digest.

Every figure comes from the SQL aggregates in ``queries``; these functions only convert,
divide, round and shape. A ratio whose denominator is zero (or whose data is missing) is
``None``, never a division error. Counts and money sums are 0 when nothing matched.

Money is in the install's reporting currency (``backend.rates.services``): deal values
at the rate of the day they were won, the pipeline at today's rate, an event's cost at
the rate of its first day. What has no rate is never counted as zero: deals go into
``not_converted`` (their count and original amounts), a cost into ``cost`` None with
``cost_original`` kept.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select

from backend.auth.models import OFFICE_ROLES
from backend.events.models import Event
from backend.extensions import db
from backend.leads.models import Lead
from backend.rates.services import Converter, Total
from backend.reports import queries
from backend.transaction import commit

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


def _day(value) -> date | None:
    """A day from the database (SQLite hands dates back as ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def cost_day(starts_on, created_at) -> date | None:
    """The day an event's cost converts at: its first day, else the day it was created."""
    return _day(starts_on) or (_day(created_at) if created_at else None)


def converted_cost(
    converter: Converter, cost, currency: str, day
) -> tuple[Decimal | None, dict | None]:
    """An event's cost in the reporting currency (None without a rate) and the original
    amount when its currency differs."""
    cost = Decimal(cost or 0)
    original = None
    if (currency or converter.target).upper() != converter.target:
        original = {"amount": money(cost), "currency": currency.upper()}
    if cost == 0:
        return cost, original
    return converter.convert(cost, currency, day), original


def original_amounts(total: Total, converter: Converter) -> list[dict]:
    """The amounts of ``total`` in other currencies than the reporting one, converted or not."""
    return [
        {"currency": code, "amount": float(value)}
        for code, value in sorted(total.originals.items())
        if code != converter.target
    ]


def event_report(event: Event) -> dict:
    """The event report: revenue won first, then cost, ROI, volume, speed and quality.

    See ``backend.reports.queries`` for the definition of each count; money is in the
    reporting currency (see the module docstring).
    """
    totals, offices, quality, money_rows = queries.event_figures(event)
    converter = Converter()
    revenue, pipeline = Total(), Total()
    office_revenue: dict = defaultdict(Total)
    for row in money_rows:
        currency = row["currency"] or event.currency
        if row["status"] == "won":
            day = _day(row["day"])
            revenue.add(converter, row["amount"], currency, day, row["deals"])
            office_revenue[row["office_id"]].add(
                converter, row["amount"], currency, day, row["deals"]
            )
        else:
            pipeline.add(converter, row["amount"], currency, None, row["deals"])
    cost, cost_original = converted_cost(
        converter, event.cost, event.currency, cost_day(event.starts_on, event.created_at)
    )
    leads, qualified, won = totals["leads"], totals["qualified"], totals["won"]
    return {
        "event_id": event.id,
        "event_name": event.name,
        "revenue_won": money(revenue.amount),
        "cost": money(cost),
        "currency": converter.target,
        "event_currency": event.currency,
        "cost_original": cost_original,
        "revenue_original": original_amounts(revenue, converter),
        "not_converted": revenue.not_converted(),
        "pipeline_not_converted": pipeline.not_converted(),
        "roi": None if cost is None else ratio(revenue.amount - cost, cost),
        "pipeline_value": money(pipeline.amount),
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
                "revenue_won": money(office_revenue[row["office_id"]].amount),
                "not_converted_deals": office_revenue[row["office_id"]].missing_deals,
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


def money_by(by: str, converter: Converter, rollup: queries.Rollup) -> dict:
    """Converted revenue and pipeline per event or office (``queries.money_rows``):
    ``{key: (revenue Total, pipeline Total)}``."""
    result: dict = defaultdict(lambda: (Total(), Total()))
    for row in queries.money_rows(by, converter.target, rollup):
        revenue, pipeline = result[row["key"]]
        if row["deals"]:
            revenue.add(converter, row["revenue"], row["currency"], _day(row["day"]), row["deals"])
        if row["pipeline_deals"]:
            pipeline.add(converter, row["pipeline"], row["currency"], None, row["pipeline_deals"])
    return result


def event_row(row: dict, converter: Converter, money_of: dict) -> dict:
    """Derived figures for one event of the side-by-side table, money converted."""
    revenue, pipeline = money_of.get(row["id"], (Total(), Total()))
    cost, cost_original = converted_cost(
        converter, row["cost"], row["currency"], cost_day(row["starts_on"], row["created_at"])
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "starts_on": row["starts_on"],
        "currency": converter.target,
        "event_currency": row["currency"],
        "revenue_won": money(revenue.amount),
        "revenue_original": original_amounts(revenue, converter),
        "not_converted": revenue.not_converted(),
        "pipeline_value": money(pipeline.amount),
        "cost": money(cost),
        "cost_original": cost_original,
        "deals_converted": revenue.deals,
        "roi": None if cost is None else ratio(revenue.amount - cost, cost),
        "leads": row["leads"],
        "contacted": row["contacted"],
        "qualified": row["qualified"],
        "won": row["won"],
        "stale": row["stale"],
        "touched_within_sla_pct": pct(row["within_sla"], row["routed"]),
        "cost_per_lead": money(ratio(cost, row["leads"], 6)),
        "cost_per_won": money(ratio(cost, row["won"], 6)),
    }


def league_row(row: dict, revenue: Total | None = None) -> dict:
    revenue = revenue or Total()
    return {
        "office_id": row["office_id"],
        "code": row["code"],
        "name": row["name"],
        "leads": row["leads"],
        "median_first_touch_minutes": minutes(row["median_first_touch_minutes"]),
        "touched_within_sla_pct": pct(row["within_sla"], row["routed"]),
        "won": row["won"],
        "win_rate": ratio(row["won"], row["leads"]),
        "revenue_won": money(revenue.amount),
        "not_converted_deals": revenue.missing_deals,
        "buckets": [row[f"bucket_{i}"] for i in range(len(queries.TOUCH_BUCKETS))],
        "untouched": row["leads"] - row["touched"],
    }


def office_league(rollup: queries.Rollup | None = None) -> list[dict]:
    """Offices ranked by speed to lead (fastest median first; offices with no touches last).

    win_rate = won / leads routed to the office. Read from ``rollup`` (default: the
    rollup as of now, ``queries.rollup``); writes nothing.
    """
    rollup = rollup or queries.rollup()
    rows = queries.office_league(rollup)
    revenue = money_by("office", Converter(), rollup)
    rows = [league_row(row, revenue.get(row["office_id"], (None,))[0]) for row in rows]
    return sorted(
        rows,
        key=lambda r: (
            r["median_first_touch_minutes"] is None,
            r["median_first_touch_minutes"] or 0,
            r["code"],
        ),
    )


def dashboard(day_event_id: int | None = None) -> dict:
    """Everything the marketing dashboard shows, from the rollup as of now (the events
    changed since the cron's last build computed from their leads, ``queries.rollup``)
    and the chosen event's leads per day. Writes nothing."""
    rollup = queries.rollup()
    converter = Converter()
    money_of = money_by("event", converter, rollup)
    events = [event_row(row, converter, money_of) for row in queries.events_side_by_side(rollup)]
    totals = {
        key: sum(e[key] for e in events) for key in ("leads", "contacted", "qualified", "won")
    }
    revenue = Total()
    for event_revenue, _ in money_of.values():
        revenue.merge(event_revenue)
    if day_event_id is None:
        day_event_id = next((e["id"] for e in events if e["leads"]), None)
    day_event = next((e for e in events if e["id"] == day_event_id), None)
    return {
        "currency": converter.target,
        "revenue_won": money(revenue.amount),
        "not_converted": revenue.not_converted(),
        "costs_not_converted": [e["name"] for e in events if e["cost"] is None],
        "events": events,
        "funnel": funnel(totals["leads"], totals["contacted"], totals["qualified"], totals["won"]),
        "league": office_league(rollup),
        "buckets": [label for label, _ in queries.TOUCH_BUCKETS],
        "day_event": day_event,
        "leads_per_day": queries.leads_per_day(day_event_id) if day_event_id else [],
    }


def refresh_rollup(chunk: int = 20) -> dict:
    """Bring the stored rollup up to date: rebuild the stale events' rows, then the
    medians of the offices whose sums moved. Only the cron runs it
    (``workers.report_jobs``); reads never store rollup rows, they compute the events
    changed since the last run (``queries.rollup``), so the fewer there are the cheaper
    a view.

    Commits after every ``chunk`` events, on purpose (the one job that commits mid-way
    besides the outbox delivery): a cold build of every event keeps what it built if it
    is stopped, and holds the builders' lock one chunk at a time. Returns the ids rebuilt.
    """
    stale = queries.stale_event_ids()
    rebuilt: list[int] = []
    for start in range(0, len(stale), chunk):
        rebuilt += queries.refresh_event_stats(stale[start : start + chunk])
        commit()
    moved = queries.refresh_office_medians()
    commit()
    return {"events": rebuilt, "offices": moved}


# --- the funnel planner --------------------------------------------------------------


def measured_rates(events: list[dict], rate: Decimal = Decimal(1)) -> tuple[dict, list[str]]:
    """Pooled rates over ``events`` (converted rows of ``event_row``): sums first, then
    one division each, so a big event weighs more than a small one. The average deal
    counts only deals that converted; money rates are divided by ``rate`` (what one unit
    of the plan's currency is worth in the reporting currency). Returns (rates, names of
    defaults used)."""
    leads = sum(e["leads"] for e in events)
    qualified = sum(e["qualified"] for e in events)
    won = sum(e["won"] for e in events)
    deals = sum(e["deals_converted"] for e in events)
    revenue = sum(Decimal(str(e["revenue_won"] or 0)) for e in events) / rate
    cost = sum(Decimal(str(e["cost"] or 0)) for e in events) / rate
    measured = {
        "avg_deal_value": ratio(revenue, deals, 6) if deals else None,
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


def _plan_from(target: float, rows: list[dict], rate: Decimal) -> dict:
    rates, defaults = measured_rates(rows, rate)
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
    not_converted = sum(r["not_converted"]["deals"] for r in rows)
    return {
        **plan,
        "expected_cost": plan["budget_needed"],
        "rates": {k: round(v, 6) for k, v in rates.items()},
        "defaults_used": {name: PLAN_DEFAULTS[name] for name in defaults},
        "based_on_events": [{"id": e["id"], "name": e["name"]} for e in rows],
        "not_converted_deals": not_converted,
        "sensitivity": sensitivity,
    }


def plan(revenue_target: float, event_id: int | None = None, currency: str | None = None) -> dict:
    """Plan down the funnel from a revenue target, using rates measured at past events.

    The target and the answer are in ``currency`` (default: the reporting currency). The
    history is every event with leads whose cost converts into the reporting currency
    (the others are named in ``events_left_out``); deal values convert at the rate of
    the day they were won, deals without a rate are left out of the average deal
    (``not_converted_deals``). The plan's currency converts at today's rate. When
    ``event_id`` is given, a ``compare`` plan built from that event's rates alone is
    added. Any rate with no history falls back to ``PLAN_DEFAULTS`` and is named in
    ``defaults_used``. Raises ApiError 404 for an unknown event, 422 for a currency
    with no rate.
    """
    from backend.errors import ApiError

    rollup = queries.rollup()
    converter = Converter()
    money_of = money_by("event", converter, rollup)
    rows = [event_row(r, converter, money_of) for r in queries.events_side_by_side(rollup)]
    compare_row = None
    if event_id is not None:
        compare_row = next((r for r in rows if r["id"] == event_id), None)
        if compare_row is None:
            raise ApiError(404, "not_found", "No such event.")
    currency = (currency or converter.target).upper()
    rate = converter.rate(currency, None)
    if rate is None:
        raise ApiError(
            422, "no_exchange_rate",
            f"No exchange rate from {currency} to {converter.target}.",
            [{"field": "currency", "message": f"no exchange rate to {converter.target}"}],
        )  # fmt: skip
    with_leads = [r for r in rows if r["leads"] > 0]
    history = [r for r in with_leads if r["cost"] is not None]
    result = {
        "revenue_target": round(float(revenue_target), 2),
        "currency": currency,
        "reporting_currency": converter.target,
        "events_left_out": [
            {"id": r["id"], "name": r["name"]} for r in with_leads if r["cost"] is None
        ],
    }
    result.update(_plan_from(float(revenue_target), history, rate))
    result["compare"] = None
    if compare_row is not None:
        usable = compare_row["leads"] and compare_row["cost"] is not None
        compare = _plan_from(float(revenue_target), [compare_row] if usable else [], rate)
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


def converted_wins(rows: list[dict], converter: Converter) -> list[dict]:
    """Each win with ``reporting_value`` (in the reporting currency at the rate of the
    day it was won; None without a rate)."""
    for w in rows:
        w["reporting_value"] = converter.convert(w["deal_value"], w["currency"], w["won_at"])
    return rows


def wins_json(limit: int = 100, viewer=None) -> list[dict]:
    """Won deals for ``viewer``: company, value, event, office and rep for everyone; the
    contact's name only where ``may_see_contact``."""
    converter = Converter()
    return [
        {
            "lead_id": w["lead_id"],
            "won_at": w["won_at"],
            "value": money(w["deal_value"]),
            "currency": w["currency"],
            "reporting_value": money(w["reporting_value"]),
            "reporting_currency": converter.target,
            "company": w["company"],
            "contact": " ".join(p for p in (w["first_name"], w["last_name"]) if p)
            if may_see_contact(viewer, w)
            else "",
            "event": {"id": w["event_id"], "name": w["event_name"]},
            "office": w["office_name"],
            "rep": w["rep"],
        }
        for w in converted_wins(queries.wins(limit=limit), converter)
    ]


def _fmt_money(value, currency: str) -> str:
    return f"{float(value or 0):,.0f} {currency}"


def _win_value(w: dict, target: str) -> str:
    if w["deal_value"] is None:
        return "no value"
    if w["currency"] == target:
        return _fmt_money(w["deal_value"], target)
    original = _fmt_money(w["deal_value"], w["currency"])
    if w["reporting_value"] is None:
        return f"{original} (not converted: no rate)"
    return f"{_fmt_money(w['reporting_value'], target)} ({original})"


def weekly_digest(now: datetime) -> tuple[str, str]:
    """The weekly digest mail: the past seven days' wins, then results of the events that
    had leads arriving or deals won in that week. Returns (subject, plain text). Money is
    in the reporting currency, with the original amount where it differs.

    Sending and scheduling belong to the workers; this only builds the content.
    """
    since = now - timedelta(days=7)
    converter = Converter()
    target = converter.target
    week_wins = converted_wins(queries.wins(limit=1000, since=since, until=now), converter)
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
    rollup = queries.rollup()
    money_of = money_by("event", converter, rollup)
    events = [
        event_row(r, converter, money_of)
        for r in queries.events_side_by_side(rollup)
        if r["id"] in active
    ]
    revenue = Total()
    for w in week_wins:
        revenue.add(converter, w["deal_value"], w["currency"], w["won_at"])
    won_text = _fmt_money(revenue.amount, target)
    if revenue.missing_deals:
        won_text += f" (not converted: {revenue.missing_deals} deal(s))"
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
            f"  {w['won_at']:%a %d %b}: {_win_value(w, target)}"
            f" — {w['company'] or 'unnamed company'} ({w['event_name']}; "
            f"{w['office_name'] or 'no office'}; {w['rep'] or 'no rep'})"
        )
    lines += ["", "Event results (to date)"]
    if not events:
        lines.append("  No event had activity this week.")
    for e in events:
        roi = "n/a" if e["roi"] is None else f"{e['roi'] * 100:.0f}%"
        sla = "n/a" if e["touched_within_sla_pct"] is None else f"{e['touched_within_sla_pct']}%"
        cost = "not converted" if e["cost"] is None else _fmt_money(e["cost"], target)
        missing = e["not_converted"]["deals"]
        lines.append(
            f"  {e['name']}: revenue {_fmt_money(e['revenue_won'], target)}"
            + (f" (not converted: {missing} deal(s))" if missing else "")
            + f", cost {cost}, ROI {roi}; "
            f"{e['leads']} leads, {e['qualified']} qualified, {e['won']} won; within SLA {sla}"
        )
    return subject, "\n".join(lines) + "\n"
