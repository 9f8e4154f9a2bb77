"""schemathesis against /api/v1/openapi.json through the WSGI app, signed in as each role.

Every operation gets generated requests (valid and invalid), each sent with the bearer
token of a role; path parameters are real objects of the world half the time, so the
checks reach past the 404s. Each response must not be a 5xx and must match the document:
its status code, content type, headers and body schema.

``make test`` runs about 3,000 cases: per operation ``LEADRELAY_FUZZ_EXAMPLES`` valid ones
(60) and half as many invalid ones. Each case is sent as one role: three times in four a
role the operation admits (so most cases reach the view, not just the role check), else
any of the eight, each role of a group equally often. ``make fuzz`` runs many more, role
by role (a role the operation refuses gets only a few), and shrinks a failure to its
smallest form. Derandomized, so a run is repeatable and a failure found once is found
again.

The time goes into generating cases (5 to 9 ms of CPU each; an invalid one often takes
several tries) and into the app answering them. One app and one world serve the whole
module, and nothing is shrunk in ``make test``.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import zlib
from collections import Counter

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend import create_app
from backend.extensions import db
from tests.conftest import REDIS_URL, _forget_request_user, base_config, truncate_all
from tests.security.conftest import ROLES, build_world

# Positive cases per operation (negative: half as many).
EXAMPLES = int(os.environ.get("LEADRELAY_FUZZ_EXAMPLES", "60"))
# Cases per operation for a role it refuses (make fuzz, role by role).
REFUSED_EXAMPLES = 10
FUZZ_PER_ROLE = os.environ.get("LEADRELAY_FUZZ_PER_ROLE") == "1"
# make test stops at the first failing case; make fuzz shrinks it to the smallest one.
PHASES = [Phase.explicit, Phase.generate] + ([Phase.shrink] if FUZZ_PER_ROLE else [])


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")


@schemathesis.check
def standard_json(ctx, response, case):
    """A JSON reply holds no NaN or Infinity (Python writes them; a browser cannot read
    them). The schema checks cannot see it: Python reads them back as numbers."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if "json" not in content_type:
        return None
    documents = response.content.splitlines() if "ndjson" in content_type else [response.content]
    for document in documents:
        try:
            json.loads(document, parse_constant=_not_json)
        except ValueError as exc:
            raise AssertionError(f"the reply is not standard JSON: {exc}") from None
    return None


