"""Running the real Pulumi program under the SDK's mock engine for the program tests: a base
stack with realistic distinct ids (a restricted network, a writer), changed a key at a time."""

from __future__ import annotations

from typing import Any

from scripts.flows.plan import PlanResult
from scripts.offline.plan_engine import run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord
from scripts.policy import rules as t
from tests.infra import base_config
from tests.infra.base_config import TENANT, TODAY, WRITER

BASE = {
    **base_config.BASE,
    "tenantId": TENANT,
    "allowedIpRanges": "198.51.100.0/24",
    "writerIpRanges": "203.0.113.7",
    "writerObjectIds": WRITER,
}


def run(mocks: RecordingMocks | None = None, **overrides: str) -> PlanResult:
    values = {**BASE, **overrides}
    return run_program({k: v for k, v in values.items() if v}, mocks, today=TODAY)


def one(result: PlanResult, type_token: str, name_part: str = "") -> ResourceRecord:
    matches = [r for r in result.find(type_token) if name_part in r.name]
    assert len(matches) == 1, [r.name for r in matches]
    return matches[0]


def access_policies(result: PlanResult) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = one(result, t.VAULT).inputs["properties"]["accessPolicies"]
    return entries
