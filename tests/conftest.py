"""Shared fixtures: one cloud double per test session (it starts in well under a second, but
tests are many), handed to each test with the environment a client needs and a clean slate of
faults, request log, outage flag and clock. Tests isolate directory state by creating their own
tenants (``tests.helpers.make_partner``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clouddouble import CloudDouble


@pytest.fixture(scope="session")
def cloud_session() -> Iterator[CloudDouble]:
    # A 1 s device-code poll interval keeps device-flow tests quick; Entra's is 5 s.
    with CloudDouble(device_code_interval=1) as double:
        yield double


@pytest.fixture
def cloud(cloud_session: CloudDouble, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudDouble]:
    """The running double, with REQUESTS_CA_BUNDLE / SSL_CERT_FILE / endpoint overrides set for
    this test only, and no faults or request records left over from earlier tests."""
    cloud_session.reset()
    for name, value in cloud_session.env().items():
        monkeypatch.setenv(name, value)
    yield cloud_session
    cloud_session.reset()
