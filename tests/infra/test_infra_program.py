"""The real Pulumi program under the SDK's mock engine, with realistic distinct ids: what a user
would see deployed (permissions, who can read the token, vault settings, outputs)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from foundation import wellknown
from infra.token_vault import PLACEHOLDER_VALUE, TOKEN_CONTENT_TYPE
from scripts.flows.plan import PlanReport, PlanResult, format_plan
from scripts.offline.plan_engine import run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord
from scripts.policy import rules as t

TODAY = date(2026, 11, 29)
TENANT = "11111111-2222-4333-8444-555555555555"
WRITER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
BASE = {
    "location": "westeurope",
    "vaultName": "kv-csp-token",
    "cspDomain": "contoso.onmicrosoft.com",
    "clientSecretRotation": "2026-11-01",
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


@pytest.fixture(scope="module")
def default_run() -> tuple[PlanResult, RecordingMocks]:
    mocks = RecordingMocks()
    return run(mocks), mocks


@pytest.fixture(scope="module")
def policy_run() -> tuple[PlanResult, RecordingMocks]:
    """accessPolicy mode (the partner guides' model; no longer the default)."""
    mocks = RecordingMocks()
    return run(mocks, accessMode="accessPolicy"), mocks


def access_policies(result: PlanResult) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = one(result, t.VAULT).inputs["properties"]["accessPolicies"]
    return entries


def test_client_app_requests_graph_user_read_and_is_owned_by_the_deployer(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, mocks = default_run
    app = one(result, t.APPLICATION)
    assert app.inputs["requiredResourceAccesses"] == [
        {
            "resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
            "resourceAccesses": [{"id": wellknown.GRAPH_USER_READ, "type": "Scope"}],
        }
    ]
    assert app.inputs["signInAudience"] == "AzureADMyOrg"
    assert app.inputs["owners"] == [mocks.deployer_object_id]
    sp = one(result, t.SERVICE_PRINCIPAL)
    assert sp.inputs["clientId"] == app.outputs["clientId"]


def test_configured_permissions_replace_the_default(default_run: Any) -> None:
    access = [
        {
            "resourceAppId": wellknown.MICROSOFT_GRAPH_APP_ID,
            "resourceAccess": [
                {"id": wellknown.GRAPH_USER_READ, "type": "Scope"},
                {"id": wellknown.GRAPH_OFFLINE_ACCESS, "type": "Scope"},
            ],
        }
    ]
    app = one(run(requiredResourceAccess=json.dumps(access)), t.APPLICATION)
    ids = [a["id"] for a in app.inputs["requiredResourceAccesses"][0]["resourceAccesses"]]
    assert ids == [wellknown.GRAPH_USER_READ, wellknown.GRAPH_OFFLINE_ACCESS]


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


def test_client_secret_end_date_and_rotation_trigger() -> None:
    first = run(clientSecretRotation="2026-11-01", clientSecretLifetimeDays="730")
    password = one(first, t.APPLICATION_PASSWORD)
    app = one(first, t.APPLICATION)
    assert password.inputs["applicationId"] == app.id == f"/applications/{app.outputs['objectId']}"
    assert password.inputs["endDate"] == "2028-10-31T00:00:00Z"
    assert password.inputs["rotateWhenChanged"] == {"clientSecretRotation": "2026-11-01"}
    assert "value" in password.options["additionalSecretOutputs"]
    rotated = one(run(clientSecretRotation="2026-11-20"), t.APPLICATION_PASSWORD)
    assert rotated.inputs["rotateWhenChanged"] == {"clientSecretRotation": "2026-11-20"}
    assert rotated.inputs["endDate"] == "2027-11-20T00:00:00Z"


def test_outputs_and_which_are_secret(default_run: tuple[PlanResult, RecordingMocks]) -> None:
    result, _ = default_run
    outputs = result.outputs
    assert set(outputs) == {
        "tenantId",
        "keyVaultClientAppId",
        "keyVaultClientAppSecret",
        "keyVaultClientCspDomain",
        "vaultName",
        "vaultUri",
        "secretName",
        "secretUri",
        "cloud",
    }
    assert outputs["cloud"].value == "public"
    assert [k for k, o in outputs.items() if o.secret] == ["keyVaultClientAppSecret"]
    assert outputs["keyVaultClientAppId"].value == one(result, t.APPLICATION).outputs["clientId"]
    assert outputs["keyVaultClientCspDomain"].value == "contoso.onmicrosoft.com"
    assert outputs["vaultUri"].value == "https://kv-csp-token.vault.azure.net/"
    assert outputs["secretUri"].value == (
        "https://kv-csp-token.vault.azure.net/secrets/PartnerCenterRefreshToken"
    )


def test_in_house_app_is_multi_tenant_partner_center_with_loopback_redirects() -> None:
    result = run(inHouseApp="true")
    app = one(result, t.APPLICATION, "in-house")
    assert app.inputs["signInAudience"] == "AzureADMultipleOrgs"
    assert app.inputs["requiredResourceAccesses"] == [
        {
            "resourceAppId": wellknown.PARTNER_CENTER_APP_ID,
            "resourceAccesses": [
                {"id": wellknown.PARTNER_CENTER_USER_IMPERSONATION, "type": "Scope"}
            ],
        }
    ]
    # With the slash: the azuread provider refuses a no-path URI without one, and Entra
    # stores it with the slash anyway.
    assert app.inputs["web"]["redirectUris"] == ["http://localhost:8400/"]
    one(result, t.SERVICE_PRINCIPAL, "in-house")
    password = one(result, t.APPLICATION_PASSWORD, "in-house")
    assert password.inputs["applicationId"] == app.id
    assert result.outputs["inHouseAppId"].value == app.outputs["clientId"]
    assert result.outputs["inHouseAppSecret"].secret is True


def test_without_in_house_mode_there_is_no_partner_center_app(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = default_run
    assert len(result.find(t.APPLICATION)) == 1
    assert "inHouseAppId" not in result.outputs


def test_existing_resource_group_is_not_declared() -> None:
    result = run(existingResourceGroup="rg-shared")
    assert result.find("azure-native:resources:ResourceGroup") == []
    assert one(result, t.VAULT).inputs["resourceGroupName"] == "rg-shared"


def test_every_resource_belongs_to_a_component(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = default_run
    components = {r.urn for r in result.resources if not r.custom}
    assert {c.rsplit("::", 1)[-1] for c in components} == {
        "keyvault-client",
        "token-vault",
        "token-vault-access",
    }
    for record in result.resources:
        if record.custom:
            assert record.options["parent"] in components, record.name


def test_plan_lines_never_show_a_secret(default_run: tuple[PlanResult, RecordingMocks]) -> None:
    result, _ = default_run
    fake_password = one(result, t.APPLICATION_PASSWORD).outputs["value"]
    text = "\n".join(format_plan(PlanReport(stack="dev", result=result, problems=[])))
    assert fake_password not in text
    assert PLACEHOLDER_VALUE not in text
    assert "keyVaultClientAppSecret = ***" in text


# -- issue 4: MFA enforcement, pipeline identity, national cloud ---------------------------------

GITHUB = "https://token.actions.githubusercontent.com"
MAIN = "repo:contoso/csp-secure-app:ref:refs/heads/main"
BREAK_GLASS = "99999999-8888-4777-8666-555555555555"
PIPELINE = json.dumps({"issuer": GITHUB, "subject": MAIN})


def mfa_records(result: PlanResult) -> list[ResourceRecord]:
    return [
        r for r in result.resources if r.type in (t.SECURITY_DEFAULTS, t.CONDITIONAL_ACCESS_POLICY)
    ]


def test_without_mfa_enforcement_the_tenant_setting_is_left_alone(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = default_run
    assert mfa_records(result) == []


def test_security_defaults_mode_switches_them_on_through_the_dynamic_provider() -> None:
    result = run(mfaEnforcement="securityDefaults")
    (record,) = mfa_records(result)
    assert record.type == t.SECURITY_DEFAULTS
    assert record.inputs["enabled"] is True
    assert record.inputs["cloud"] == "public"
    # The pickled provider travels as an input; it is marked secret, so nothing prints it.
    assert record.is_secret("__provider")
    component = next(r for r in result.resources if r.urn == record.options["parent"])
    assert component.type == "csp-secure-app:index:MfaEnforcement"
    text = "\n".join(format_plan(PlanReport(stack="dev", result=result, problems=[])))
    assert record.inputs["__provider"] not in text
    assert "security defaults enabled True" in text
    assert t.check_all(result.resources, TODAY) == []


def test_conditional_access_mode_requires_mfa_for_all_users_except_break_glass() -> None:
    result = run(mfaEnforcement="conditionalAccess", mfaExcludedObjectIds=BREAK_GLASS)
    (policy,) = mfa_records(result)
    assert policy.type == t.CONDITIONAL_ACCESS_POLICY
    assert policy.inputs["state"] == "enabledForReportingButNotEnforced"
    conditions = policy.inputs["conditions"]
    assert conditions["users"] == {"includedUsers": ["All"], "excludedUsers": [BREAK_GLASS]}
    assert conditions["applications"] == {"includedApplications": ["All"]}
    assert conditions["clientAppTypes"] == ["all"]
    assert policy.inputs["grantControls"] == {"operator": "OR", "builtInControls": ["mfa"]}
    assert "require MFA for all users" in policy.inputs["displayName"]
    # Report-only enforces nothing, so security defaults stay as they are; the plan warns.
    assert t.check_all(result.resources, TODAY) == []
    (warning,) = t.check_warnings(result.resources, TODAY)
    assert warning.startswith("mfa-require-mfa: is report-only")


def test_an_enforced_policy_first_switches_security_defaults_off() -> None:
    result = run(mfaEnforcement="conditionalAccess", mfaPolicyState="enabled")
    off = one(result, t.SECURITY_DEFAULTS)
    policy = one(result, t.CONDITIONAL_ACCESS_POLICY)
    assert off.inputs["enabled"] is False
    assert policy.inputs["state"] == "enabled"
    # Entra refuses an enabled policy while security defaults are on: order matters.
    assert off.urn in policy.options["dependencies"]
    assert "excludedUsers" not in policy.inputs["conditions"]["users"]
    assert t.check_all(result.resources, TODAY) == []
    (warning,) = t.check_warnings(result.resources, TODAY)
    assert "excludes no emergency access account" in warning


def test_pipeline_identity_is_a_federated_app_with_writer_access_only() -> None:
    mocks = RecordingMocks()
    result = run(mocks, pipelineIdentity=PIPELINE, accessMode="accessPolicy")
    app = one(result, t.APPLICATION, "pipeline")
    sp = one(result, t.SERVICE_PRINCIPAL, "pipeline")
    credential = one(result, t.FEDERATED_CREDENTIAL)
    assert app.inputs["signInAudience"] == "AzureADMyOrg"
    assert app.inputs["owners"] == [mocks.deployer_object_id]
    assert app.inputs["displayName"] == "csp-secure-app-dev-pipeline"
    assert sp.inputs["clientId"] == app.outputs["clientId"]
    assert credential.inputs["applicationId"] == app.id
    assert credential.inputs["issuer"] == GITHUB
    assert credential.inputs["subject"] == MAIN
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    # Federation, not a stored secret: no password for the pipeline app.
    assert all("pipeline" not in p.name for p in result.find(t.APPLICATION_PASSWORD))

    pipeline_sp = sp.outputs["objectId"]
    (grant,) = [p for p in access_policies(result) if p["objectId"] == pipeline_sp]
    assert grant["permissions"] == {"secrets": ["get", "list", "set"]}

    assert result.outputs["pipelineClientId"].value == app.outputs["clientId"]
    assert result.outputs["pipelineTenantId"].value == TENANT
    assert not result.outputs["pipelineClientId"].secret
    assert t.check_all(result.resources, TODAY) == []


def test_pipeline_identity_in_rbac_mode_is_a_secrets_officer_on_the_secret() -> None:
    result = run(accessMode="rbac", pipelineIdentity=PIPELINE)
    sp = one(result, t.SERVICE_PRINCIPAL, "pipeline")
    grant = one(result, t.ROLE_ASSIGNMENT, f"{t.WRITER_MARKER}pipeline")
    assert grant.inputs["principalId"] == sp.outputs["objectId"]
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.inputs["roleDefinitionId"].endswith(wellknown.KEY_VAULT_SECRETS_OFFICER_ROLE)
    assert grant.inputs["scope"] == one(result, t.SECRET).id
    reader = one(result, t.ROLE_ASSIGNMENT, t.READER_MARKER)
    assert reader.inputs["principalId"] != sp.outputs["objectId"]


def test_without_pipeline_identity_there_is_no_pipeline_app_or_output(
    default_run: tuple[PlanResult, RecordingMocks],
) -> None:
    result, _ = default_run
    assert result.find(t.FEDERATED_CREDENTIAL) == []
    assert "pipelineClientId" not in result.outputs


def test_china_stack_exports_its_cloud_with_china_vault_uris_and_audience() -> None:
    result = run(cloud="china", pipelineIdentity=PIPELINE)
    assert result.outputs["cloud"].value == "china"
    assert result.outputs["vaultUri"].value == "https://kv-csp-token.vault.azure.cn/"
    assert result.outputs["secretUri"].value.startswith("https://kv-csp-token.vault.azure.cn/")
    credential = one(result, t.FEDERATED_CREDENTIAL)
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchangeChina"]


def test_security_defaults_carry_the_stacks_cloud_to_the_provider() -> None:
    record = one(run(cloud="usgov", mfaEnforcement="securityDefaults"), t.SECURITY_DEFAULTS)
    assert record.inputs["cloud"] == "usgov"


# -- issue 8: upgrading a stack of the previous program ------------------------------------------

SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-111122223333"


def test_import_adopts_the_existing_vault_and_secret_without_rewriting_them() -> None:
    """After `pulumi state delete` of the old typed resources, one `pulumi up` with
    importSubscriptionId imports the vault and the token secret by their ARM ids."""
    result = run(accessMode="accessPolicy", importSubscriptionId=SUBSCRIPTION)
    vault = one(result, t.VAULT)
    secret = one(result, t.SECRET)
    vault_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-csp-secure-app"
        "/providers/Microsoft.KeyVault/vaults/kv-csp-token"
    )
    assert vault.options["importId"] == vault_id
    assert secret.options["importId"] == f"{vault_id}/secrets/PartnerCenterRefreshToken"
    # Adopted as they are: no write to the vault's settings or access list, and never the
    # placeholder over the stored token (every secret version stays).
    assert {"properties", "tags"} <= set(vault.options["ignoreChanges"])
    assert {"properties", "tags"} <= set(secret.options["ignoreChanges"])
    assert vault.options["protect"] and secret.options["protect"]
    assert secret.options["retainOnDelete"] is True
    assert vault.id == vault_id and secret.id == secret.options["importId"]
    assert result.outputs["secretUri"].value == (
        "https://kv-csp-token.vault.azure.net/secrets/PartnerCenterRefreshToken"
    )
    assert t.check_all(result.resources, TODAY) == []


# -- issue 9: one client-app component, the same URNs ---------------------------------------------

#: Recorded from the program before KeyVaultClientApp and InHouseApp became one ClientApp
#: component: a changed URN would make `pulumi up` replace the resource (a new app registration,
#: a new client secret every platform must be given).
STACK_URN = "urn:pulumi:dev::csp-secure-app::"
DEFAULT_STACK_URNS = [
    "csp-secure-app:index:KeyVaultClientApp$azuread:index/application:Application::"
    "keyvault-client-app",
    "csp-secure-app:index:KeyVaultClientApp$azuread:index/applicationPassword:ApplicationPassword::"
    "keyvault-client-secret",
    "csp-secure-app:index:KeyVaultClientApp$azuread:index/servicePrincipal:ServicePrincipal::"
    "keyvault-client-sp",
    "csp-secure-app:index:TokenVault$azure-native:resources:Resource::token-vault-token-secret",
    "csp-secure-app:index:TokenVault$azure-native:resources:Resource::token-vault-vault",
    "csp-secure-app:index:TokenVault$azure-native:resources:ResourceGroup::token-vault-rg",
    "csp-secure-app:index:VaultAccess$azure-native:authorization:RoleAssignment::"
    "token-vault-access-reader",
    "csp-secure-app:index:VaultAccess$azure-native:authorization:RoleAssignment::"
    f"token-vault-access-writer-{WRITER}",
    "csp-secure-app:index:VaultAccess$azure-native:authorization:RoleAssignment::"
    "token-vault-access-writer-deployer",
    "pulumi:pulumi:Stack$csp-secure-app:index:KeyVaultClientApp::keyvault-client",
    "pulumi:pulumi:Stack$csp-secure-app:index:TokenVault::token-vault",
    "pulumi:pulumi:Stack$csp-secure-app:index:VaultAccess::token-vault-access",
]
IN_HOUSE_URNS = [
    "csp-secure-app:index:InHouseApp$azuread:index/application:Application::in-house-app",
    "csp-secure-app:index:InHouseApp$azuread:index/applicationPassword:ApplicationPassword::"
    "in-house-secret",
    "csp-secure-app:index:InHouseApp$azuread:index/servicePrincipal:ServicePrincipal::in-house-sp",
    "pulumi:pulumi:Stack$csp-secure-app:index:InHouseApp::in-house",
]


def urns(result: PlanResult) -> list[str]:
    return sorted(r.urn for r in result.resources)


def test_the_default_stack_keeps_every_urn(default_run: tuple[PlanResult, RecordingMocks]) -> None:
    result, _ = default_run
    assert urns(result) == sorted(STACK_URN + urn for urn in DEFAULT_STACK_URNS)


def test_the_in_house_stack_keeps_every_urn() -> None:
    expected = sorted(STACK_URN + urn for urn in DEFAULT_STACK_URNS + IN_HOUSE_URNS)
    assert urns(run(inHouseApp="true")) == expected
