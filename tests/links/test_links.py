"""The site's public URL: every link that leaves the browser is absolute and on it."""

from __future__ import annotations

import io
import uuid
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image

from backend.extensions import db
from backend.leads.models import Lead
from backend.links import site_url_problem
from backend.messaging.rendering import render_autoresponder, render_lead_mail
from backend.messaging.webhooks import lead_payload
from tests.factories import make_event, make_office, make_user


def _decode_png(data: bytes) -> str:
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    return found.text


def _signed_in(client, auth, role: str):
    user = make_user(role)
    db.session.commit()
    auth.login(user.email)
    return user


def _lead(event, office, **fields) -> Lead:
    values = dict(
        client_id=uuid.uuid4(), event=event, office=office, first_name="Anna",
        email="anna@example.com", email_normalized="anna@example.com", consent_contact=True,
    )  # fmt: skip
    values.update(fields)
    lead = Lead(**values)
    db.session.add(lead)
    db.session.flush()
    return lead


def test_the_qr_png_decodes_to_an_absolute_url_on_the_site_url(app, client, auth):
    event = make_event()
    _signed_in(client, auth, "marketing")
    for kind, path in (("visitor", f"/v/{event.visitor_token}"), ("join", "/app/?join=")):
        png = client.get(f"/events/{event.id}/qr/{kind}.png")
        assert png.status_code == 200
        text = _decode_png(png.data)
        assert text.startswith("http://leadrelay.test/")
        assert path in text
    assert _decode_png(client.get(f"/events/{event.id}/qr/join.png").data).endswith(
        event.join_token
    )


def test_a_mails_unsubscribe_link_and_lead_link_are_on_the_site_urls_host(app):
    event, office = make_event(), make_office()
    lead = _lead(event, office)
    mail = render_autoresponder(lead)
    link = mail["payload"]["headers"]["List-Unsubscribe"].strip("<>")
    assert urlsplit(link).netloc == "leadrelay.test" and urlsplit(link).path.startswith("/u/")
    assert link in mail["body_text"] and link in mail["body_html"]
    notice = render_lead_mail("office_notice", lead, office=office)
    assert f"http://leadrelay.test/office/leads/{lead.id}" in notice
    assert lead_payload("lead.routed", lead)["lead"]["url"] == (
        f"http://leadrelay.test/office/leads/{lead.id}"
    )


def test_only_admins_reach_the_settings_page(app, client, auth):
    _signed_in(client, auth, "marketing")
    assert client.get("/admin/settings").status_code == 403


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://localhost:8000", "loopback"),
        ("http://127.0.0.1:8000", "loopback"),
        ("http://[::1]:8000", "loopback"),
        ("http://192.168.1.20:8000", "plain_http"),
        ("http://leads.example.com", "plain_http"),
        ("https://192.168.1.20:8443", None),
        ("https://leads.example.com", None),
    ],
)
def test_which_site_urls_phones_cannot_use(url, problem):
    assert site_url_problem(url) == problem


def test_make_run_finds_the_lan_address_through_the_default_route():
    import ipaddress

    from backend.devserver import lan_address

    address = lan_address()
    assert address is not None and not ipaddress.ip_address(address).is_loopback


def test_make_run_keeps_request_logs_off_unless_asked_and_prints_the_qr_of_the_site_url(
    monkeypatch, capsys
):
    from backend import devserver

    monkeypatch.delenv("REQUEST_LOG", raising=False)
    web = devserver.commands(None)["web"]
    assert "--access-logfile" not in web and web[web.index("--log-level") + 1] == "warning"
    monkeypatch.setenv("REQUEST_LOG", "1")
    assert "--access-logfile" in devserver.commands(None)["web"]
    tls = devserver.commands(("cert.pem", "key.pem"))["web"]
    assert tls[tls.index("--certfile") + 1] == "cert.pem"

    assert devserver.base_url("192.168.1.20", tls=False) == f"http://192.168.1.20:{devserver.PORT}"
    assert devserver.base_url("fe80::1", tls=True).startswith("https://[fe80::1]:")
    devserver.print_welcome(
        [("admin", "admin@x", "pw")], "TOKEN", "http://192.168.1.20:8000", tls=False
    )
    out = capsys.readouterr().out
    assert "from phones:      http://192.168.1.20:8000/" in out
    assert "http://192.168.1.20:8000/app/?join=TOKEN" in out
    assert out.index("admin@x") < out.index("Scan to open") < out.rindex("Ctrl-C stops")
