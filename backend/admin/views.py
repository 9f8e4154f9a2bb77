"""The admin settings page: the site's public URL that links and QR codes use."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from backend.audit.services import record
from backend.auth.access import roles_required
from backend.links import ADMIN, ENVIRONMENT, set_site_url, site_url_info

bp = Blueprint("admin", __name__)


@bp.route("/admin/settings", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    """Show the site's public URL and where it comes from; an admin may change it
    (unless ``PUBLIC_BASE_URL`` fixes it)."""
    info = site_url_info()
    error = None
    if request.method == "POST" and info.source != ENVIRONMENT:
        try:
            row = set_site_url(request.form.get("site_url", ""), ADMIN)
        except ValueError:
            error = _("Write the address as https://name or http://address:port.")
        else:
            record("settings.site_url", detail={"from": info.url, "to": row.value})
            flash(_("Links and QR codes now use %(url)s.", url=row.value), "info")
            return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html",
        info=info,
        error=error,
        value=request.form.get("site_url", info.url) if error else info.url,
        here=request.host_url.rstrip("/"),
    ), (422 if error else 200)
