"""NaN and Infinity in request bodies: refused with the field named, or kept as text on a lead.

JSON has no NaN or Infinity, but Python's ``json.dumps`` writes them (and ``1e400`` reads
back as infinity), so an integration written in Python can send them. No reply may be a
5xx or invalid JSON, and no such number may reach the database: PostgreSQL's jsonb
refuses it (a whole sync batch failed), SQLite stores it and every later reply that
echoes the lead is invalid JSON.

Every operation of the OpenAPI document that takes a JSON body is probed, field by field,
so a new endpoint is covered without touching this file.
"""

from __future__ import annotations

import json
import math
import uuid
from decimal import Decimal

import pytest

from backend.api.spec import build_openapi
from backend.extensions import db
from backend.leads.models import Lead

# As Python's json writes them; 1e400 is read back as infinity, and so is a number of more
# digits than a double holds (no exponent: 1 and 309 zeros).
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 309 + ".0")
# Lead capture keeps what is bad and flags it: these bodies are validated lead by lead.
KEEPS_LEADS = {"leads.capture_lead_post", "leads.sync_post", "events.public_capture_post"}
# Which person of the world may call a role-checked operation (the first that fits).
USER_ROLE = {
    "staff": "staff", "marketing": "marketing", "admin": "admin",
    "office_rep": "rep", "office_manager": "manager", "signed_in": "staff",
}  # fmt: skip


