"""A double of the Azure Resource Manager control plane for what the Pulumi program writes:
``Microsoft.KeyVault`` vaults and secrets, and ``Microsoft.Authorization`` role assignments.

In process (no HTTP): tests forward each registration of the program (through Pulumi's mock
engine) as the PUT the provider would send, and get ARM's answer: a status and a JSON body. It
refuses what ARM refuses, with ARM's error shapes (``{"error": {"code", "message"}}``, ARM's
common error response, Microsoft Learn "Azure Resource Manager: common error response"):

* **Parallel operations on one vault**: 409 ``ConflictError``. Key Vault fails an operation when
  the vault changed while it ran ("...serialize the operations so that only one operation is
  performed on the Key Vault at a time", the message quoted in pulumi/pulumi-azure-native#1013,
  Azure/bicep#3113 and hashicorp/terraform-provider-azurerm#15127). Each operation here takes
  ``operation_seconds``; one that starts while another on the same vault is in flight is refused.
  Role assignments are Microsoft.Authorization operations and do not count.
* **A principal type that does not match the principal**: 400 ``UnmatchedPrincipalType`` ("The
  PrincipalId '...' has type 'ServicePrincipal' , which is different from specified
  PrinciaplType 'User'." — ARM's own spelling, as reported in
  Azure/modern-web-app-pattern-dotnet#129). Without a type, an unknown principal is 400
  ``PrincipalNotFound`` (the replication-delay hint, Azure/HubAndSpokeResearchEnclave#50); with a
  type ARM skips the lookup, so a principal created seconds ago is accepted.
* **The same role for the same principal at the same scope again**: 409 ``RoleAssignmentExists``
  ("The role assignment already exists.", Learn "Troubleshoot Azure RBAC").
* **A secret in a vault that does not exist**: 404 ``ParentResourceNotFound`` (ARM's message for
  a nested resource whose parent is missing).
* **A retired API version**: from 2027-02-27 Key Vault control-plane versions before 2026-02-01
  are not served (Learn "Key Vault: migrate API version"); ARM then answers 400
  ``NoRegisteredProviderFound`` naming the version, as for any version a provider does not serve.

Imports nothing of the product (``scripts``, ``infra``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

KEY_VAULT_RETIREMENT = date(2027, 2, 27)
FIRST_SERVED_AFTER_RETIREMENT = "2026-02-01"
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")

_KEY_VAULT = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.KeyVault"
    r"/vaults/(?P<vault>[^/]+)(?:/secrets/(?P<secret>[^/]+))?$",
    re.IGNORECASE,
)
_ROLE_ASSIGNMENT = re.compile(
    r"^(?P<scope>/.+)/providers/Microsoft\.Authorization/roleAssignments/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ArmResponse:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        error = self.body.get("error")
        return str(error.get("code")) if isinstance(error, dict) else None


def arm_error(status: int, code: str, message: str) -> ArmResponse:
    return ArmResponse(status, {"error": {"code": code, "message": message}})


def conflict_error(vault: str) -> ArmResponse:
    return arm_error(
        409,
        "ConflictError",
        "A conflict occurred that prevented the operation from completing. The operation "
        f"failed because the Key Vault '{vault}' changed from the point the operation began. "
        "This can happen if parallel operations are being performed on the Key Vault. To "
        "prevent this error, serialize the operations so that only one operation is performed "
        "on the Key Vault at a time. Follow this link for more information: "
        "https://go.microsoft.com/fwlink/?linkid=2147741",
    )


@dataclass
class ArmDouble:
    """The control plane. ``directory`` maps object ids to their kind (User, Group,
    ServicePrincipal); ``today`` decides whether retired API versions are still served."""

    directory: dict[str, str] = field(default_factory=dict)
    operation_seconds: float = 0.05
    today: date = field(default_factory=date.today)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Every PUT as (resource id, api version, status), in the order they finished.
    log: list[tuple[str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    def add_principal(self, object_id: str, kind: str) -> None:
        self.directory[object_id.lower()] = kind

    def put(self, resource_id: str, api_version: str, body: Mapping[str, Any]) -> ArmResponse:
        """PUT ``resource_id?api-version=api_version`` with ``body``: ARM's answer."""
        answer = self._put(resource_id, api_version, dict(body))
        with self._lock:
            self.log.append((resource_id, api_version, answer.status))
        return answer

    def _put(self, resource_id: str, api_version: str, body: dict[str, Any]) -> ArmResponse:
        vault_match = _KEY_VAULT.match(resource_id)
        if vault_match:
            return self._key_vault_put(resource_id, vault_match, api_version, body)
        role_match = _ROLE_ASSIGNMENT.match(resource_id)
        if role_match:
            return self._role_assignment_put(resource_id, role_match, body)
        return arm_error(
            400,
            "InvalidResourceType",
            f"The resource type of '{resource_id}' is not served by this double.",
        )

    # -- Microsoft.KeyVault ---------------------------------------------------------------------

    def _key_vault_put(
        self, resource_id: str, match: re.Match[str], api_version: str, body: dict[str, Any]
    ) -> ArmResponse:
        vault = match["vault"]
        kind = "secrets" if match["secret"] else "vaults"
        if self.today >= KEY_VAULT_RETIREMENT and api_version[:10] < FIRST_SERVED_AFTER_RETIREMENT:
            return arm_error(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location '{body.get('location')}' "
                f"and API version '{api_version}' for type '{kind}'.",
            )
        vault_id = (
            resource_id.split("/secrets/", 1)[0].lower()
            if match["secret"]
            else (resource_id.lower())
        )
        with self._lock:
            if vault_id in self._in_flight:
                return conflict_error(vault)
            self._in_flight.add(vault_id)
        try:
            # The operation takes a while; another one starting meanwhile is the conflict.
            time.sleep(self.operation_seconds)
            if match["secret"] and vault_id not in self.resources:
                return arm_error(
                    404,
                    "ParentResourceNotFound",
                    "Can not perform requested operation on nested resource. Parent resource "
                    f"'{vault}' not found.",
                )
            stored = {**body, "id": resource_id, "name": match["secret"] or vault}
            properties = dict(stored.get("properties") or {})
            properties.pop("value", None)  # never returned by the control plane
            stored["properties"] = properties
            with self._lock:
                self.resources[resource_id.lower()] = stored
            return ArmResponse(200, stored)
        finally:
            with self._lock:
                self._in_flight.discard(vault_id)

    # -- Microsoft.Authorization ----------------------------------------------------------------

    def _role_assignment_put(
        self, resource_id: str, match: re.Match[str], body: dict[str, Any]
    ) -> ArmResponse:
        properties = body.get("properties") or {}
        principal = str(properties.get("principalId") or "")
        stated = properties.get("principalType")
        actual = self.directory.get(principal.lower())
        if stated is None and actual is None:
            return arm_error(
                400,
                "PrincipalNotFound",
                f"Principal {principal} does not exist in the directory. Check that you have the "
                "correct principal ID. If you are creating this principal and then immediately "
                "assigning a role, this error might be related to a replication delay. In this "
                "case, set the role assignment principalType property to a value, such as "
                "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            )
        if stated is not None and actual is not None and stated != actual:
            return arm_error(
                400,
                "UnmatchedPrincipalType",
                f"The PrincipalId '{principal}' has type '{actual}' , which is different from "
                f"specified PrinciaplType '{stated}'.",
            )
        role = str(properties.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
        scope = match["scope"].lower()
        with self._lock:
            for other_id, other in self.resources.items():
                other_props = other.get("properties") or {}
                if (
                    other_id != resource_id.lower()
                    and str(other_props.get("scope", "")).lower() == scope
                    and str(other_props.get("principalId", "")).lower() == principal.lower()
                    and str(other_props.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
                    == role
                ):
                    return arm_error(
                        409, "RoleAssignmentExists", "The role assignment already exists."
                    )
            stored = {
                "id": resource_id,
                "name": match["name"],
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    **properties,
                    "scope": match["scope"],
                    "principalType": stated or actual,
                },
            }
            self.resources[resource_id.lower()] = stored
        return ArmResponse(201, stored)