CHECKS = [
    not_a_server_error,
    standard_json,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = [
    GenerationMode(m)
    for m in os.environ.get("LEADRELAY_FUZZ_MODES", "positive,negative").split(",")
]
# Operations whose effect would end the run's own sign-in or wipe the world it probes.
SKIP = {"auth_api.logout_post"}
# The people of the world who hold each role a view may admit.
HOLDERS = {
    "staff": ("staff", "staff_other"),
    "office_rep": ("rep", "rep_other"),
    "office_manager": ("manager",),
    "marketing": ("marketing",),
    "admin": ("admin",),
    "signed_in": tuple(r for r in ROLES if r != "anonymous"),
    "public": ROLES,
}
# Counted across the module for the summary line and the floor below.
SENT: Counter = Counter()


@pytest.fixture(scope="module")
def fuzz_app(_schema, instance_dir, database_url):
    """One app and one world for the module: building them costs as much as a hundred cases."""
    app = create_app(base_config(instance_dir, database_url))
    app.teardown_request(_forget_request_user)
    redis.Redis.from_url(REDIS_URL).flushdb()
    with app.app_context():
        truncate_all()
        world = build_world()
        yield app, world
        db.session.remove()


@pytest.fixture(scope="module")
def schema(fuzz_app, pytestconfig):
    app, _ = fuzz_app
    pytestconfig.fuzz_sent = SENT  # for the summary line (conftest.py)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _settings(mode: GenerationMode, *, admitted: bool):
    examples = EXAMPLES if mode is GenerationMode.POSITIVE else max(EXAMPLES // 2, 1)
    if not admitted:
        # The role check answers before the input is read: a few cases show its answer
        # matches the document, more would only repeat it.
        examples = min(examples, REFUSED_EXAMPLES)
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=PHASES,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _real_path_values(world) -> dict:
    return {
        "event_id": lambda: world.ids["event"],
        "lead_id": world.new_lead,
        "token": lambda: world.ids["visitor_token"],
        "code": lambda: "MOW",
    }


def _auth_headers(world, role: str) -> dict:
    return {} if role == "anonymous" else {"Authorization": f"Bearer {world.tokens[role]}"}


def admitted_roles(app, operation) -> tuple[str, ...]:
    """The people of the world whose role the operation's view admits."""
    endpoint = operation.definition.raw["operationId"].rsplit("_", 1)[0]
    allowed = getattr(app.view_functions[endpoint], "allowed_roles", ("public",))
    return tuple(dict.fromkeys(p for role in allowed for p in HOLDERS.get(role, ())))


def role_plan(admitted: tuple[str, ...], roles: tuple[str, ...]) -> list[str]:
    """Three cases in four as an admitted role (when any is among ``roles``), else any,
    every role of each group equally often."""
    admitted = tuple(r for r in admitted if r in roles)
    if not admitted:
        return list(roles)
    return [*admitted] * 3 * len(roles) + [*roles] * len(admitted)


def role_of(case, plan: list[str]) -> str:
    """The role a case is sent as: a function of the case, so a re-run of a failing case
    (hypothesis replays it) is sent as the same role. Drawing the role with hypothesis
    would favour the first roles of the list, as it favours simple choices."""
    body = None if case.body is NOT_SET else case.body  # NOT_SET's repr holds its address
    key = repr((case.path_parameters, case.query, dict(case.headers or {}), case.cookies, body))
    return plan[zlib.crc32(key.encode("utf-8", "surrogatepass")) % len(plan)]


def _fuzz_operation(app, operation, mode, world, roles) -> str | None:
    real = _real_path_values(world)
    admitted = admitted_roles(app, operation)
    plan = role_plan(admitted, roles)

    @_settings(mode, admitted=any(role in admitted for role in roles))
    @given(case=operation.as_strategy(generation_mode=mode), use_real=st.booleans())
    def run(case, use_real):
        role = role_of(case, plan)
        if use_real and mode is GenerationMode.POSITIVE:
            for name in list(case.path_parameters or {}):
                if name in real:
                    case.path_parameters[name] = real[name]()
        SENT[mode.value] += 1
        SENT[f"role:{role}"] += 1
        try:
            case.call_and_validate(headers=_auth_headers(world, role), checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            exc.add_note(f"Sent as {role} (the curl line filters the token out).")
            raise
        finally:
            # Each request of a real server ends with its session removed; the test's
            # requests share one app context, so end it here as the teardown would.
            db.session.remove()

    try:
        run()
    except Unsatisfiable:
        return None  # no invalid value exists for this operation's inputs (a free string)
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported
        text = "".join(traceback.format_exception_only(type(exc), exc))
        return f"{operation.label} [{mode.value}]: {text[:3000]}"
    return None


def _fuzz(fuzz_app, schema, mode, roles) -> int:
    """Fuzz every operation; the number of cases sent."""
    app, world = fuzz_app
    before, started = SENT[mode.value], time.monotonic()
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIP:
            continue
        failure = _fuzz_operation(app, operation, mode, world, roles)
        if failure:
            failures.append(failure)
    SENT["seconds"] += time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    return SENT[mode.value] - before


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_no_operation_answers_5xx_or_off_schema(fuzz_app, schema, mode):
    """Every operation, each case signed in as one of the roles (mostly one it admits)."""
    sent = _fuzz(fuzz_app, schema, mode, ROLES)
    operations = len([op for op in schema.get_all_operations()]) - len(SKIP)
    per_operation = EXAMPLES if mode is GenerationMode.POSITIVE else EXAMPLES // 2
    # An operation with few inputs may run out of distinct cases, but most must get their
    # full share: a document that stopped generating (every case rejected) fails here.
    assert sent >= 0.8 * operations * per_operation, f"only {sent} cases were generated"


@pytest.mark.fuzz
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_no_operation_answers_5xx_or_off_schema_as_each_role(fuzz_app, schema, mode, role):
    """``make fuzz``: the same, role by role, with many more cases."""
    if not FUZZ_PER_ROLE:
        pytest.skip("run by `make fuzz` (LEADRELAY_FUZZ_PER_ROLE=1)")
    _fuzz(fuzz_app, schema, mode, (role,))
