"""The real Pulumi program under the SDK's mock engine: the app registrations a user would see
deployed (permissions, owners, client secrets, the in-house app), the stack outputs and the plan
lines, which never show a secret."""

from __future__ import annotations

import json
from typing import Any

from foundation import wellknown
from infra.token_vault import PLACEHOLDER_VALUE
from scripts.flows.plan import PlanReport, PlanResult, format_plan
from scripts.offline.plan_mocks import RecordingMocks
from scripts.policy import rules as t
from tests.infra.program_run import one, run


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
