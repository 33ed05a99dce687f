"""The real Pulumi program under the SDK's mock engine, issue 4's options: MFA enforcement
(security defaults or a conditional access policy), the pipeline's federated identity and the
national cloud a stack deploys to."""

from __future__ import annotations

import json

from foundation import wellknown
from scripts.flows.plan import PlanReport, PlanResult, format_plan
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord
from scripts.policy import rules as t
from tests.infra.base_config import TENANT, TODAY
from tests.infra.program_run import access_policies, one, run

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
