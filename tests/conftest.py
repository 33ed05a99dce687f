"""Shared fixtures: one cloud double per test session (it starts in well under a second, but
tests are many), handed to each test with the environment a client needs and a clean slate of
faults, request log, outage flag and clock. Tests isolate directory state by creating their own
tenants (``tests.support.make_partner``)."""

from __future__ import annotations

import signal
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


#: The longest single tests (issue 12's scale tests) start first.
EARLY: tuple[str, ...] = ("tests/flows/test_mfa_report_cli.py::test_10000_users",
                          "tests/flows/test_mfa_report_cli.py::test_one_user_a_page",
                          "tests/double/test_double_graph.py::test_a_tenant_of_100000_users")
#: Fault-matrix rows that mostly wait (Retry-After, back-off, hung services): spread evenly
#: over the run, between the other files, instead of in one block.
SPREAD: tuple[str, ...] = ("tests/matrix/test_matrix_services.py",
                           "tests/matrix/test_matrix_vault.py",
                           "tests/matrix/test_matrix_partner_graph.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order tests are handed to xdist's workers in. ``-n 4`` (``--dist load``) gives each
    worker a run of consecutive tests (a quarter of its share at first, then half of what is
    left, and so on): in collected order the matrix's slow rows, 80 consecutive tests, all went
    to one worker, which finished a minute after the others. Here the scale tests come first and
    the SPREAD rows are interleaved between the other files, so every run of tests a worker gets
    has its share of them. Every other file keeps its tests together and in order (its
    module-scoped fixtures are set up once)."""
    early = [item for item in items if item.nodeid.startswith(EARLY)]
    spread = [item for item in items if item.nodeid.startswith(SPREAD)]
    taken = {id(item) for item in (*early, *spread)}
    rest = [item for item in items if id(item) not in taken]
    first: dict[str, int] = {}
    for index, item in enumerate(rest):
        first.setdefault(item.nodeid.split("::")[0], index)
    keyed = [((first[item.nodeid.split("::")[0]] + 0.5) / len(rest), 0, index, item)
             for index, item in enumerate(rest)]
    keyed += [((index + 0.5) / len(spread), 1, index, item) for index, item in enumerate(spread)]
    items[:] = early + [item for *_, item in sorted(keyed, key=lambda k: k[:3])]


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the children as it would from a terminal. A run started in the background
    by a non-interactive shell (``pytest &``, ``bench/run.py --suite &``) ignores SIGINT, and an
    ignored signal stays ignored across exec: every console command a test starts would shrug
    off the Ctrl-C the interrupt tests send. A handled signal is reset to the default by exec,
    so Python's own handler here gives each child Python's own Ctrl-C."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
