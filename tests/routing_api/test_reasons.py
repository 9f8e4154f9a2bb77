"""Routing reasons are stored as a code and its parameters: an office name with "; " in it
reads right in both languages, every code has words in English and Russian, and a reason an
earlier version stored as English text is converted once."""

from __future__ import annotations

import uuid

from flask_babel import force_locale

from backend.extensions import db
from backend.i18n import routing_reason
from backend.leads.models import Lead, RoutingDecision
from backend.routing.reasons import REASONS, Reason, english
from tests.factories import make_event, make_office, make_user

# Words of the English reasons that must not be left in a Russian one (office names,
# territories and the lead's city are data and stay as they are).
ENGLISH_WORDS = {"nearest", "territory", "claimed", "room", "escalation", "full", "next",
                 "unknown", "within", "km", "Handed", "reassigned", "limit", "marketing",
                 "decides", "lead", "office", "location", "city", "country", "none", "after",
                 "other", "venue"}  # fmt: skip

# One example of each code, with offices whose names contain the old clause separator.
EXAMPLES = {
    "territory": {"territory": "RU-48", "office": "North; South", "km": 3.4},
    "territory_full": {"territory": "DE:8", "office": "North; South", "km": 12.0,
                       "open_load": 5, "capacity": 5},
    "nearest": {"office": "North; South", "km": 1234.0},
    "nearest_full": {"office": "North; South", "km": 2.0, "open_load": 5, "capacity": 5,
                     "limit_km": 3.0},
    "capacity_spill": {"full_office": "North; South", "open_load": 5, "capacity": 5,
                       "office": "East; West", "km": 634.0},
    "fallback": {"city": "Atlantis", "country": None, "office": "North; South", "km": 0.4},
    "fallback_spill": {"city": None, "country": "RU", "full_office": "North; South",
                       "open_load": 5, "capacity": 5, "office": "East; West", "km": 51.0},
    "fallback_full": {"city": "Atlantis", "country": "RU", "office": "North; South",
                      "km": 20.0, "open_load": 1, "capacity": 1, "limit_km": 30.0},
    "escalation": {"office": "East; West", "km": 634.0},
    "escalation_after": {"after": "North; South", "office": "East; West", "km": 634.0},
    "escalation_full": {"office": "East; West", "km": 634.0, "open_load": 3, "capacity": 3},
    "escalation_full_after": {"after": "North; South", "office": "East; West", "km": 634.0,
                              "open_load": 3, "capacity": 3},
    "handover": {"source": "North; South", "user": "Anna", "text": "wrong region; Kazan"},
    "reassign_limit": {"moves": 2},
    "no_office_left": {},
    "no_other_office": {},
}  # fmt: skip


def test_every_reason_code_reads_in_english_and_russian(app):
    assert set(EXAMPLES) == set(REASONS), "each code needs an example here"
    for code, params in EXAMPLES.items():
        reason = Reason(code, params)
        with force_locale("en"):
            assert routing_reason(reason) == english(code, params) == reason.reason
        with force_locale("ru"):
            russian = routing_reason(reason)
        assert "%(" not in russian and "%(" not in reason.reason, code
        words = set(russian.replace(",", " ").replace("(", " ").replace(";", " ").split())
        assert not words & ENGLISH_WORDS, (code, russian)
        for name in ("office", "full_office", "after", "source"):
            if name in params:
                assert params[name] in russian and params[name] in reason.reason, (code, name)
    with force_locale("ru"):
        assert routing_reason(Reason("nearest", EXAMPLES["nearest"])) == (
            "ближайший офис: North; South, 1\xa0234 км"
        )
        assert routing_reason(Reason("fallback", EXAMPLES["fallback"])) == (
            "местоположение неизвестно (город «Atlantis», страна не указана); "
            "ближайший офис к месту мероприятия: North; South, 0,4 км"
        )
    assert english("capacity_spill", EXAMPLES["capacity_spill"]) == (
        "North; South office full (5/5); next nearest East; West with room, 634 km"
    )


def _sign_in(auth, language=None):
    make_user("marketing", email="m@example.com", language=language)
    db.session.commit()
    auth.login("m@example.com")


