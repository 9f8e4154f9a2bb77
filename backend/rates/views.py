"""The admin's exchange-rate page: the reporting currency, the latest rates, an import."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from backend.audit.services import record
from backend.auth.access import roles_required
from backend.errors import ApiError
from backend.rates import services
from backend.transaction import rollback

bp = Blueprint("rates", __name__)


@bp.get("/admin/rates")
@roles_required("admin")
def rates_page():
    """The reporting currency and each currency's latest rate, with the import form."""
    return render_template(
        "rates/rates.html",
        reporting_currency=services.reporting_currency(),
        rates=services.latest_rates(),
        count=services.rate_count(),
    )


@bp.post("/admin/rates/import")
@roles_required("admin")
def rates_import():
    """Import a CBR daily XML or a ``date,currency,rate_to_reporting`` CSV."""
    upload = request.files.get("file")  # MAX_CONTENT_LENGTH bounds its size
    data = upload.read() if upload else b""
    if not data:
        flash(_("Choose a rates file first."), "error")
    else:
        try:
            result = services.import_rates(data, upload.filename or "")
        except services.RatesFileError as exc:
            rollback()  # answered with a redirect, which commits: no half-imported file
            flash(_("The rates file could not be read: %(reason)s", reason=str(exc)), "error")
        else:
            record("rates.import", detail={"file": upload.filename, "rates": result["rates"]})
            first, last = result["days"]
            flash(
                _("%(num)s rates imported (%(first)s – %(last)s).", num=result["rates"],
                  first=first.isoformat(), last=last.isoformat()),
                "info",
            )  # fmt: skip
    return redirect(url_for("rates.rates_page"))


@bp.post("/admin/rates/currency")
@roles_required("admin")
def reporting_currency_update():
    """Change the currency every report sums money in."""
    try:
        code = services.set_reporting_currency(request.form.get("reporting_currency", ""))
    except ApiError:
        rollback()
        flash(_("A currency is three letters, such as RUB or EUR."), "error")
    else:
        record("rates.reporting_currency", detail={"currency": code})
        flash(_("Reports now sum money in %(currency)s.", currency=code), "info")
    return redirect(url_for("rates.rates_page"))
