"""The Graph permissions `verify` needs are declared by the Pulumi program for the identity that
runs it in the pipeline (issue 13): the pipeline app requests exactly those application
permissions, and nothing else of the program gains any. Under the SDK's mock engine."""

from __future__ import annotations

import json

import pytest

from foundation import wellknown
from scripts.flows.plan import PlanReport, format_plan
from scripts.offline.plan_engine import PlanResult, run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord
from scripts.policy import rules as t
from tests.infra import base_config
from tests.infra.base_config import TENANT, TODAY

BASE = {
    **base_config.BASE,
    "tenantId": TENANT,
    "allowedIpRanges": "198.51.100.0/24",
    "pipelineIdentity": json.dumps({"issuer": "https://token.actions.githubusercontent.com",
                                    "subject": "repo:contoso/csp-secure-app:ref:refs/heads/main"}),
}
#: The five the README's Day 2 section lists, by name, with the ids of Graph's permissions
#: reference (the double's catalog holds its own copy: tests/double/test_double_graph_directory).
VERIFY_PERMISSIONS = {
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "DelegatedPermissionGrant.Read.All": "81b4724a-58aa-41c1-8a55-84ef97466587",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "Policy.Read.All": "246dd0d5-5bd0-4def-940b-0421030a5b68",
}


@pytest.fixture(scope="module")
def result() -> PlanResult:
    return run_program(BASE, RecordingMocks(), today=TODAY)


def app(result: PlanResult, part: str) -> ResourceRecord:
    (found,) = [r for r in result.find(t.APPLICATION) if part in r.name]
    return found


def test_the_pipeline_app_requests_exactly_verifys_graph_application_permissions(
        result: PlanResult) -> None:
    requested = app(result, "pipeline").inputs["requiredResourceAccesses"]
    assert requested == [{
        "resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
        "resourceAccesses": [{"id": role, "type": "Role"} for role in VERIFY_PERMISSIONS.values()],
    }]
    assert list(wellknown.VERIFY_GRAPH_APP_ROLES) == list(VERIFY_PERMISSIONS.values())


def test_no_other_app_of_the_program_gains_them(result: PlanResult) -> None:
    reader = app(result, "keyvault-client").inputs["requiredResourceAccesses"]
    assert reader == [{"resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
                       "resourceAccesses": [{"id": wellknown.GRAPH_USER_READ, "type": "Scope"}]}]
    without = run_program({k: v for k, v in BASE.items() if k != "pipelineIdentity"},
                          RecordingMocks(), today=TODAY)
    roles = [a for r in without.find(t.APPLICATION)
             for access in r.inputs.get("requiredResourceAccesses") or []
             for a in access["resourceAccesses"] if a["type"] == "Role"]
    assert roles == []


def test_the_plan_names_each_permission_and_its_rules_still_pass(result: PlanResult) -> None:
    text = "\n".join(format_plan(PlanReport(stack="dev", result=result, problems=[])))
    [line] = [line for line in text.splitlines() if "pipeline" in line and "permissions [" in line]
    for name in VERIFY_PERMISSIONS:
        assert f"Graph {name} (application)" in line
    assert t.check_all(result.resources, TODAY) == []
