"""schemathesis against /api/v1/openapi.json through the WSGI app, signed in as each role.

Every operation gets generated requests (valid and invalid) as every role; path
parameters are real objects of the world half the time, so the checks reach past the
404s. Each response must not be a 5xx and must match the document: its status code,
content type, headers and body schema.

``make test`` runs about 600 cases: per operation ``LEADRELAY_FUZZ_EXAMPLES`` valid
ones (10) and half as many invalid ones, each signed in as a role drawn from all eight.
``make fuzz`` runs many more, role by role. Derandomized, so a run is repeatable and a
failure found once is found again.
"""

from __future__ import annotations

import os
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.extensions import db
from tests.security.conftest import ROLES

# Positive cases per operation (negative: half as many); each case picks a role.
EXAMPLES = int(os.environ.get("LEADRELAY_FUZZ_EXAMPLES", "10"))
FUZZ_PER_ROLE = os.environ.get("LEADRELAY_FUZZ_PER_ROLE") == "1"
CHECKS = [
    not_a_server_error,
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


def _settings(mode: GenerationMode):
    examples = EXAMPLES if mode is GenerationMode.POSITIVE else max(EXAMPLES // 2, 1)
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
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


@pytest.fixture
def schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _fuzz_operation(operation, mode, world, roles) -> str | None:
    real = _real_path_values(world)

    @_settings(mode)
    @given(
        case=operation.as_strategy(generation_mode=mode),
        role=st.sampled_from(roles),
        use_real=st.booleans(),
    )
    def run(case, role, use_real):
        if use_real and mode is GenerationMode.POSITIVE:
            for name in list(case.path_parameters or {}):
                if name in real:
                    case.path_parameters[name] = real[name]()
        try:
            case.call_and_validate(headers=_auth_headers(world, role), checks=CHECKS)
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


def _fuzz(schema, world, mode, roles) -> None:
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIP:
            continue
        failure = _fuzz_operation(operation, mode, world, roles)
        if failure:
            failures.append(failure)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_no_operation_answers_5xx_or_off_schema(app, world, schema, mode):
    """Every operation, each case signed in as a role drawn from all of them."""
    _fuzz(schema, world, mode, ROLES)


@pytest.mark.fuzz
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_no_operation_answers_5xx_or_off_schema_as_each_role(app, world, schema, mode, role):
    """``make fuzz``: the same, role by role, with many more cases."""
    if not FUZZ_PER_ROLE:
        pytest.skip("run by `make fuzz` (LEADRELAY_FUZZ_PER_ROLE=1)")
    _fuzz(schema, world, mode, (role,))
