"""Request bodies checked against Microsoft's published API, not against ourselves.

The real program runs under Pulumi's mock engine in both access modes and every option; each Key
Vault and role-assignment registration becomes the PUT body the provider sends
(``scripts.offline.plan_engine.arm_request``) and is validated against the models generated from
Azure/azure-rest-api-specs (``tests.infra.arm_spec_validator``). Each check is also shown to fail
a body that breaks the spec.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.mgmt.keyvault import models as keyvault_models

from scripts.offline.plan_mocks import arm_request
from scripts.policy import rules as t
from tests.infra.arm_spec_validator import (
    arm_records,
    check_model,
    check_request,
    check_role_assignment,
    keyvault_models_api_version,
)
from tests.infra.spec_scenarios import OPTIONS, SCENARIOS, run_scenario


def test_the_models_are_for_the_api_version_the_program_uses() -> None:
    assert keyvault_models_api_version() == "2026-02-01"


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_every_key_vault_and_role_assignment_body_matches_the_published_api(
    mode: str, option: str
) -> None:
    result = run_scenario(mode, option)
    records = arm_records(result)
    kinds = sorted(t.kind(r).rsplit(":", 1)[-1] for r in records)
    # The reader, the deployer, three writers and, when configured, the pipeline.
    expected_roles = 5 + ("pipelineIdentity" in OPTIONS[option])
    if mode == "rbac":
        assert kinds == ["RoleAssignment"] * expected_roles + ["Secret", "Vault"]
    else:
        assert kinds == ["Secret", "Vault"]
    for record in records:
        assert check_request(record) == [], record.name


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda b: b["properties"].update(enableRbacAuthorisation=True),
            "body.properties.enableRbacAuthorisation: not a property of VaultProperties",
        ),
        (
            lambda b: b["properties"]["sku"].update(name="Standard"),
            "body.properties.sku.name: 'Standard' not one of ['premium', 'standard']",
        ),
        (
            lambda b: b["properties"]["networkAcls"].update(defaultAction="deny"),
            "body.properties.networkAcls.defaultAction: 'deny' not one of ['Allow', 'Deny']",
        ),
        (
            lambda b: b["properties"]["networkAcls"]["ipRules"][0].update(address="1.2.3.4"),
            "body.properties.networkAcls.ipRules[0].address: not a property of IPRule",
        ),
        (
            lambda b: b["properties"].pop("tenantId"),
            "body.properties.tenantId: required by VaultProperties, missing",
        ),
        (
            lambda b: b.pop("location"),
            "body.location: required by VaultCreateOrUpdateParameters, missing",
        ),
        (
            lambda b: b["properties"].update(softDeleteRetentionInDays="90"),
            "body.properties.softDeleteRetentionInDays: '90' is not an integer",
        ),
        (
            lambda b: b["properties"].update(hsmPoolResourceId="x"),
            "body.properties.hsmPoolResourceId: read-only in VaultProperties",
        ),
    ],
)
def test_the_vault_check_fails_a_body_that_breaks_the_spec(mutate: Any, expected: str) -> None:
    """The check can fail: each spec rule, broken once in an otherwise valid body."""
    vault = next(r for r in run_scenario("accessPolicy", "plain").resources if t.kind(r) == t.VAULT)
    request = arm_request(vault)
    assert request is not None
    body = json.loads(json.dumps(request[1]))
    mutate(body)
    assert check_model(keyvault_models.VaultCreateOrUpdateParameters, body, "body") == [expected]


def test_the_secret_and_access_policy_checks_fail_what_the_spec_refuses() -> None:
    result = run_scenario("accessPolicy", "plain")
    secret = next(r for r in result.resources if t.kind(r) == t.SECRET)
    request = arm_request(secret)
    assert request is not None
    body = json.loads(json.dumps(request[1]))
    # The typed resource's spelling `expires` is not ARM's `exp`.
    body["properties"]["attributes"]["expires"] = body["properties"]["attributes"].pop("exp")
    assert check_model(keyvault_models.SecretCreateOrUpdateParameters, body, "body") == [
        "body.properties.attributes.expires: not a property of SecretAttributes"
    ]
    vault = next(r for r in result.resources if t.kind(r) == t.VAULT)
    request = arm_request(vault)
    assert request is not None
    vault_body = json.loads(json.dumps(request[1]))
    vault_body["properties"]["accessPolicies"][0]["permissions"]["secrets"] = ["read"]
    (problem,) = check_model(keyvault_models.VaultCreateOrUpdateParameters, vault_body, "body")
    assert problem.startswith("body.properties.accessPolicies[0].permissions.secrets[0]: 'read'")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"principalType": "Service Principal"}, "principalType: 'Service Principal' not one of"),
        ({"principalID": "x"}, "body.properties.principalID: not a property of RoleAssignment"),
        ({"scope": "/x"}, "body.properties.scope: read-only"),
    ],
)
def test_the_role_assignment_check_fails_what_the_spec_refuses(
    change: dict[str, str], expected: str
) -> None:
    record = next(r for r in run_scenario("rbac", "plain").resources if r.type == t.ROLE_ASSIGNMENT)
    request = arm_request(record)
    assert request is not None
    body = json.loads(json.dumps(request[1]))
    body["properties"].update(change)
    (problem,) = check_role_assignment(body)
    assert expected in problem
    del body["properties"]["roleDefinitionId"]
    assert "body.properties.roleDefinitionId: required, missing" in check_role_assignment(body)
