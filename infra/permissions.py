"""API permissions an app registration requests (``requiredResourceAccess`` in stack config).

Parsed from structured config into frozen values; the retired Azure AD Graph is refused, because
consent to it fails for new apps and old partner guides still copy its id around.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from foundation import naming as check
from foundation import wellknown


@dataclass(frozen=True)
class ResourceAccess:
    """One permission: ``type`` is ``Scope`` (delegated) or ``Role`` (application)."""

    id: str
    type: Literal["Scope", "Role"]


@dataclass(frozen=True)
class RequiredResourceAccess:
    resource_app_id: str
    resource_accesses: tuple[ResourceAccess, ...]


#: The Key Vault client app only signs in to read the vault: Graph User.Read (delegated) is the
#: minimal permission Entra needs to let a user sign in to it.
DEFAULT_REQUIRED_RESOURCE_ACCESS = (
    RequiredResourceAccess(
        resource_app_id=wellknown.MICROSOFT_GRAPH_APP_ID,
        resource_accesses=(ResourceAccess(id=wellknown.GRAPH_USER_READ, type="Scope"),),
    ),
)


def parse_required_access(raw: str) -> tuple[tuple[RequiredResourceAccess, ...], list[str]]:
    shape = (
        "rule: a list of {resourceAppId: <GUID>, resourceAccess: [{id: <GUID>, type: Scope|Role}]}"
    )
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return (), [f"is not structured config ({shape})"]
    if not isinstance(data, list) or not data:
        return (), [f"must be a non-empty list ({shape})"]
    errors: list[str] = []
    result: list[RequiredResourceAccess] = []
    for index, entry in enumerate(data):
        where = f"entry {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("resourceAccess"), list):
            errors.append(f"{where} has the wrong shape ({shape})")
            continue
        app_id = str(entry.get("resourceAppId", ""))
        if error := check.check_guid(app_id):
            errors.append(f"{where} resourceAppId: {error}")
        elif app_id == wellknown.LEGACY_AAD_GRAPH_APP_ID:
            errors.append(
                f"{where} resourceAppId: Azure AD Graph is retired (rule: request Microsoft "
                f"Graph {wellknown.MICROSOFT_GRAPH_APP_ID} permissions instead)"
            )
        accesses: list[ResourceAccess] = []
        if not entry["resourceAccess"]:
            errors.append(f"{where} resourceAccess is empty ({shape})")
        for item in entry["resourceAccess"]:
            item_id = str(item.get("id", "")) if isinstance(item, dict) else ""
            item_type = item.get("type") if isinstance(item, dict) else None
            if error := check.check_guid(item_id):
                errors.append(f"{where} resourceAccess id: {error}")
            elif item_type not in ("Scope", "Role"):
                errors.append(
                    f"{where} resourceAccess {item_id}: type {item_type!r} (rule: Scope for "
                    "delegated, Role for application permissions)"
                )
            else:
                accesses.append(ResourceAccess(id=item_id, type=item_type))
        result.append(RequiredResourceAccess(app_id, tuple(accesses)))
    return tuple(result), errors


#: What the GitOps pipeline's identity reads in Microsoft Graph when it runs ``verify``: application
#: permissions (``Role``), by their app-role ids (``wellknown.VERIFY_GRAPH_APP_ROLES``): the app
#: secret's expiry and the CPV app's service principal (Application.Read.All), its delegated grants
#: (DelegatedPermissionGrant.Read.All), the consenting admin's roles
#: (RoleManagement.Read.Directory), the AdminAgents group's members (GroupMember.Read.All),
#: Conditional Access policies and security defaults (Policy.Read.All). Requesting them is not
#: granting them: an admin consents once (README "Day 2"); the program has no admin-consent step.
VERIFY_GRAPH_ACCESS = RequiredResourceAccess(
    resource_app_id=wellknown.MICROSOFT_GRAPH_APP_ID,
    resource_accesses=tuple(
        ResourceAccess(id=role, type="Role") for role in wellknown.VERIFY_GRAPH_APP_ROLES
    ),
)
