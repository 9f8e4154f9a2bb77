"""The security tests' world (one person of every role) serves the fuzzers too."""

from tests.security.conftest import client_as, world  # noqa: F401
