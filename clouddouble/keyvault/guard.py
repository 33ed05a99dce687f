"""What a Key Vault checks before it touches a secret: throttling, the firewall, and who may do
what (access policies, or Azure RBAC role assignments with their propagation delay).

Each refusal is the real service's own shape (``shapes``, where each is quoted with its source);
``vault.py`` calls these in the real service's order.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import msids as wk
from .. import shapes
from ..messages import Response
from .store import VaultError

KEY_VAULT_ADMINISTRATOR_ROLE = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
ALL_SECRET_PERMISSIONS = frozenset(
    {"get", "list", "set", "delete", "recover", "backup", "restore", "purge"}
)
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    wk.KEY_VAULT_SECRETS_USER_ROLE: frozenset({"get", "list"}),
    wk.KEY_VAULT_SECRETS_OFFICER_ROLE: ALL_SECRET_PERMISSIONS,
    KEY_VAULT_ADMINISTRATOR_ROLE: ALL_SECRET_PERMISSIONS,
}
#: The data actions RBAC refusals name (Learn, "Azure built-in roles for Key Vault data plane").
RBAC_ACTIONS = {
    "get": "secrets/getSecret/action",
    "list": "secrets/readMetadata/action",
    "set": "secrets/setSecret/action",
    "delete": "secrets/delete",
    "recover": "secrets/recover/action",
    "purge": "secrets/purge/action",
}
#: Every listener binds 127.0.0.1 only, so that is the one client address a vault ever sees.
CLIENT_ADDRESS = "127.0.0.1"
#: Where the double's vaults pretend to live, for the ARM resource id in RBAC refusals.
RESOURCE_GROUP_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-secure-app"
)


@dataclass(frozen=True)
class RoleAssignment:
    """A built-in role on a scope; Key Vault honours it only from ``effective_at`` on (Azure RBAC
    propagation: Learn "Troubleshoot Azure RBAC" says changes can take minutes, and Key Vault
    answers 403 ``ForbiddenByRbac`` meanwhile, "please observe propagation time")."""

    object_id: str
    role: str
    scope: str | None
    effective_at: datetime


@dataclass
class Throttle:
    """The next ``remaining`` requests get 429 ``Throttled`` with ``Retry-After: retry_after``; a
    request that comes back before the advertised wait is over is refused again, uncounted (so a
    client that ignores ``Retry-After`` shows up as extra 429s in the request log)."""

    remaining: int
    retry_after: int
    reason: str
    blocked_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def refusal(self) -> Response | None:
        """The 429 for this request, or None once the throttle has run out."""
        with self.lock:
            now = time.monotonic()  # the client waits in real time, so the throttle does too
            if now < self.blocked_until:
                wait = math.ceil(self.blocked_until - now)
            elif self.remaining > 0:
                self.remaining -= 1
                self.blocked_until = now + self.retry_after
                wait = self.retry_after
            else:
                return None
        body, content_type = shapes.key_vault_throttled(self.reason)
        return Response(429, body, [("Content-Type", content_type), ("Retry-After", str(wait))])


def network_acls(ip_rules: list[str] | tuple[str, ...], default_action: str,
                 bypass: str) -> dict[str, Any]:
    """ARM's ``properties.networkAcls`` (Learn, "Configure Azure Key Vault networking settings"):
    ``ipRules`` hold IPv4 addresses or CIDR ranges; an invalid one raises ValueError, as ARM
    refuses it."""
    for rule in ip_rules:
        ipaddress.IPv4Network(rule, strict=False)
    return {"defaultAction": default_action, "bypass": bypass,
            "ipRules": [{"value": rule} for rule in ip_rules]}


def check_firewall(acls: dict[str, Any] | None, claims: dict[str, Any], vault: str) -> None:
    """403 ``ForbiddenByFirewall`` for a caller outside the rules. ``bypass`` never applies: no
    caller of the double is a trusted Azure service (nor is a GitHub-hosted runner)."""
    if acls is None or acls["defaultAction"] != "Deny":
        return
    address = ipaddress.IPv4Address(CLIENT_ADDRESS)
    if any(address in ipaddress.IPv4Network(r["value"], strict=False) for r in acls["ipRules"]):
        return
    message = shapes.key_vault_firewall_message(CLIENT_ADDRESS, caller(claims), vault)
    raise VaultError(403, "Forbidden", message, "ForbiddenByFirewall")


def check_roles(roles: list[RoleAssignment], claims: dict[str, Any], permission: str,
                secret: str | None, vault: str, now: datetime) -> None:
    """RBAC vaults: an effective assignment covering the secret must grant the permission."""
    oid = str(claims.get("oid"))
    allowed: set[str] = set()
    for assignment in roles:
        if (assignment.object_id == oid and assignment.effective_at <= now
                and scope_covers(assignment.scope, vault, secret)):
            allowed |= ROLE_PERMISSIONS.get(assignment.role, frozenset())
    if permission in allowed:
        return
    resource = f"{RESOURCE_GROUP_ID}/providers/microsoft.keyvault/vaults/{vault}"
    resource += f"/secrets/{secret}" if secret else ""
    action = RBAC_ACTIONS.get(permission, f"secrets/{permission}")
    raise VaultError(403, "Forbidden",
                     shapes.key_vault_rbac_message(caller(claims), action, resource, vault),
                     "ForbiddenByRbac")


def check_policies(policies: dict[str, set[str]], claims: dict[str, Any], permission: str,
                   vault: str) -> None:
    """Access-policy vaults: the caller's object id must hold the permission."""
    if permission in policies.get(str(claims.get("oid")), set()):
        return
    raise VaultError(403, "Forbidden",
                     shapes.key_vault_access_policy_message(caller(claims), permission, vault),
                     "AccessDenied")


def scope_covers(scope: str | None, vault: str, secret: str | None) -> bool:
    if not scope or scope == "/":
        return True
    lowered = scope.rstrip("/").lower()
    marker = f"/vaults/{vault.lower()}"
    if "/vaults/" not in lowered:
        return True  # subscription or resource group scope
    if lowered.endswith(marker):
        return True
    return secret is not None and lowered.endswith(f"{marker}/secrets/{secret.lower()}")


def caller(claims: dict[str, Any]) -> str:
    """How Key Vault names the caller in its refusals: ``appid=...;oid=...;iss=...``."""
    return f"appid={claims.get('appid')};oid={claims.get('oid')};iss={claims.get('iss')}"
