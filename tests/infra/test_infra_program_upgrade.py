"""The real Pulumi program under the SDK's mock engine, for stacks that exist already: a stack
of the previous program adopts its vault and secret (issue 8), and every resource keeps its URN
(issue 9), so `pulumi up` replaces nothing."""

from __future__ import annotations

from scripts.flows.plan import PlanResult
from scripts.offline.plan_mocks import RecordingMocks
from scripts.policy import rules as t
from tests.infra.base_config import TODAY, WRITER
from tests.infra.program_run import one, run

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
