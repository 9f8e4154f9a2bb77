"""Marketing pages and the report API: thin views over ``backend.reports.services``."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user
from pydantic import ValidationError

from backend.api.spec import validated
from backend.audit.services import record_apart
from backend.auth.access import roles_required
from backend.auth.models import OFFICE_ROLES
from backend.errors import ApiError, validation_fields
from backend.events.models import Event
from backend.events.schemas import EventIn, EventPatch
from backend.events.services import create_event, join_url, update_event, visitor_url
from backend.extensions import db
from backend.i18n import office_name
from backend.params import int_arg
from backend.rates.services import reporting_currency
from backend.reports import export, forms, qr, services, svg
from backend.reports.schemas import (
    EventReportOut,
    ExportQuery,
    PlanIn,
    PlanOut,
    WinsOut,
    WinsQuery,
)
from backend.transaction import rollback

bp = Blueprint("reports", __name__)

MARKETING = ("marketing", "admin")
EVERYONE_IN_SALES = (*MARKETING, *OFFICE_ROLES)
CHART_EVENTS = 20


def event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        if request.path.startswith("/api/"):
            raise ApiError(404, "not_found", "No such event.")
        abort(404)
    return event


# --- pages ---------------------------------------------------------------------------


# Chart words in the reader's language (the JSON API keeps the codes).
STAGES = {
    "captured": lazy_gettext("Captured"),
    "contacted": lazy_gettext("Contacted"),
    "qualified": lazy_gettext("Qualified"),
    "won": lazy_gettext("Won"),
}
BUCKETS = {
    "≤15 min": lazy_gettext("≤15 min"),
    "≤1 h": lazy_gettext("≤1 h"),
    "≤4 h": lazy_gettext("≤4 h"),
    "≤24 h": lazy_gettext("≤24 h"),
    ">24 h": lazy_gettext(">24 h"),
}


@bp.get("/marketing")
@roles_required(*MARKETING)
def dashboard():
    """All events side by side, with charts, the funnel and the office league table."""
    data = services.dashboard(int_arg("day_event", None))
    events = data["events"][:CHART_EVENTS]  # newest first; the table has them all
    charts = {
        "money": svg.grouped_bars(
            ngettext(
                "Revenue won vs cost, latest %(num)s event",
                "Revenue won vs cost, latest %(num)s events",
                len(events),
            ),
            [e["name"] for e in events],
            [
                (gettext("Revenue won"), "chart-a", [e["revenue_won"] for e in events]),
                (gettext("Cost"), "chart-b", [e["cost"] for e in events]),
            ],
        ),
        "funnel": svg.funnel(
            gettext("Funnel over all events"),
            [(str(STAGES.get(s["stage"], s["stage"])), s["count"]) for s in data["funnel"]],
        ),
        "touch": svg.stacked_shares(
            gettext("Time from arrival to first touch, per office"),
            [*(str(BUCKETS.get(b, b)) for b in data["buckets"]), gettext("untouched")],
            [(_office_label(o), [*o["buckets"], o["untouched"]]) for o in data["league"]],
        ),
        "days": svg.columns(
            gettext("Leads per day")
            + (f" — {data['day_event']['name']}" if data["day_event"] else ""),
            data["leads_per_day"],
        ),
    }
    return render_template("reports/dashboard.html", charts=charts, **data)


def _office_label(row) -> str:
    """A chart's name for a report row's office, as the tables beside it name it."""
    return office_name(row) if row.get("code") else gettext("Not routed")


@bp.get("/league")
@roles_required(*EVERYONE_IN_SALES)
def league():
    """The office league table: speed to lead, share within SLA, win rate."""
    league = services.office_league()
    return render_template("reports/league.html", league=league, currency=reporting_currency())


@bp.get("/events/<int:event_id>/report")
@roles_required(*MARKETING)
def event_report_page(event_id: int):
    """One event's report: revenue won first."""
    event = event_or_404(event_id)
    report = services.event_report(event)
    charts = {
        "funnel": svg.funnel(
            gettext("Funnel"),
            [(str(STAGES.get(s["stage"], s["stage"])), s["count"]) for s in report["funnel"]],
        ),
        "offices": svg.grouped_bars(
            gettext("Leads and wins per office"),
            [_office_label(o) for o in report["by_office"]],
            [
                (gettext("Leads"), "chart-b", [o["leads"] for o in report["by_office"]]),
                (gettext("Won"), "chart-a", [o["won"] for o in report["by_office"]]),
            ],
        ),
    }
    return render_template("reports/event_report.html", event=event, r=report, charts=charts)


@bp.route("/events/new", methods=["GET", "POST"])
@roles_required(*MARKETING)
def event_new():
    """Create an event from the web form."""
    return _event_form(None)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@roles_required(*MARKETING)
def event_edit(event_id: int):
    """Edit an event's venue, dates, cost, brief, autoresponder and questions."""
    return _event_form(event_or_404(event_id))


