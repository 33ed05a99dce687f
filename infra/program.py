"""The whole program as one function, so ``pulumi up``, the offline plan and the tests declare
exactly the same resources. Returns the stack outputs; ``infra/__main__.py`` exports them.

``declare`` is the one place that reads ``StackConfig``: every component takes its own typed
arguments, mapped from the config here."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization

from infra.app_registration import SecretSchedule
from infra.client_app import ClientApp, ClientAppArgs
from infra.config import StackConfig
from infra.mfa import MfaEnforcement
from infra.pipeline_identity import GitOpsPipelineIdentity
from infra.token_vault import TokenVault, TokenVaultArgs
from infra.vault_access import Grantee, VaultRoleAssignments, access_policy_entries

#: Outputs whose values are credentials; always exported as Pulumi secrets.
SECRET_OUTPUTS = ("keyVaultClientAppSecret", "inHouseAppSecret")


def declare(cfg: StackConfig, *, today: date | None = None) -> dict[str, pulumi.Output[str]]:
    """Declare every resource for ``cfg``. ``today`` anchors the placeholder secret's expiry."""
    today = today or datetime.now(UTC).date()
    # The deploying identity, as each provider sees it: azuread for app ownership, azure-native
    # for the tenant, the subscription (role definition ids) and vault access.
    directory_identity = azuread.get_client_config_output()
    arm_identity = authorization.get_client_config_output()
    tenant_id: pulumi.Output[str] = (
        pulumi.Output.from_input(cfg.tenant_id) if cfg.tenant_id else arm_identity.tenant_id
    )

    owner = directory_identity.object_id
    secret = SecretSchedule(cfg.client_secret_rotation, cfg.client_secret_end_date)
    client_app = ClientApp(
        "keyvault-client",
        ClientAppArgs.key_vault_reader(
            owner_object_id=owner, secret=secret, required_access=cfg.required_resource_access
        ),
    )
    pipeline = (
        GitOpsPipelineIdentity("pipeline", cfg.pipeline_identity, owner_object_id=owner)
        if cfg.pipeline_identity
        else None
    )
    reader = Grantee("reader", client_app.service_principal_object_id, "ServicePrincipal")
    # The deploying identity must be able to write the token (`csp-secure-app consent` runs as it);
    # writerObjectIds adds people, groups or pipelines that run consent too.
    writers = [Grantee("deployer", arm_identity.object_id, cfg.deployer_principal_type)]
    writers += [Grantee(w.object_id, w.object_id, w.principal_type) for w in cfg.writers]
    if pipeline is not None:
        pipeline_sp = pipeline.service_principal_object_id
        writers.append(Grantee("pipeline", pipeline_sp, "ServicePrincipal"))
    rbac = cfg.access_mode == "rbac"
    vault = TokenVault(
        "token-vault",
        TokenVaultArgs(
            location=cfg.location,
            vault_name=cfg.vault_name,
            secret_name=cfg.secret_name,
            resource_group_name=cfg.resource_group_name,
            existing_resource_group=cfg.existing_resource_group,
            tenant_id=tenant_id,
            today=today,
            rbac=rbac,
            access_policies=[] if rbac else access_policy_entries(tenant_id, reader, writers),
            soft_delete_retention_days=cfg.soft_delete_retention_days,
            # Writers' ranges only widen a restricted vault (the config refuses them alone).
            allowed_ip_ranges=(
                tuple(dict.fromkeys([*cfg.allowed_ip_ranges, *cfg.writer_ip_ranges]))
                if cfg.network_restricted
                else ()
            ),
            import_subscription_id=cfg.import_subscription_id,
            tags=cfg.tags,
        ),
    )
    if rbac:
        VaultRoleAssignments(
            "token-vault-access",
            subscription_id=arm_identity.subscription_id,
            secret_id=vault.secret.id,
            reader=reader,
            writers=writers,
            after=vault.secret,
        )
    if cfg.mfa.mode != "none":
        MfaEnforcement("mfa", cfg.mfa, cloud=cfg.cloud)

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
        in_house = ClientApp(
            "in-house", ClientAppArgs.in_house(owner_object_id=owner, secret=secret)
        )
        outputs["inHouseAppId"] = in_house.client_id
        outputs["inHouseAppSecret"] = pulumi.Output.secret(in_house.client_secret)
    return outputs
