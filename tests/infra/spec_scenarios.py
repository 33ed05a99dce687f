"""The scenarios the spec tests run the real program in: every access mode with every option,
each run once per process (running the program is the slow part; the tests only read it)."""

from __future__ import annotations

import functools
import json

import pytest

from scripts.flows.plan import PlanResult
from scripts.offline.plan_engine import run_program
from scripts.offline.plan_mocks import RecordingMocks
from tests.infra import base_config
from tests.infra.base_config import TENANT, TODAY, WRITER

GROUP = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
ROBOT = "cccccccc-dddd-4eee-8fff-000000000000"
BREAK_GLASS = "99999999-8888-4777-8666-555555555555"
PIPELINE = json.dumps(
    {
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/csp-secure-app:ref:refs/heads/main",
    }
)
BASE = {
    **base_config.BASE,
    "tenantId": TENANT,
    "allowedIpRanges": "198.51.100.0/24",
    "writerObjectIds": json.dumps(
        [
            WRITER,
            {"objectId": GROUP, "principalType": "Group"},
            {"objectId": ROBOT, "principalType": "ServicePrincipal"},
        ]
    ),
}
OPTIONS: dict[str, dict[str, str]] = {
    "plain": {},
    "in-house": {"inHouseApp": "true"},
    "pipeline": {"pipelineIdentity": PIPELINE},
    "security-defaults": {"mfaEnforcement": "securityDefaults"},
    "conditional-access": {
        "mfaEnforcement": "conditionalAccess",
        "mfaPolicyState": "enabled",
        "mfaExcludedObjectIds": BREAK_GLASS,
    },
    "everything": {
        "inHouseApp": "true",
        "pipelineIdentity": PIPELINE,
        "mfaEnforcement": "conditionalAccess",
        "deployerPrincipalType": "ServicePrincipal",
    },
    "open-network-china": {"allowedIpRanges": "", "cloud": "china", "location": "chinanorth3"},
}
#: Every access mode with every option: what "done" means in the issue.
SCENARIOS = [
    pytest.param(mode, name, id=f"{mode}-{name}")
    for mode in ("rbac", "accessPolicy")
    for name in OPTIONS
]


def scenario_config(mode: str, option: str) -> dict[str, str]:
    values = {**BASE, "accessMode": mode, **OPTIONS[option]}
    return {key: value for key, value in values.items() if value}


def run_scenario(mode: str, option: str, mocks: RecordingMocks | None = None) -> PlanResult:
    """The program's run of a scenario. Without mocks of the caller's, one run per process and
    scenario: the spec tests only read it (a body to break is copied first)."""
    if mocks is not None:
        return run_program(scenario_config(mode, option), mocks, today=TODAY)
    return _recorded_run(mode, option)


@functools.cache
def _recorded_run(mode: str, option: str) -> PlanResult:
    return run_program(scenario_config(mode, option), None, today=TODAY)
