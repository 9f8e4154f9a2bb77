"""With no PUBLIC_BASE_URL: the address an admin or marketing user first signs in on is
kept, shown and editable, with a banner while phones cannot use it."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from backend.admin.models import SiteSetting
from backend.audit.models import AuditEntry
from backend.extensions import db
from backend.links import public_url, site_url
from tests.factories import make_event, make_user


def _decode_png(data: bytes) -> str:
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    return found.text


@pytest.fixture
def config(instance_dir, database_url):
    from tests.conftest import base_config

    # Behind one proxy (docker-compose's Caddy) as well; requests without its headers are
    # read as they come.
    return {**base_config(instance_dir, database_url), "PUBLIC_BASE_URL": "", "TRUSTED_PROXIES": 1}


def test_with_no_public_base_url_the_first_admin_or_marketing_address_is_kept(app, auth):
    client = app.test_client()
    staff = make_user("staff")
    db.session.commit()
    client.post(
        "/api/v1/auth/login", json={"email": staff.email, "password": "secret-pass"},
        headers={"X-Requested-With": "XMLHttpRequest"}, base_url="http://10.0.0.9:8000",
    )  # fmt: skip
    client.get("/app/", base_url="http://10.0.0.9:8000")
    assert db.session.get(SiteSetting, "site_url") is None  # booth staff do not set it

    marketing = make_user("marketing")
    db.session.commit()
    other = app.test_client()
    other.post(
        "/api/v1/auth/login", json={"email": marketing.email, "password": "secret-pass"},
        headers={"X-Requested-With": "XMLHttpRequest"}, base_url="http://192.168.1.20:8000",
    )  # fmt: skip
    other.get("/marketing", base_url="http://192.168.1.20:8000")
    for base in ("http://elsewhere:9000", "http://192.168.1.20:8000"):
        other.post(
            "/api/v1/auth/login", json={"email": marketing.email, "password": "secret-pass"},
            headers={"X-Requested-With": "XMLHttpRequest"}, base_url=base,
        )  # fmt: skip
    other.get("/marketing", base_url="http://elsewhere:9000")  # the first one stays
    db.session.expire_all()
    assert site_url() == "http://192.168.1.20:8000"
    event = make_event()
    db.session.commit()
    png = other.get(f"/events/{event.id}/qr/visitor.png", base_url="http://elsewhere:9000")
    assert _decode_png(png.data) == f"http://192.168.1.20:8000/v/{event.visitor_token}"
    assert public_url("/u/x") == "http://192.168.1.20:8000/u/x"


def test_an_admin_sees_and_changes_the_site_url_with_a_banner_while_phones_cannot_use_it(app):
    client = app.test_client()
    admin = make_user("admin")
    db.session.commit()
    local = "http://127.0.0.1:8000"
    client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": "secret-pass"},
        headers={"X-Requested-With": "XMLHttpRequest"}, base_url=local,
    )  # fmt: skip
    page = client.get("/admin/settings", base_url=local).get_data(as_text=True)
    assert 'value="http://127.0.0.1:8000"' in page
    assert "phones cannot reach that address" in page  # the banner
    assert "the address an admin or marketing user first signed in on" in page

    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post(
        "/admin/settings", data={"csrf_token": token, "site_url": "ftp://x"}, base_url=local
    )
    assert bad.status_code == 422
    saved = client.post(
        "/admin/settings", data={"csrf_token": token, "site_url": "http://192.168.1.20:8000/"},
        base_url=local, follow_redirects=True,
    )  # fmt: skip
    html = saved.get_data(as_text=True)
    assert site_url() == "http://192.168.1.20:8000"
    assert "will not work offline" in html  # plain HTTP on a LAN address
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "settings.site_url"))
    assert entry.detail == {"from": local, "to": "http://192.168.1.20:8000"}

    client.post(
        "/admin/settings", data={"csrf_token": token, "site_url": "https://leads.example.com"},
        base_url=local,
    )  # fmt: skip
    html = client.get("/admin/settings", base_url=local).get_data(as_text=True)
    assert "site-url-banner" not in html


def test_behind_caddy_the_first_address_is_the_https_one_the_proxy_was_asked_for(app):
    client = app.test_client()
    admin = make_user("admin")
    db.session.commit()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "leads.example.com"}
    client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": "secret-pass"},
        headers={"X-Requested-With": "XMLHttpRequest", **forwarded}, base_url="http://web:8000",
    )  # fmt: skip
    page = client.get("/admin/settings", headers=forwarded, base_url="http://web:8000")
    assert site_url() == "https://leads.example.com"
    assert "site-url-banner" not in page.get_data(as_text=True)


def _form_sign_in(client, email: str, base_url: str):
    page = client.get("/login", base_url=base_url).get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post(
        "/login", data={"csrf_token": csrf, "email": email, "password": "secret-pass"},
        base_url=base_url,
    )  # fmt: skip


def test_the_sign_in_form_keeps_the_address_and_page_views_never_do(app):
    staff, marketing = make_user("staff"), make_user("marketing")
    db.session.commit()
    booth = app.test_client()
    assert _form_sign_in(booth, staff.email, "http://10.0.0.9:8000").status_code == 302
    assert db.session.get(SiteSetting, "site_url") is None  # booth staff do not set it

    desk = app.test_client()
    assert _form_sign_in(desk, marketing.email, "http://192.168.1.20:8000").status_code == 302
    db.session.expire_all()
    assert site_url() == "http://192.168.1.20:8000"
    # Forgotten (as before any sign-in): the signed-in user's page views do not store it.
    db.session.delete(db.session.get(SiteSetting, "site_url"))
    db.session.commit()
    assert desk.get("/marketing", base_url="http://192.168.1.20:8000").status_code == 200
    db.session.expire_all()
    assert db.session.get(SiteSetting, "site_url") is None