def _event_form(event: Event | None):
    values = (
        forms.event_values(event) if request.method == "GET" else forms.form_values(request.form)
    )
    errors: list[dict] = []
    if request.method == "POST":
        try:
            data = forms.parse_event_form(request.form, event)
            if event is None:
                event = create_event(EventIn.model_validate(data))
            else:
                update_event(event, EventPatch.model_validate(data))
            return redirect(url_for("reports.event_report_page", event_id=event.id))
        except ValidationError as exc:
            rollback()  # the form shows the event as stored, beside the values typed
            errors = validation_fields(exc)
        except (ApiError, forms.FormError) as exc:
            rollback()
            errors = exc.fields or [{"field": "form", "message": exc.message}]
    status = 422 if errors else 200
    return render_template("reports/event_form.html", event=event, v=values, errors=errors), status


@bp.get("/events/<int:event_id>/qr")
@roles_required(*MARKETING)
def event_qr(event_id: int):
    """The staff-join and visitor QR codes, with downloads and a printable A4 sheet."""
    event = event_or_404(event_id)
    return render_template(
        "reports/event_qr.html",
        event=event,
        join=join_url(event),
        visitor=visitor_url(event),
        sheet=request.args.get("print") == "1",
    )


@bp.get("/events/<int:event_id>/qr/<kind>.<fmt>")
@roles_required(*MARKETING)
def event_qr_file(event_id: int, kind: str, fmt: str):
    """A QR code as PNG or SVG: ``kind`` is join (booth staff) or visitor."""
    event = event_or_404(event_id)
    if kind not in qr.KINDS or fmt not in ("png", "svg"):
        abort(404)
    data = qr.qr_target(event, kind)
    body, mimetype = (
        (qr.qr_png(data), "image/png") if fmt == "png" else (qr.qr_svg(data), "image/svg+xml")
    )
    response = Response(body, mimetype=mimetype)
    if request.args.get("download"):
        filename = f"event-{event.id}-{kind}-qr.{fmt}"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/plan", methods=["GET", "POST"])
@roles_required(*MARKETING)
def plan_page():
    """The funnel planner: from a revenue target down to leads and budget."""
    result, errors = None, []
    if request.method == "POST":
        try:
            body = PlanIn.model_validate(forms.parse_plan_form(request.form))
            result = services.plan(body.revenue_target, body.event_id, body.currency)
        except ValidationError as exc:
            errors = validation_fields(exc)
        except (ApiError, forms.FormError) as exc:
            errors = [{"field": "form", "message": exc.message}]
    events = db.session.execute(db.select(Event.id, Event.name).order_by(Event.id.desc())).all()
    return render_template(
        "reports/plan.html", result=result, errors=errors, events=events, v=request.form,
        reporting_currency=reporting_currency(),
    ), (422 if errors else 200)  # fmt: skip


@bp.get("/wins")
@roles_required(*EVERYONE_IN_SALES)
def wins_page():
    """The wins board: won deals from event leads, newest first."""
    return render_template(
        "reports/wins.html", wins=services.wins_json(limit=200, viewer=current_user)
    )


# --- JSON API ------------------------------------------------------------------------


@bp.get("/api/v1/events/<int:event_id>/report")
@roles_required(*MARKETING)
@validated(response=EventReportOut)
def event_report_api(event_id: int):
    """The event report: revenue won, cost, ROI, funnel, speed to lead and quality."""
    return services.event_report(event_or_404(event_id))


@bp.post("/api/v1/plan")
@roles_required(*MARKETING)
@validated(body=PlanIn, response=PlanOut)
def plan_api(body: PlanIn):
    """Plan down the funnel from a revenue target using the measured rates."""
    return services.plan(body.revenue_target, body.event_id, body.currency)


@bp.get("/api/v1/wins")
@roles_required(*EVERYONE_IN_SALES)
@validated(query=WinsQuery, response=WinsOut)
def wins_api(query: WinsQuery):
    """Won deals from event leads, newest first."""
    return {"items": services.wins_json(limit=query.limit, viewer=current_user)}


def _export(query: ExportQuery, fmt: str, chunks, mimetype: str) -> Response:
    filters = query.filters()
    record_apart("export", detail={"format": fmt, "filters": filters})  # a GET: logged apart
    name = f"leads-event-{query.event_id}.{fmt}" if query.event_id else f"leads.{fmt}"
    response = Response(stream_with_context(chunks(filters)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/export/leads.csv")
@roles_required(*MARKETING)
@validated(query=ExportQuery)
def export_csv(query: ExportQuery):
    """Leads as CSV for CRM import (streamed); filters: event_id, office_id, status, rating."""
    return _export(query, "csv", export.csv_chunks, "text/csv; charset=utf-8")


@bp.get("/api/v1/export/leads.jsonl")
@roles_required(*MARKETING)
@validated(query=ExportQuery)
def export_jsonl(query: ExportQuery):
    """Leads as JSON lines for integrations (streamed); same filters as the CSV."""
    return _export(query, "jsonl", export.jsonl_chunks, "application/x-ndjson")
