"""The follow-up fixtures (a real SMTP server, a burst worker, captured leads) for the
messaging tests."""

from tests.workers.conftest import (  # noqa: F401 - pytest fixtures
    capture,
    config,
    receiver,
    run_worker,
    smtp,
    world,
)
