"""Office admin pages: offices with territories, capacity and pause, and a routing preview."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from backend.audit.services import record
from backend.auth.access import roles_required
from backend.events.models import Event
from backend.extensions import db
from backend.offices.models import Office
from backend.routing.services import open_loads

bp = Blueprint("offices", __name__)


@bp.get("/admin/offices")
@roles_required("admin", "marketing")
def office_list():
    """Every office with its territories, capacity, load and paused state."""
    offices = db.session.scalars(select(Office).order_by(Office.country, Office.name)).all()
    events = db.session.execute(select(Event.id, Event.name).order_by(Event.id.desc())).all()
    return render_template("offices/list.html", offices=offices, loads=open_loads(), events=events)


@bp.post("/admin/offices/<code>/pause")
@roles_required("admin")
def toggle_pause(code: str):
    """Pause an office (holiday: it receives no leads) or resume it."""
    office = db.session.scalar(select(Office).where(Office.code == code))
    if office is None:
        flash(_("No office %(code)s.", code=code), "error")
        return redirect(url_for("offices.office_list"))
    office.paused = request.form.get("paused") == "1"
    record("office.pause" if office.paused else "office.resume", target=office)
    message = _("%(office)s is paused.") if office.paused else _("%(office)s receives leads again.")
    flash(message % {"office": office.name}, "info")
    return redirect(url_for("offices.office_list"))
