import pytest

from backend.auth.services import change_password, issue_token, revoke_token
from backend.extensions import db
from tests.factories import make_event, make_office, make_user


def test_login_me_and_logout(auth, api):
    office = make_office("MOW")
    make_user("office_rep", office, email="rep@example.com", name="Rita Rep")
    db.session.commit()

    response = auth.login("rep@example.com")
    assert response.status_code == 200
    assert response.json["user"]["email"] == "rep@example.com"
    assert response.json["user"]["office"] == {"code": "MOW", "name": "Moscow office"}

    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["user"]["role"] == "office_rep"

    assert auth.logout().status_code == 200
    assert api.get("/api/v1/me").status_code == 401


def test_a_wrong_password_is_refused_and_audited(auth):
    make_user("staff", email="s@example.com")
    db.session.commit()
    response = auth.login("s@example.com", "wrong")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    from backend.audit.models import AuditEntry

    actions = db.session.scalars(db.select(AuditEntry.action)).all()
    assert "auth.failed_sign_in" in actions


def test_me_lists_the_events_staff_work(auth, api):
    user = make_user("staff", email="booth@example.com")
    event = make_event(name="Innoprom")
    user.events.append(event)
    db.session.commit()
    auth.login("booth@example.com")
    assert api.get("/api/v1/me").json["user"]["events"] == [{"id": event.id, "name": "Innoprom"}]


def test_a_bearer_token_authenticates_and_records_its_use(client):
    user = make_user("marketing", email="crm@example.com")
    token = issue_token(user, "crm")
    db.session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["user"]["email"] == "crm@example.com"
    from backend.auth.access import token_last_used
    from backend.auth.models import ApiToken

    stored = db.session.scalar(db.select(ApiToken))
    assert stored.token_hash != token and token not in stored.token_hash
    assert token_last_used(stored) is not None


def test_a_revoked_or_unknown_token_is_refused(client):
    user = make_user("marketing")
    token = issue_token(user)
    db.session.commit()
    from backend.auth.models import ApiToken

    revoke_token(db.session.scalar(db.select(ApiToken.id)))
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_bearer_calls_need_no_csrf_header(client):
    user = make_user("marketing")
    token = issue_token(user)
    db.session.commit()
    response = client.post(
        "/api/v1/events", json={"name": "Expo"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201


def test_a_cookie_session_post_without_the_csrf_header_is_refused(client, auth):
    make_user("marketing", email="m@example.com")
    db.session.commit()
    auth.login("m@example.com")
    response = client.post("/api/v1/events", json={"name": "Expo"})
    assert response.status_code == 400


def test_changing_the_password_ends_existing_sessions(auth, api):
    user = make_user("marketing", email="m@example.com")
    db.session.commit()
    auth.login("m@example.com")
    assert api.get("/api/v1/me").status_code == 200
    change_password(user, "a-new-password")
    db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_web_pages_redirect_to_login_and_api_answers_json_401(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("role", "home"),
    [("admin", "/admin/offices"), ("marketing", "/marketing"), ("office_rep", "/office"),
     ("office_manager", "/office"), ("staff", "/app/")],
)  # fmt: skip
def test_each_role_lands_on_its_home(client, role, home):
    office = make_office("MOW")
    make_user(role, office if role.startswith("office") else None, email=f"{role}@example.com")
    db.session.commit()
    client.post(
        "/login",
        data={
            "email": f"{role}@example.com",
            "password": "secret-pass",
            "csrf_token": _csrf(client),
        },
    )
    assert client.get("/").headers["Location"].endswith(home)


def _csrf(client):
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


ROLE_ENDPOINTS = [
    # (method, url, body, roles allowed)
    ("POST", "/api/v1/events", {"name": "X"}, {"admin", "marketing"}),
    (
        "POST",
        "/api/v1/routing/preview",
        {"city": "Moscow", "country": "RU"},
        {"admin", "marketing"},
    ),
    ("GET", "/api/v1/me", None, {"admin", "marketing", "office_manager", "office_rep", "staff"}),
    ("POST", "/api/v1/sync", {"leads": []}, {"admin", "marketing", "staff"}),
]


@pytest.mark.parametrize(("method", "url", "body", "allowed"), ROLE_ENDPOINTS)
@pytest.mark.parametrize("role", ["admin", "marketing", "office_manager", "office_rep", "staff"])
def test_every_role_check(auth, api, role, method, url, body, allowed):
    office = make_office("MOW")
    make_user(role, office if role.startswith("office") else None, email=f"{role}@example.com")
    db.session.commit()
    auth.login(f"{role}@example.com")
    response = api.get(url) if method == "GET" else api.post(url, json=body)
    if role in allowed:
        assert response.status_code < 400, response.json
    else:
        assert response.status_code == 403
