"""The real Pulumi program under the SDK's mock engine, with realistic distinct ids: the vault a
user would see deployed (settings, network, resource group), who can read and write the token
in either access mode, and the token secret itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from foundation import wellknown
from infra.token_vault import PLACEHOLDER_VALUE, TOKEN_CONTENT_TYPE
from scripts.flows.plan import PlanResult
from scripts.offline.plan_mocks import RecordingMocks
from scripts.policy import rules as t
from tests.infra.base_config import TENANT, TODAY, WRITER
from tests.infra.program_run import access_policies, one, run


def test_reader_access_policy_names_the_service_principal_object_id_with_get_only(
    policy_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = policy_run
    app = one(result, t.APPLICATION)
    sp = one(result, t.SERVICE_PRINCIPAL)
    # The three ids are distinct, so a mix-up cannot pass by accident.
    assert len({app.outputs["clientId"], app.outputs["objectId"], sp.outputs["objectId"]}) == 3
    # Inline in the vault's own body: no standalone AccessPolicy races the vault's writes.
    assert result.find(t.ACCESS_POLICY) == []
    (policy,) = [p for p in access_policies(result) if p["permissions"] == {"secrets": ["get"]}]
    assert policy["objectId"] == sp.outputs["objectId"]
    assert policy["objectId"] not in (app.outputs["clientId"], app.outputs["objectId"])
    assert policy["tenantId"] == TENANT
    assert "applicationId" not in policy
    assert one(result, t.VAULT).inputs["resourceName"] == "kv-csp-token"


def test_deployer_and_configured_writers_get_get_list_set(
    policy_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, mocks = policy_run
    writers = [p for p in access_policies(result) if p["permissions"]["secrets"] != ["get"]]
    assert {w["objectId"] for w in writers} == {mocks.deployer_object_id, WRITER}
    for writer in writers:
        assert writer["permissions"] == {"secrets": ["get", "list", "set"]}
    assert one(result, t.VAULT).inputs["properties"]["enableRbacAuthorization"] is False
    assert result.find(t.ROLE_ASSIGNMENT) == []


def test_vault_settings(default_run: tuple[PlanResult, RecordingMocks]) -> None:
    result, _ = default_run
    vault = one(result, t.VAULT)
    props = vault.inputs["properties"]
    # The generic ARM resource at the control-plane API that outlives 2027-02-27.
    assert vault.type == "azure-native:resources:Resource"
    assert vault.inputs["apiVersion"] == "2026-02-01"
    assert vault.inputs["resourceProviderNamespace"] == "Microsoft.KeyVault"
    assert vault.inputs["resourceType"] == "vaults"
    assert vault.inputs["parentResourcePath"] == ""
    assert props["sku"] == {"family": "A", "name": "standard"}
    assert props["enablePurgeProtection"] is True
    assert props["softDeleteRetentionInDays"] == 90
    # RBAC by default, and explicit (an RBAC vault ignores every access policy).
    assert props["enableRbacAuthorization"] is True
    assert props["tenantId"] == TENANT
    assert props["accessPolicies"] == []
    assert vault.options["protect"] is True
    # The vault owns its access list: nothing to ignore.
    assert vault.options["ignoreChanges"] == []
    assert vault.options["importId"] is None
    assert vault.inputs["location"] == "westeurope"


def test_retention_is_configurable() -> None:
    vault = one(run(softDeleteRetentionDays="7"), t.VAULT)
    assert vault.inputs["properties"]["softDeleteRetentionInDays"] == 7


def test_network_denies_everything_but_the_configured_ranges(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = default_run
    acls = one(result, t.VAULT).inputs["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert acls["bypass"] == "AzureServices"
    assert acls["ipRules"] == [{"value": "198.51.100.0/24"}, {"value": "203.0.113.7"}]
    assert result.warnings == []


def test_without_ranges_the_vault_is_open_and_the_user_is_warned() -> None:
    result = run(allowedIpRanges="", writerIpRanges="")
    acls = one(result, t.VAULT).inputs["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Allow"
    assert "ipRules" not in acls
    assert len(result.warnings) == 1 and "every network" in result.warnings[0]


def test_tenant_defaults_to_the_deploying_identity() -> None:
    mocks = RecordingMocks()
    result = run(mocks, tenantId="")
    assert one(result, t.VAULT).inputs["properties"]["tenantId"] == mocks.tenant_id
    assert result.outputs["tenantId"].value == mocks.tenant_id


def test_rbac_mode_uses_role_assignments_on_the_secret_with_principal_types() -> None:
    mocks = RecordingMocks()
    result = run(mocks, accessMode="rbac")
    assert result.find(t.ACCESS_POLICY) == []
    assert one(result, t.VAULT).inputs["properties"]["accessPolicies"] == []
    vault = one(result, t.VAULT)
    secret = one(result, t.SECRET)
    sp = one(result, t.SERVICE_PRINCIPAL)
    assert vault.inputs["properties"]["enableRbacAuthorization"] is True
    role_base = f"/subscriptions/{mocks.subscription_id}/providers/Microsoft.Authorization"
    reader = one(result, t.ROLE_ASSIGNMENT, t.READER_MARKER)
    assert reader.inputs["principalId"] == sp.outputs["objectId"]
    assert reader.inputs["principalType"] == "ServicePrincipal"
    assert reader.inputs["roleDefinitionId"] == (
        f"{role_base}/roleDefinitions/{wellknown.KEY_VAULT_SECRETS_USER_ROLE}"
    )
    assert reader.inputs["scope"] == secret.id
    assert secret.id and secret.id.endswith(
        "/vaults/kv-csp-token/secrets/PartnerCenterRefreshToken"
    )
    writers = [r for r in result.find(t.ROLE_ASSIGNMENT) if t.WRITER_MARKER in r.name]
    assert {w.inputs["principalId"] for w in writers} == {mocks.deployer_object_id, WRITER}
    for writer in writers:
        assert writer.inputs["roleDefinitionId"] == (
            f"{role_base}/roleDefinitions/{wellknown.KEY_VAULT_SECRETS_OFFICER_ROLE}"
        )
        # The token secret alone, not the vault (which would cover every secret in it).
        assert writer.inputs["scope"] == secret.id != vault.id
        # Offline there is no provider client id: the deployer is taken to be a person.
        assert writer.inputs["principalType"] == "User"


def test_writers_declare_their_principal_type() -> None:
    group = "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    writers = json.dumps([WRITER, {"objectId": group, "principalType": "Group"}])
    result = run(writerObjectIds=writers, deployerPrincipalType="ServicePrincipal")
    types = {
        r.inputs["principalId"]: r.inputs["principalType"]
        for r in result.find(t.ROLE_ASSIGNMENT)
        if t.WRITER_MARKER in r.name
    }
    assert sorted(types.values()) == ["Group", "ServicePrincipal", "User"]
    assert types[WRITER] == "User" and types[group] == "Group"


def test_token_secret_is_written_once_and_kept(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = default_run
    secret = one(result, t.SECRET)
    assert secret.type == "azure-native:resources:Resource"
    assert secret.inputs["apiVersion"] == "2026-02-01"
    assert secret.inputs["resourceType"] == "secrets"
    assert secret.inputs["parentResourcePath"] == "vaults/kv-csp-token"
    assert secret.inputs["resourceName"] == "PartnerCenterRefreshToken"
    props = secret.inputs["properties"]
    assert props["value"] == PLACEHOLDER_VALUE
    assert secret.is_secret("properties.value")
    # In state too: the provider's output of the properties is kept encrypted.
    assert "properties" in secret.options["additionalSecretOutputs"]
    assert props["contentType"] == TOKEN_CONTENT_TYPE
    expires = datetime.fromtimestamp(props["attributes"]["exp"], UTC).date()
    assert expires == TODAY + timedelta(days=wellknown.REFRESH_TOKEN_LIFETIME_DAYS)
    assert secret.options["protect"] is True
    assert secret.options["retainOnDelete"] is True
    assert {"properties", "tags"} <= set(secret.options["ignoreChanges"])
    assert "value" not in secret.outputs["properties"]


def test_existing_resource_group_is_not_declared() -> None:
    result = run(existingResourceGroup="rg-shared")
    assert result.find("azure-native:resources:ResourceGroup") == []
    assert one(result, t.VAULT).inputs["resourceGroupName"] == "rg-shared"
