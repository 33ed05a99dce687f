"""The program runs the infra tests share: one per test module and access mode, since running
the program is the slow part and the tests only read what it declared."""

from __future__ import annotations

import pytest

from scripts.flows.plan import PlanResult
from scripts.offline.plan_mocks import RecordingMocks
from tests.infra.program_run import run


@pytest.fixture(scope="module")
def default_run() -> tuple[PlanResult, RecordingMocks]:
    mocks = RecordingMocks()
    return run(mocks), mocks


@pytest.fixture(scope="module")
def policy_run() -> tuple[PlanResult, RecordingMocks]:
    """accessPolicy mode (the partner guides' model; no longer the default)."""
    mocks = RecordingMocks()
    return run(mocks, accessMode="accessPolicy"), mocks
