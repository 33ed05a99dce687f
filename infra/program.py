"""The whole program as one function, so ``pulumi up``, the offline plan and the tests declare
exactly the same resources. Returns the stack outputs; ``infra/__main__.py`` exports them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread

from infra.config import StackConfig
from infra.inhouse_app import InHouseApp
from infra.keyvault_client_app import KeyVaultClientApp
from infra.mfa import MfaEnforcement
from infra.pipeline_identity import GitOpsPipelineIdentity
from infra.token_vault import TokenVault
from infra.vault_access import Grantee, VaultRoleAssignments, access_policy_entries

#: Outputs whose values are credentials; always exported as Pulumi secrets.
SECRET_OUTPUTS = ("keyVaultClientAppSecret", "inHouseAppSecret")


def declare(cfg: StackConfig, *, today: date | None = None) -> dict[str, pulumi.Output[str]]:
    """Declare every resource for ``cfg``. ``today`` anchors the placeholder secret's expiry."""
    today = today or datetime.now(UTC).date()
    # The deploying identity, as each provider sees it: azuread for app ownership, azure-native
    # for the tenant, the subscription (role definition ids) and vault access.
    directory_identity = azuread.get_client_config_output()
    arm_identity = azure_native.authorization.get_client_config_output()
    tenant_id: pulumi.Output[str] = (
        pulumi.Output.from_input(cfg.tenant_id) if cfg.tenant_id else arm_identity.tenant_id
    )

    client_app = KeyVaultClientApp(
        "keyvault-client", cfg, owner_object_id=directory_identity.object_id
    )
    pipeline = (
        GitOpsPipelineIdentity(
            "pipeline", cfg.pipeline_identity, owner_object_id=directory_identity.object_id
        )
        if cfg.pipeline_identity
        else None
    )
    reader = Grantee("reader", client_app.service_principal_object_id, "ServicePrincipal")
    # The deploying identity must be able to write the token (`invoke consent` runs as it);
    # writerObjectIds adds people, groups or pipelines that run consent too.
    writers = [Grantee("deployer", arm_identity.object_id, cfg.deployer_principal_type)]
    writers += [Grantee(w.object_id, w.object_id, w.principal_type) for w in cfg.writers]
    if pipeline is not None:
        pipeline_sp = pipeline.service_principal_object_id
        writers.append(Grantee("pipeline", pipeline_sp, "ServicePrincipal"))
    vault = TokenVault(
        "token-vault",
        cfg,
        tenant_id=tenant_id,
        today=today,
        access_policies=(
            access_policy_entries(tenant_id, reader, writers)
            if cfg.access_mode == "accessPolicy"
            else []
        ),
    )
    if cfg.access_mode == "rbac":
        VaultRoleAssignments(
            "token-vault-access",
            subscription_id=arm_identity.subscription_id,
            secret_id=vault.secret.id,
            reader=reader,
            writers=writers,
            after=vault.secret,
        )
    if cfg.mfa.mode != "none":
        MfaEnforcement("mfa", cfg)

    outputs: dict[str, pulumi.Output[str]] = {
        "tenantId": tenant_id,
        "keyVaultClientAppId": client_app.client_id,
        "keyVaultClientAppSecret": pulumi.Output.secret(client_app.client_secret),
        "keyVaultClientCspDomain": pulumi.Output.from_input(cfg.csp_domain),
        "vaultName": vault.vault.name,
        "vaultUri": vault.vault_uri,
        "secretName": vault.secret.name,
        "secretUri": vault.secret_uri,
        # The national cloud, so `invoke` tasks can default to the stack's cloud.
        "cloud": pulumi.Output.from_input(cfg.cloud),
    }
    if pipeline:
        # What the pipeline's `azure/login` step needs (with OIDC, no secret).
        outputs["pipelineClientId"] = pipeline.client_id
        outputs["pipelineTenantId"] = tenant_id
    if cfg.in_house_app:
        in_house = InHouseApp("in-house", cfg, owner_object_id=directory_identity.object_id)
        outputs["inHouseAppId"] = in_house.client_id
        outputs["inHouseAppSecret"] = pulumi.Output.secret(in_house.client_secret)
    return outputs
