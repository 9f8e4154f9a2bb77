"""The follow-up fixtures (SMTP server, webhook receiver, worker, world, capture) from
``tests/followup.py``, visible to the tests in this directory."""

from tests.followup import (  # noqa: F401 - pytest finds fixtures by name in a conftest
    capture,
    config,
    receiver,
    run_worker,
    smtp,
    world,
)