def strict_json(text: str):
    """Parse as a JSON parser that follows the standard would (a browser's, say)."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def non_finite_in_database() -> list[str]:
    """Every stored number (or number inside a JSON column) that is NaN or infinite."""

    def bad(value) -> bool:
        if isinstance(value, float):
            return not math.isfinite(value)
        if isinstance(value, Decimal):
            return not value.is_finite()
        if isinstance(value, dict):
            return any(bad(v) for v in value.values())
        if isinstance(value, list):
            return any(bad(v) for v in value)
        return False

    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).mappings():
            found += [f"{table.name}.{name}" for name, value in row.items() if bad(value)]
    db.session.rollback()
    return found


def body_operations(app) -> list[tuple[str, str, str, dict]]:
    """(operation id, method, path, operation) of every operation with a JSON body."""
    document = build_openapi(app)
    return [
        (operation["operationId"], method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if "requestBody" in operation
    ]


def body_fields(app, operation: dict) -> list[str]:
    """The top-level fields of the body; for a batch, the fields of one item."""
    schemas = build_openapi(app)["components"]["schemas"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    properties = schemas[ref.split("/")[-1]]["properties"]
    if operation["operationId"] == "leads.sync_post":
        item = properties["leads"]["items"]["$ref"].split("/")[-1]
        return list(schemas[item]["properties"])
    return list(properties)


def a_lead(**fields) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "first_name": "Nina",
        "email": f"nina.{uuid.uuid4().hex[:8]}@example.com",
        **fields,
    }


def with_raw(body: dict, field: str, token: str) -> str:
    """``body`` as JSON text with ``field`` (``a.0.b`` for nested) set to a raw token."""
    marker = f"@@{uuid.uuid4().hex}@@"
    node = body
    *parents, last = field.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = marker
    return json.dumps(body).replace(json.dumps(marker), token)


class Caller:
    def __init__(self, app, world):
        self.client = app.test_client()
        self.world = world

    def role_for(self, app, operation: dict, method: str, path: str) -> str:
        rule = path.replace("{", "<").replace("}", ">")
        for r in app.url_map.iter_rules():
            if r.rule.replace("<int:", "<") == rule and method in r.methods:
                roles = getattr(app.view_functions[r.endpoint], "allowed_roles", ())
                break
        else:
            raise AssertionError(f"no rule for {method} {path}")
        if not roles or "public" in roles:
            return "anonymous"
        return next(USER_ROLE[role] for role in roles if role in USER_ROLE)

    def path(self, path: str) -> str:
        ids = self.world.ids
        return (
            path.replace("{event_id}", str(ids["event"]))
            .replace("{lead_id}", str(self.world.new_lead()))
            .replace("{token}", ids["visitor_token"])
            .replace("{code}", "MOW")
        )

    def send(self, role: str, method: str, url: str, text: str):
        headers = {"X-Requested-With": "XMLHttpRequest"}  # as the PWA's fetch calls
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {self.world.tokens[role]}"
        response = self.client.open(
            url, method=method, data=text, content_type="application/json", headers=headers
        )
        db.session.remove()
        return response


def lead_body(operation_id: str, event_id: int) -> dict:
    if operation_id == "leads.sync_post":
        return {"leads": [{**a_lead(), "event_id": event_id}, {**a_lead(), "event_id": event_id}]}
    return a_lead()


def test_every_json_body_refuses_non_finite_numbers_with_the_field_named(app, world):
    caller = Caller(app, world)
    failures = []
    checked = 0
    for operation_id, method, path, operation in body_operations(app):
        if operation_id in KEEPS_LEADS:
            continue
        role = caller.role_for(app, operation, method, path)
        for field in body_fields(app, operation):
            for token in NON_FINITE:
                response = caller.send(role, method, caller.path(path), with_raw({}, field, token))
                reply = strict_json(response.get_data(as_text=True))
                named = [f["field"] for f in reply.get("error", {}).get("fields", [])]
                checked += 1
                if response.status_code != 422 or field not in named:
                    failures.append(
                        f"{operation_id} {field}={token}: {response.status_code} {reply}"
                    )
    assert checked > 100  # every body operation was reached, not just a few
    assert not failures, "\n".join(failures)
    assert non_finite_in_database() == []


def test_lead_capture_keeps_the_lead_when_any_field_is_non_finite(app, world):
    """Field by field on each capture endpoint: the lead is stored, or (a client id that is
    not a UUID, a consent that is not an object) refused with that field named."""
    caller = Caller(app, world)
    event_id = world.ids["event"]
    stored, failures = 0, []
    for operation_id, method, path, operation in body_operations(app):
        if operation_id not in KEEPS_LEADS:
            continue
        role = caller.role_for(app, operation, method, path)
        is_batch = operation_id == "leads.sync_post"
        for field in body_fields(app, operation):
            for token in NON_FINITE:
                body = lead_body(operation_id, event_id)
                text = with_raw(body, f"leads.0.{field}" if is_batch else field, token)
                response = caller.send(role, method, caller.path(path), text)
                reply = strict_json(response.get_data(as_text=True))
                if is_batch:
                    assert response.status_code == 200, (field, token, reply)
                    first, second = reply["results"]
                    assert second["status"] == "created"  # the batch's other lead is kept
                    ok = first["status"] == "created"
                    errors = first["errors"]
                else:
                    assert response.status_code in (201, 422), (field, token, reply)
                    ok = response.status_code == 201
                    errors = reply.get("error", {}).get("fields", [])
                stored += ok
                if not ok and field not in [e["field"] for e in errors]:
                    failures.append(f"{operation_id} {field}={token}: {reply}")
    assert not failures, "\n".join(failures)
    assert stored > 100  # most fields keep the lead
    assert non_finite_in_database() == []


@pytest.mark.parametrize("token", NON_FINITE)
def test_a_lead_with_non_finite_coordinates_is_kept_flagged_with_its_raw_text(app, world, token):
    body = {"leads": [{**a_lead(latitude=55.75, longitude=37.6), "event_id": world.ids["event"]}]}
    text = with_raw(body, "leads.0.latitude", token)
    response = Caller(app, world).send("staff", "POST", "/api/v1/sync", text)
    [result] = strict_json(response.get_data(as_text=True))["results"]
    assert result["status"] == "created"
    assert "bad_coordinates" in result["flags"]
    lead = db.session.get(Lead, result["lead_id"])
    assert (lead.latitude, lead.longitude) == (None, None)
    assert lead.original["latitude"] == token  # what the phone sent, as text
    assert non_finite_in_database() == []


def test_a_non_finite_answer_is_kept_as_text_and_the_lead_reads_back_as_json(app, world):
    caller = Caller(app, world)
    text = with_raw(a_lead(answers={"budget": 0}), "answers.budget", "Infinity")
    url = f"/api/v1/events/{world.ids['event']}/leads"
    created = caller.send("staff", "POST", url, text)
    assert created.status_code == 201
    lead_id = strict_json(created.get_data(as_text=True))["id"]
    detail = caller.send("admin", "GET", f"/api/v1/leads/{lead_id}", "")
    assert detail.status_code == 200
    assert strict_json(detail.get_data(as_text=True))["answers"] == {"budget": "Infinity"}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_non_finite_answer_is_kept_as_text_in_every_encoding_json_may_come_in(
    app, world, encoding
):
    """Python reads a JSON body in UTF-16 and UTF-32 as well as UTF-8: a NaN spelt in any of
    them is caught as it is in UTF-8, not stored as a number no JSON reply can hold."""
    caller = Caller(app, world)
    text = with_raw(a_lead(answers={"budget": 0}), "answers.budget", "NaN")
    url = f"/api/v1/events/{world.ids['event']}/leads"
    created = caller.send("staff", "POST", url, text.encode(encoding))
    assert created.status_code == 201, created.get_data(as_text=True)
    lead_id = strict_json(created.get_data(as_text=True))["id"]
    detail = caller.send("admin", "GET", f"/api/v1/leads/{lead_id}", "")
    assert strict_json(detail.get_data(as_text=True))["answers"] == {"budget": "NaN"}
    assert non_finite_in_database() == []


def test_a_plan_for_an_infinite_target_is_refused_in_words_a_person_understands(app, world):
    caller = Caller(app, world)
    response = caller.send("marketing", "POST", "/api/v1/plan", '{"revenue_target": Infinity}')
    assert response.status_code == 422
    [field] = strict_json(response.get_data(as_text=True))["error"]["fields"]
    assert field["field"] == "revenue_target"
    assert "Infinity" in field["message"]  # not "less than or equal to 1e12"


@pytest.mark.parametrize(
    "text",
    ["NaN", "[NaN]", "[" * 100_000 + "]" * 100_000],
    ids=["bare NaN", "array of NaN", "nested 100000 deep"],
)
def test_a_body_of_nan_or_nested_beyond_reading_is_refused_with_422(app, world, text):
    caller = Caller(app, world)
    for url in ("/api/v1/sync", "/api/v1/plan"):
        role = "staff" if url == "/api/v1/sync" else "marketing"
        response = caller.send(role, "POST", url, text)
        assert response.status_code == 422, (url, response.get_data(as_text=True)[:300])
        assert strict_json(response.get_data(as_text=True))["error"]["code"] in (
            "invalid_json",
            "invalid",
        )


@pytest.mark.parametrize("value", ['"NaN"', '"inf"', '"-Infinity"'])
def test_a_non_finite_number_sent_as_a_string_is_refused_as_not_finite(app, world, value):
    caller = Caller(app, world)
    response = caller.send("marketing", "POST", "/api/v1/plan", f'{{"revenue_target": {value}}}')
    assert response.status_code == 422
    [field] = strict_json(response.get_data(as_text=True))["error"]["fields"]
    assert field["field"] == "revenue_target"
    assert "finite" in field["message"]  # not "less than or equal to 1e12"
    preview = caller.send("admin", "POST", "/api/v1/routing/preview", f'{{"latitude": {value}}}')
    assert preview.status_code == 422
