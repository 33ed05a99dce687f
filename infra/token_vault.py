"""The token vault: resource group, Key Vault, and the secret that holds the refresh token.

Pulumi owns the vault and the secret's *existence*; the secret's *value* belongs to
``invoke consent``, which writes new versions through the data plane. Hence the unusual options on
the secret (see ``TokenVault._token_secret``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pulumi
import pulumi_azure_native as azure_native

from infra.config import StackConfig
from scripts import wellknown

#: Says what the value is to anyone browsing or auditing the vault. Key Vault treats the content
#: type as free text and platforms read the value regardless, so a precise vendor type is more
#: useful than text/plain. Shared with `invoke consent` (scripts.wellknown), so every version of
#: the secret carries the same type.
TOKEN_CONTENT_TYPE = wellknown.TOKEN_CONTENT_TYPE
#: Not a token: marks the secret as "created by Pulumi, consent not run yet".
PLACEHOLDER_VALUE = "placeholder: run `invoke consent` to store the Partner Center refresh token"


def _epoch_seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


class TokenVault(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    vault: azure_native.keyvault.Vault
    secret: azure_native.keyvault.Secret
    vault_uri: pulumi.Output[str]
    secret_uri: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        tenant_id: pulumi.Input[str],
        today: date,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("csp-secure-app:index:TokenVault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"purpose": "partner-center-secure-app-model", **cfg.tags}

        if cfg.existing_resource_group:
            # Someone else owns that group: only its name is used, nothing is declared for it.
            self.resource_group_name = pulumi.Output.from_input(cfg.resource_group_name)
        else:
            group = azure_native.resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=cfg.resource_group_name,
                location=cfg.location,
                tags=tags,
                opts=child,
            )
            self.resource_group_name = group.name

        self.vault = azure_native.keyvault.Vault(
            f"{name}-vault",
            vault_name=cfg.vault_name,
            resource_group_name=self.resource_group_name,
            location=cfg.location,
            tags=tags,
            properties=azure_native.keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id,
                sku=azure_native.keyvault.SkuArgs(
                    family=azure_native.keyvault.SkuFamily.A,
                    name=azure_native.keyvault.SkuName.STANDARD,
                ),
                # Always explicit: control-plane API 2026-02-01 creates vaults with RBAC on by
                # default, and an RBAC vault silently ignores every access policy.
                enable_rbac_authorization=cfg.access_mode == "rbac",
                enable_soft_delete=True,
                soft_delete_retention_in_days=cfg.soft_delete_retention_days,
                # Irreversible by design: nobody, including a compromised deployer, can purge
                # the token (or the vault) before the retention period ends.
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                network_acls=self._network_rules(cfg),
                # access_policies deliberately unset. The ARM API requires the property on
                # create; azure-native (since v2.25, pulumi-azure-native#2951) sends [] on create
                # when it is unset and keeps it out of state for exactly this case, so later
                # updates do not carry a list that would replace the standalone AccessPolicy
                # entries (infra/vault_access.py). Setting it here, even to [], would.
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                # After a refresh the vault's state lists the entries the standalone policies
                # added; without this, the next update would try to remove them again.
                ignore_changes=["properties.accessPolicies"],
            ),
        )
        self.secret = self._token_secret(name, cfg, tags, today)

        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri or "")
        self.secret_uri = pulumi.Output.all(self.vault_uri, self.secret.name).apply(
            lambda args: versionless_secret_uri(args[0], cfg.secret_name)
        )
        self.register_outputs({"vaultUri": self.vault_uri, "secretUri": self.secret_uri})

    @staticmethod
    def _network_rules(cfg: StackConfig) -> azure_native.keyvault.NetworkRuleSetArgs:
        if cfg.network_restricted:
            ranges = list(dict.fromkeys([*cfg.allowed_ip_ranges, *cfg.writer_ip_ranges]))
            return azure_native.keyvault.NetworkRuleSetArgs(
                default_action="Deny",
                # Lets trusted Azure services (e.g. ARM for this deployment) through.
                bypass="AzureServices",
                ip_rules=[azure_native.keyvault.IPRuleArgs(value=r) for r in ranges],
            )
        pulumi.log.warn(
            "The token vault accepts connections from every network (allowedIpRanges is not "
            "set). Set allowedIpRanges to your automation platform's egress addresses and "
            "writerIpRanges to where you run `invoke consent`."
        )
        return azure_native.keyvault.NetworkRuleSetArgs(
            default_action="Allow", bypass="AzureServices"
        )

    def _token_secret(
        self, name: str, cfg: StackConfig, tags: dict[str, str], today: date
    ) -> azure_native.keyvault.Secret:
        expires = today + timedelta(days=wellknown.REFRESH_TOKEN_LIFETIME_DAYS)
        return azure_native.keyvault.Secret(
            f"{name}-token-secret",
            secret_name=cfg.secret_name,
            vault_name=self.vault.name,
            resource_group_name=self.resource_group_name,
            tags=tags,
            properties=azure_native.keyvault.SecretPropertiesArgs(
                # Not sensitive, but marked secret so no tooling learns to print this field.
                value=pulumi.Output.secret(PLACEHOLDER_VALUE),
                content_type=TOKEN_CONTENT_TYPE,
                # A refresh token lives 90 days (rolling); the placeholder gets the same horizon
                # so expiry monitoring fires if consent is never run.
                attributes=azure_native.keyvault.SecretAttributesArgs(
                    enabled=True, expires=_epoch_seconds(expires)
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                # Deleting the stack must never take the partner's token with it.
                retain_on_delete=True,
                # Written once, never again: Azure never returns a secret's value, so any
                # update would PUT the placeholder back over the refresh token that
                # `invoke consent` stored. Ignore every input that could cause an update.
                ignore_changes=["properties", "tags"],
            ),
        )


def versionless_secret_uri(vault_uri: str, secret_name: str) -> str:
    """``https://{vault}.vault.azure.net/secrets/{name}``: the base identifier, so readers always
    get the newest version. Vault URIs end with a slash; tolerate one without."""
    return f"{vault_uri.rstrip('/')}/secrets/{secret_name}"
