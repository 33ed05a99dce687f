"""Who may do what with the token: the reader (the Key Vault client app) and the writers.

Two models, chosen by ``accessMode``:

* ``rbac`` (default, as Key Vault control-plane API 2026-02-01 creates vaults): Azure role
  assignments scoped to the token secret alone, not the vault: the reader gets "Key Vault Secrets
  User", each writer "Key Vault Secrets Officer". Every assignment names its principal type:
  ARM refuses a mismatch (``UnmatchedPrincipalType``) and pulumi-azure-native sends ``User`` when
  none is given. Each assignment waits for the one before (``depends_on``), after the secret.
* ``accessPolicy`` (what partner guides and most platforms document; Microsoft calls it legacy):
  access policy entries declared inline in the vault's own body (``access_policy_entries``), so
  the vault is the list's only owner and no second write races it. An access policy grants every
  secret in the vault, which is why RBAC is the default.

Writers are the deploying identity, ``writerObjectIds`` and, when configured, the GitOps
pipeline's service principal (``infra.pipeline_identity``): all through the same mechanism.

The reader may only ``get``: a platform that could ``set`` or ``list`` could overwrite or discover
tokens it has no business with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization

from foundation import wellknown
from foundation.resource_types import (
    READER_MARKER,
    READER_PERMISSIONS,
    WRITER_MARKER,
    WRITER_PERMISSIONS,
)


@dataclass(frozen=True)
class Grantee:
    """One identity given vault access: a label for resource names, its object id and its
    principal type (as a role assignment must name it)."""

    label: str
    object_id: pulumi.Input[str]
    principal_type: str


def role_definition_id(subscription_id: pulumi.Input[str], role_id: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/providers/Microsoft.Authorization/roleDefinitions/",
        role_id,
    )


def access_policy_entries(
    tenant_id: pulumi.Input[str], reader: Grantee, writers: Sequence[Grantee]
) -> list[dict[str, Any]]:
    """AccessPolicyEntry objects for the vault body: the reader get-only, writers get/list/set.
    The deploying identity must not be listed again in writerObjectIds: one identity, one
    entry (ARM keeps one entry per object id; the policy rule one_grant_per_identity says so)."""
    return [
        _entry(tenant_id, reader.object_id, READER_PERMISSIONS),
        *(_entry(tenant_id, w.object_id, WRITER_PERMISSIONS) for w in writers),
    ]


def _entry(
    tenant_id: pulumi.Input[str], object_id: pulumi.Input[str], secrets: Sequence[str]
) -> dict[str, Any]:
    # No applicationId: with one, Key Vault grants a "compound identity" (that app acting for
    # that user) and the service principal alone is refused.
    return {
        "tenantId": tenant_id,
        "objectId": object_id,
        "permissions": {"secrets": list(secrets)},
    }


class VaultRoleAssignments(pulumi.ComponentResource):
    """RBAC mode: the reader's and the writers' role assignments on the token secret, one after
    another, after ``after`` (the secret)."""

    def __init__(
        self,
        name: str,
        *,
        subscription_id: pulumi.Input[str],
        secret_id: pulumi.Input[str],
        reader: Grantee,
        writers: Sequence[Grantee],
        after: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("csp-secure-app:index:VaultAccess", name, None, opts)
        grants = [(f"{name}{READER_MARKER}", reader, wellknown.KEY_VAULT_SECRETS_USER_ROLE)]
        grants += [
            (f"{name}{WRITER_MARKER}{w.label}", w, wellknown.KEY_VAULT_SECRETS_OFFICER_ROLE)
            for w in writers
        ]
        self.resources: list[pulumi.CustomResource] = []
        previous: pulumi.Resource = after
        for resource_name, grantee, role in grants:
            assignment = authorization.RoleAssignment(
                resource_name,
                principal_id=grantee.object_id,
                # Always given: it must match the principal (UnmatchedPrincipalType otherwise),
                # and with it ARM skips the directory lookup that fails until a service
                # principal created seconds ago has replicated.
                principal_type=grantee.principal_type,
                role_definition_id=role_definition_id(subscription_id, role),
                # The token secret alone: least privilege (a vault scope would cover every
                # secret in it).
                scope=secret_id,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )
            self.resources.append(assignment)
            previous = assignment
        self.register_outputs({})
