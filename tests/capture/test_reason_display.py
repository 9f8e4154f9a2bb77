"""The API keeps routing reasons in English (``reason``) and adds them in the reader's
language (``reason_display``): the profile language, else Accept-Language."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.leads.queries import _reason_in, reason_display
from backend.offices.models import Office
from backend.routing.reasons import Reason
from tests.factories import make_event, make_office, make_user

RU_NEAREST = "ближайший офис: Novosibirsk office, "
EN_NEAREST = "nearest office: Novosibirsk office, "


@pytest.fixture
def event(app):
    make_office("MOW")
    make_office("NSK")
    event = make_event(name="Mashex")
    db.session.commit()
    return event


def sign_in(auth, role="marketing", **fields):
    user = make_user(role, email=f"{role}@example.com", **fields)
    db.session.commit()
    auth.login(user.email)
    return user


def novosibirsk(**fields):
    return {"client_id": str(uuid.uuid4()), "first_name": "Ivan", "email": "ivan@example.ru",
            "city": "Novosibirsk", "country": "RU", **fields}  # fmt: skip


def assert_russian(routing):
    assert routing["reason"].startswith(EN_NEAREST), routing
    assert routing["reason_display"].startswith(RU_NEAREST), routing
    assert routing["reason_display"].endswith(" км"), routing


def test_a_russian_profile_gets_the_sync_reply_and_its_replay_in_russian(api, auth, event):
    sign_in(auth, language="ru")
    payload = {**novosibirsk(), "event_id": event.id}
    first = api.post("/api/v1/sync", json={"leads": [payload]}, headers={"Accept-Language": "en"})
    assert first.status_code == 200, first.json
    [created] = first.json["results"]
    assert created["status"] == "created"
    assert_russian(created["routing"])

    # A replay answers with the stored lead, also in Russian.
    again = api.post("/api/v1/sync", json={"leads": [payload]}, headers={"Accept-Language": "en"})
    [duplicate] = again.json["results"]
    assert duplicate["status"] == "duplicate"
    assert_russian(duplicate["routing"])
    assert duplicate["routing"]["reason"] == created["routing"]["reason"]


def test_a_browser_asking_for_russian_reads_the_lead_and_its_history_in_russian(api, auth, event):
    sign_in(auth)  # no profile language: the browser's decides
    created = api.post(f"/api/v1/events/{event.id}/leads", json=novosibirsk()).json
    url = f"/api/v1/leads/{created['id']}"

    russian = api.get(url, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}).json
    assert_russian(russian["routing"])
    [decision] = russian["routing_history"]
    assert decision["reason"] == russian["routing"]["reason"]
    assert decision["reason_display"] == russian["routing"]["reason_display"]

    listed = api.get(f"/api/v1/events/{event.id}/leads", headers={"Accept-Language": "ru"}).json[
        "items"
    ]
    assert_russian(listed[0]["routing"])

    english = api.get(url, headers={"Accept-Language": "en"}).json
    assert english["routing"]["reason_display"] == english["routing"]["reason"]
    assert english["routing"]["reason_display"].startswith(EN_NEAREST)


def test_the_profile_language_wins_over_the_browser_on_the_lead_detail(api, auth, event):
    sign_in(auth, language="ru")
    created = api.post(f"/api/v1/events/{event.id}/leads", json=novosibirsk()).json
    lead = api.get(f"/api/v1/leads/{created['id']}", headers={"Accept-Language": "en"}).json
    assert_russian(lead["routing"])
    assert_russian(lead["routing_history"][-1])


@pytest.mark.parametrize(
    ("profile", "header"), [("ru", "en"), (None, "ru-RU,ru;q=0.9")], ids=["profile", "browser"]
)
def test_the_routing_preview_explains_itself_in_russian(api, auth, event, profile, header):
    sign_in(auth, "admin", language=profile)
    response = api.post(
        "/api/v1/routing/preview",
        json={"city": "Novosibirsk", "country": "RU"},
        headers={"Accept-Language": header},
    )
    assert response.status_code == 200, response.json
    assert_russian(response.json)


def test_the_routing_preview_reads_in_english_for_an_english_reader(api, auth, event):
    sign_in(auth, "admin")
    body = api.post(
        "/api/v1/routing/preview",
        json={"city": "Novosibirsk", "country": "RU"},
        headers={"Accept-Language": "en-GB"},
    ).json
    assert body["reason_display"] == body["reason"]
    assert body["reason"].startswith(EN_NEAREST)


def test_the_lead_json_carries_the_language_of_its_form(api, auth, event):
    sign_in(auth)
    ru = api.post(f"/api/v1/events/{event.id}/leads", json=novosibirsk(language="ru-RU")).json
    de = api.post(
        f"/api/v1/events/{event.id}/leads",
        json=novosibirsk(email="hans@example.de", language="de-DE"),
    ).json
    assert api.get(f"/api/v1/leads/{ru['id']}").json["language"] == "ru"
    assert api.get(f"/api/v1/leads/{de['id']}").json["language"] is None  # no German mails
    listed = api.get(f"/api/v1/events/{event.id}/leads").json["items"]
    assert {item["id"]: item["language"] for item in listed} == {ru["id"]: "ru", de["id"]: None}


def test_the_openapi_document_names_reason_display_and_language(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("RoutingOut", "RoutingDecisionOut", "PreviewOut"):
        assert "reason_display" in schemas[name]["properties"], name
        assert "reason_display" in schemas[name]["required"], name
    assert "language" in schemas["LeadOut"]["properties"]
    assert "language" in schemas["LeadDetailOut"]["properties"]


def full_territory(load):
    return Reason(
        "territory_full",
        {"territory": "RU-NVS", "office": "Novosibirsk office", "km": 3,
         "open_load": load, "capacity": 5},
    )  # fmt: skip


def test_a_reason_shows_its_own_numbers_whatever_the_process_showed_before(app):
    # 3 and 3.0 are one key to a dict: the reason remembered for the one must not be
    # shown for the other.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert reason_display(full_territory(3)).endswith("(office full, 3/5)")
        assert reason_display(full_territory(3.0)).endswith("(office full, 3.0/5)")
        assert reason_display(full_territory(True)).endswith("(office full, True/5)")


def test_what_a_rep_typed_in_a_hand_over_is_not_kept_by_the_process(app):
    # Erasing the lead rewrites its stored reason; a copy remembered by a worker process
    # would outlive that.
    handover = Reason(
        "handover", {"source": "Moscow office", "user": "Anna", "text": "звонить Ивану вечером"}
    )
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        remembered = _reason_in.cache_info().currsize
        assert reason_display(handover).endswith(": звонить Ивану вечером")
        assert _reason_in.cache_info().currsize == remembered


def test_the_reason_names_every_office_as_the_reader_does_and_sees_a_rename_at_once(app, event):
    # Only the decision's own office used to be put into Russian: the full one stayed
    # "Moscow office" in a Russian sentence.
    offices = {office.code: office for office in db.session.scalars(select(Office))}
    offices["MOW"].names = {"ru": "Москва"}
    offices["NSK"].names = {"ru": "Новосибирск"}
    db.session.commit()
    spill = Reason(
        "capacity_spill",
        {"full_office": "Moscow office", "open_load": 5, "capacity": 5,
         "office": "Novosibirsk office", "km": 2.5},
    )  # fmt: skip
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert reason_display(spill) == (
            "офис Москва заполнен (5/5); следующий ближайший офис со свободными местами: "
            "Новосибирск, 2,5 км"
        )
    offices["NSK"].names = {"ru": "Новосибирский офис"}
    db.session.commit()
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert reason_display(spill).endswith(": Новосибирский офис, 2,5 км")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert reason_display(spill) == spill.reason