def _capture(api, event, **headers):
    n = uuid.uuid4()
    lead = {"client_id": str(n), "first_name": "Ivan", "email": f"ivan.{n.hex[:8]}@example.ru",
            "city": "Moscow", "country": "RU"}  # fmt: skip
    response = api.post(f"/api/v1/events/{event.id}/leads", json=lead, headers=headers)
    assert response.status_code in (200, 201), response.json
    return response.json


def test_an_office_named_with_a_semicolon_routes_and_reads_right_in_both_languages(
    api, auth, client
):
    make_office("MOW", name="North; South", capacity=1)
    make_office("NSK", name="East; West")
    event = make_event(name="Mashex")
    _sign_in(auth)

    first = _capture(api, event, **{"Accept-Language": "ru"})
    assert first["office"]["name"] == "North; South"
    routing = first["routing"]
    assert routing["reason_code"] == "nearest"
    assert routing["reason_params"]["office"] == "North; South"
    assert routing["reason"].startswith("nearest office: North; South, ")
    assert routing["reason_display"].startswith("ближайший офис: North; South, ")

    # The office is now full and the next one is far: it takes the lead anyway, and the
    # reason names the full office in two clauses.
    second = _capture(api, event, **{"Accept-Language": "ru"})
    routing = second["routing"]
    assert routing["reason_code"] == "nearest_full"
    assert "; North; South office full (1/1), no office with room within " in routing["reason"]
    shown = routing["reason_display"]
    assert shown.startswith("ближайший офис: North; South, ")
    assert "; офис North; South заполнен (1/1), в пределах " in shown
    assert shown.endswith(" км нет офиса со свободными местами")

    english_lead = api.get(f"/api/v1/leads/{second['id']}", headers={"Accept-Language": "en"})
    assert english_lead.json["routing"]["reason_display"] == routing["reason"]
    assert english_lead.json["routing_history"][-1]["reason"] == routing["reason"]

    # The office's page in Russian shows the same words.
    rep = make_user("office_rep", office=db.session.get(Lead, second["id"]).office,
                    email="rep@example.com", language="ru")  # fmt: skip
    db.session.commit()
    auth.login(rep.email)
    page = client.get(f"/office/leads/{second['id']}").get_data(as_text=True)
    assert "офис North; South заполнен (1/1)" in page
    assert "office full" not in page


def test_a_reason_stored_as_english_text_is_converted_once_and_then_reads_in_russian(
    api, auth, runner
):
    office = make_office("MOW", name="North; South")
    event = make_event(name="Mashex")
    _sign_in(auth, language="ru")
    lead_id = _capture(api, event)["id"]
    old = "nearest office: North; South, 3.4 km; North; South office full (5/5), " \
          "no office with room within 5.1 km"  # fmt: skip
    decision = RoutingDecision(lead_id=lead_id, office_id=office.id, method="nearest",
                               reason=old, reason_code="", reason_params={})  # fmt: skip
    unknown = RoutingDecision(lead_id=lead_id, office_id=office.id, method="nearest",
                              reason="moved by the night shift", reason_code="")  # fmt: skip
    db.session.add_all([decision, unknown])
    db.session.commit()

    result = runner.invoke(args=["convert-reasons"])
    assert result.exit_code == 0, result.output
    assert "converted 1 routing reasons; 1 left as written" in result.output
    db.session.expire_all()
    assert decision.reason_code == "nearest_full"
    assert decision.reason_params == {"office": "North; South", "km": 3.4, "open_load": 5,
                                      "capacity": 5, "limit_km": 5.1}  # fmt: skip
    assert decision.reason == old

    history = api.get(f"/api/v1/leads/{lead_id}").json["routing_history"]
    by_reason = {d["reason"]: d for d in history}
    assert by_reason[old]["reason_display"] == (
        "ближайший офис: North; South, 3,4 км; офис North; South заполнен (5/5), "
        "в пределах 5,1 км нет офиса со свободными местами"
    )
    assert by_reason["moved by the night shift"]["reason_display"] == "moved by the night shift"
    assert by_reason["moved by the night shift"]["reason_code"] == ""

    again = runner.invoke(args=["convert-reasons"])
    assert "converted 0 routing reasons; 1 left as written" in again.output
