"""The security tests' world (one person of every role) serves the fuzzers too."""

from tests.security.conftest import client_as, world  # noqa: F401


def pytest_terminal_summary(terminalreporter, config):
    """How many schemathesis cases ran, and in how long: the budget `make test` keeps to."""
    SENT = getattr(config, "fuzz_sent", None)
    if not SENT:
        return
    roles = {k.split(":", 1)[1]: v for k, v in SENT.items() if k.startswith("role:")}
    cases = SENT["positive"] + SENT["negative"]
    terminalreporter.write_line(
        f"schemathesis: {cases} cases ({SENT['positive']} positive, {SENT['negative']} "
        f"negative) in {SENT['seconds']:.0f} s; by role: "
        + ", ".join(f"{role} {n}" for role, n in sorted(roles.items()))
    )
