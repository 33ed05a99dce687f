"""The token vault: resource group, Key Vault, and the secret that holds the refresh token.

Pulumi owns the vault and the secret's *existence*; the secret's *value* belongs to
``invoke consent``, which writes new versions through the data plane. Hence the unusual options on
the secret (see ``TokenVault._token_secret``).

Both are azure-native's generic ``resources.Resource`` at Key Vault control-plane API
``wellknown.KEY_VAULT_CONTROL_PLANE_API_VERSION`` (2026-02-01): the typed ``keyvault`` module of
pulumi-azure-native 3.x is generated for 2024-11-01, which Azure stops serving on 2027-02-27, and
a newer typed module needs the Pulumi CLI to generate code. The bodies are the ARM JSON as
published (camelCase; ``tests/infra/test_infra_spec_arm_bodies.py`` checks them against
azure-mgmt-keyvault).

Key Vault refuses parallel control-plane operations on one vault (409 ``ConflictError``, "serialize
the operations"; pulumi/pulumi-azure-native#1013), so every write to the vault depends on the one
before: the vault (with its access policies inline), then the secret, then the role assignments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pulumi
from pulumi_azure_native import resources

from foundation import wellknown

#: Says what the value is to anyone browsing or auditing the vault. Key Vault treats the content
#: type as free text and platforms read the value regardless, so a precise vendor type is more
#: useful than text/plain. Shared with `invoke consent` (foundation.wellknown), so every version of
#: the secret carries the same type.
TOKEN_CONTENT_TYPE = wellknown.TOKEN_CONTENT_TYPE
#: Not a token: marks the secret as "created by Pulumi, consent not run yet".
PLACEHOLDER_VALUE = "placeholder: run `invoke consent` to store the Partner Center refresh token"
API_VERSION = wellknown.KEY_VAULT_CONTROL_PLANE_API_VERSION
NAMESPACE = "Microsoft.KeyVault"


def _epoch_seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def vault_arm_id(subscription_id: str, resource_group: str, vault_name: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/{NAMESPACE}/vaults/{vault_name}"
    )


@dataclass(frozen=True)
class TokenVaultArgs:
    """Where the vault lives and how it is guarded. ``today`` anchors the placeholder secret's
    expiry; ``access_policies`` is the vault's inline access list (empty in RBAC mode)."""

    location: str
    vault_name: str
    secret_name: str
    resource_group_name: str
    tenant_id: pulumi.Input[str]
    today: date
    #: RBAC authorization (role assignments) instead of access policies.
    rbac: bool
    soft_delete_retention_days: int
    access_policies: pulumi.Input[Sequence[pulumi.Input[dict[str, Any]]]] = ()
    #: The group exists already and belongs to someone else: only its name is used.
    existing_resource_group: bool = False
    #: The firewall's allow list; empty leaves the vault open to every network (with a warning).
    allowed_ip_ranges: Sequence[str] = ()
    #: Adopt the vault and secret from this subscription instead of creating them.
    import_subscription_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class TokenVault(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    vault: resources.Resource
    secret: resources.Resource
    vault_uri: pulumi.Output[str]
    secret_uri: pulumi.Output[str]

    def __init__(
        self, name: str, args: TokenVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("csp-secure-app:index:TokenVault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"purpose": "partner-center-secure-app-model", **args.tags}

        if args.existing_resource_group:
            # Someone else owns that group: only its name is used, nothing is declared for it.
            self.resource_group_name = pulumi.Output.from_input(args.resource_group_name)
        else:
            group = resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=tags,
                opts=child,
            )
            self.resource_group_name = group.name

        importing = args.import_subscription_id
        vault_id = (
            vault_arm_id(importing, args.resource_group_name, args.vault_name)
            if importing
            else None
        )
        self.vault = resources.Resource(
            f"{name}-vault",
            api_version=API_VERSION,
            resource_provider_namespace=NAMESPACE,
            resource_type="vaults",
            parent_resource_path="",
            resource_group_name=self.resource_group_name,
            resource_name_=args.vault_name,
            location=args.location,
            tags=tags,
            properties=_vault_properties(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                import_=vault_id,
                # Importing a vault of the previous program: adopt it as it is; the next
                # `pulumi up` (without importSubscriptionId) writes the declared settings.
                ignore_changes=["properties", "tags"] if importing else None,
            ),
        )
        self.secret = self._token_secret(name, args, tags, vault_id)

        self.vault_uri = self.vault.properties.apply(_vault_uri)
        self.secret_uri = self.vault_uri.apply(
            lambda uri: versionless_secret_uri(uri, args.secret_name)
        )
        self.register_outputs({"vaultUri": self.vault_uri, "secretUri": self.secret_uri})

    def _token_secret(
        self,
        name: str,
        args: TokenVaultArgs,
        tags: dict[str, str],
        vault_id: str | None,
    ) -> resources.Resource:
        expires = args.today + timedelta(days=wellknown.REFRESH_TOKEN_LIFETIME_DAYS)
        # SecretProperties of PUT Microsoft.KeyVault/vaults/secrets. The whole object is secret:
        # the value is not sensitive, but no tooling should learn to print this field.
        properties = pulumi.Output.secret(
            {
                "value": PLACEHOLDER_VALUE,
                "contentType": TOKEN_CONTENT_TYPE,
                # A refresh token lives 90 days (rolling); the placeholder gets the same horizon
                # so expiry monitoring fires if consent is never run. ARM calls it `exp`.
                "attributes": {"enabled": True, "exp": _epoch_seconds(expires)},
            }
        )
        return resources.Resource(
            f"{name}-token-secret",
            api_version=API_VERSION,
            resource_provider_namespace=NAMESPACE,
            resource_type="secrets",
            parent_resource_path=f"vaults/{args.vault_name}",
            resource_group_name=self.resource_group_name,
            resource_name_=args.secret_name,
            tags=tags,
            properties=properties,
            opts=pulumi.ResourceOptions(
                parent=self,
                # A write to the vault: never at the same time as the vault's own.
                depends_on=[self.vault],
                protect=True,
                # Deleting the stack must never take the partner's token with it.
                retain_on_delete=True,
                # Written once, never again: Azure never returns a secret's value, so any
                # update would PUT the placeholder back over the refresh token that
                # `invoke consent` stored. Ignore every input that could cause an update.
                ignore_changes=["properties", "tags"],
                additional_secret_outputs=["properties"],
                import_=f"{vault_id}/secrets/{args.secret_name}" if vault_id else None,
            ),
        )


def _vault_properties(args: TokenVaultArgs) -> dict[str, Any]:
    """The ``properties`` of a PUT Microsoft.KeyVault/vaults (VaultProperties)."""
    return {
        "tenantId": args.tenant_id,
        "sku": {"family": "A", "name": "standard"},
        # Always explicit: API 2026-02-01 creates vaults with RBAC on unless told otherwise,
        # and an RBAC vault silently ignores every access policy.
        "enableRbacAuthorization": args.rbac,
        # The vault's one and only access list (empty in RBAC mode): declared here, so no
        # other resource writes it and no write can race this one.
        "accessPolicies": args.access_policies,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": args.soft_delete_retention_days,
        # Irreversible by design: nobody, including a compromised deployer, can purge the
        # token (or the vault) before the retention period ends.
        "enablePurgeProtection": True,
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
        "networkAcls": _network_rules(args.allowed_ip_ranges),
    }


def _network_rules(allowed_ip_ranges: Sequence[str]) -> dict[str, Any]:
    """NetworkRuleSet: deny all but the allowed ranges, or open with a warning."""
    if allowed_ip_ranges:
        ranges = list(allowed_ip_ranges)
        return {
            "defaultAction": "Deny",
            # Lets trusted Azure services (e.g. ARM for this deployment) through.
            "bypass": "AzureServices",
            "ipRules": [{"value": r} for r in ranges],
        }
    pulumi.log.warn(
        "The token vault accepts connections from every network (allowedIpRanges is not "
        "set). Set allowedIpRanges to your automation platform's egress addresses and "
        "writerIpRanges to where you run `invoke consent`."
    )
    return {"defaultAction": "Allow", "bypass": "AzureServices"}


def _vault_uri(properties: Any) -> str:
    return str((properties or {}).get("vaultUri") or "")


def versionless_secret_uri(vault_uri: str, secret_name: str) -> str:
    """``https://{vault}.vault.azure.net/secrets/{name}``: the base identifier, so readers always
    get the newest version. Vault URIs end with a slash; tolerate one without."""
    return f"{vault_uri.rstrip('/')}/secrets/{secret_name}"
