"""Who may do what with the token vault: the reader (the Key Vault client app) and the writers.

Two models, chosen by ``accessMode``:

* ``accessPolicy`` (default, what partner guides and most platforms document): standalone
  ``keyvault.AccessPolicy`` resources, one per identity. Never inline ``access_policies`` on the
  Vault as well: the Vault would rewrite the list and drop the standalone entries.
* ``rbac``: Azure role assignments. The reader gets "Key Vault Secrets User" on the token secret
  only (not the vault), writers "Key Vault Secrets Officer" on the vault.

Writers are the deploying identity, ``writerObjectIds`` and, when configured, the GitOps
pipeline's service principal (``infra.pipeline_identity``): all through the same mechanism.

The reader may only ``get``: a platform that could ``set`` or ``list`` could overwrite or discover
tokens it has no business with.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_azure_native as azure_native

from infra.config import AccessMode
from scripts import wellknown
from scripts.policy_rules import READER_MARKER, WRITER_MARKER

READER_SECRET_PERMISSIONS = ("get",)
WRITER_SECRET_PERMISSIONS = ("get", "list", "set")


def role_definition_id(subscription_id: pulumi.Input[str], role_id: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/providers/Microsoft.Authorization/roleDefinitions/",
        role_id,
    )


class VaultAccess(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        mode: AccessMode,
        tenant_id: pulumi.Input[str],
        subscription_id: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        vault_name: pulumi.Input[str],
        vault_id: pulumi.Input[str],
        secret_id: pulumi.Input[str],
        reader_object_id: pulumi.Input[str],
        deployer_object_id: pulumi.Input[str],
        writer_object_ids: Sequence[str],
        pipeline_object_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("csp-secure-app:index:VaultAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The deploying identity must be able to write the token (`invoke consent` runs as it);
        # writerObjectIds adds people or pipelines that run consent too. The deploying identity
        # must not be listed again there: one identity, one access policy.
        # (label, object id, principal type when known). The pipeline's service principal is
        # created in the same run, so its type is given: ARM then skips the directory lookup
        # that fails until a new principal has replicated.
        writers: list[tuple[str, pulumi.Input[str], str | None]] = [
            ("deployer", deployer_object_id, None)
        ]
        writers += [(object_id, object_id, None) for object_id in writer_object_ids]
        if pipeline_object_id is not None:
            writers.append(("pipeline", pipeline_object_id, "ServicePrincipal"))
        self.resources: list[pulumi.CustomResource] = []

        if mode == "rbac":
            self.resources.append(
                azure_native.authorization.RoleAssignment(
                    f"{name}{READER_MARKER}",
                    principal_id=reader_object_id,
                    # Set so ARM does not look the principal up in the directory: a service
                    # principal created seconds ago may not have replicated yet.
                    principal_type="ServicePrincipal",
                    role_definition_id=role_definition_id(
                        subscription_id, wellknown.KEY_VAULT_SECRETS_USER_ROLE
                    ),
                    scope=secret_id,
                    opts=child,
                )
            )
            for label, object_id, principal_type in writers:
                self.resources.append(
                    azure_native.authorization.RoleAssignment(
                        f"{name}{WRITER_MARKER}{label}",
                        principal_id=object_id,
                        principal_type=principal_type,
                        role_definition_id=role_definition_id(
                            subscription_id, wellknown.KEY_VAULT_SECRETS_OFFICER_ROLE
                        ),
                        scope=vault_id,
                        opts=child,
                    )
                )
        else:
            self.resources.append(
                self._policy(
                    f"{name}{READER_MARKER}",
                    tenant_id,
                    resource_group_name,
                    vault_name,
                    reader_object_id,
                    READER_SECRET_PERMISSIONS,
                    child,
                )
            )
            for label, object_id, _ in writers:
                self.resources.append(
                    self._policy(
                        f"{name}{WRITER_MARKER}{label}",
                        tenant_id,
                        resource_group_name,
                        vault_name,
                        object_id,
                        WRITER_SECRET_PERMISSIONS,
                        child,
                    )
                )
        self.register_outputs({})

    @staticmethod
    def _policy(
        name: str,
        tenant_id: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        vault_name: pulumi.Input[str],
        object_id: pulumi.Input[str],
        secret_permissions: Sequence[str],
        opts: pulumi.ResourceOptions,
    ) -> azure_native.keyvault.AccessPolicy:
        return azure_native.keyvault.AccessPolicy(
            name,
            resource_group_name=resource_group_name,
            vault_name=vault_name,
            policy=azure_native.keyvault.AccessPolicyEntryArgs(
                tenant_id=tenant_id,
                object_id=object_id,
                # No application_id: with one, Key Vault grants a "compound identity" (that app
                # acting for that user) and the service principal alone is refused.
                permissions=azure_native.keyvault.PermissionsArgs(secrets=list(secret_permissions)),
            ),
            opts=opts,
        )
