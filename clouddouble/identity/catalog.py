"""The Microsoft resource applications the double knows, with the permissions they expose.

The identity platform needs this to turn scopes (``https://graph.microsoft.com/User.Read``)
and ``requiredResourceAccess`` ids into permission names for the consent page and the
``scp``/``roles`` claims. Ids come from the double's own ``msids`` (never from the product); the
few extra Graph permissions the product's reports and policies need are listed here
(checked against the Microsoft Graph permissions reference).

Graph exposes hundreds of permissions, so its catalog is *incomplete*: an unknown Graph id in an
app's ``requiredResourceAccess`` is ignored rather than rejected. The other resources are complete:
an unknown id there is "permission drift" (AADSTS650051), exactly what a partner meets when a
resource retires a permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import msids as wk

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
KEY_VAULT_USER_IMPERSONATION = "f53da476-18e3-4152-8e01-aec403e6edc0"
KEY_VAULT_RESOURCE = "https://vault.azure.net"
GRAPH_RESOURCE = "https://graph.microsoft.com"


@dataclass(frozen=True)
class Permission:
    id: str
    name: str
    kind: str  # "Scope" (delegated) or "Role" (application)
    admin_only: bool
    description: str


@dataclass
class Resource:
    app_id: str
    display_name: str
    #: Accepted resource URIs; the first is the token ``aud``.
    uris: tuple[str, ...]
    permissions: list[Permission] = field(default_factory=list)
    complete: bool = True
    retired: set[str] = field(default_factory=set)

    @property
    def uri(self) -> str:
        return self.uris[0]

    def by_id(self, permission_id: str) -> Permission | None:
        for perm in self.permissions:
            if perm.id == permission_id and perm.id not in self.retired:
                return perm
        return None

    def scope(self, name: str) -> Permission | None:
        for perm in self.permissions:
            if perm.kind == "Scope" and perm.name.lower() == name.lower():
                return None if perm.id in self.retired else perm
        return None


def _scope(pid: str, name: str, admin: bool, text: str) -> Permission:
    return Permission(pid, name, "Scope", admin, text)


def _role(pid: str, name: str, text: str) -> Permission:
    return Permission(pid, name, "Role", True, text)


def default_resources() -> list[Resource]:
    """A fresh catalog per double, so ``retire_permission`` in one test never leaks to another."""
    return [
        Resource(
            wk.PARTNER_CENTER_APP_ID,
            wk.PARTNER_CENTER_NAME,
            (wk.PARTNER_CENTER_RESOURCE,),
            [
                _scope(
                    wk.PARTNER_CENTER_USER_IMPERSONATION,
                    "user_impersonation",
                    False,
                    "Access Partner Center as the signed-in user",
                )
            ],
        ),
        Resource(
            wk.MICROSOFT_GRAPH_APP_ID,
            wk.MICROSOFT_GRAPH_NAME,
            (
                GRAPH_RESOURCE,
                "https://graph.microsoft.us",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
            [
                _scope(wk.GRAPH_USER_READ, "User.Read", False, "Sign you in and read your profile"),
                _scope(
                    wk.GRAPH_DIRECTORY_ACCESS_AS_USER_ALL,
                    "Directory.AccessAsUser.All",
                    True,
                    "Access the directory as you",
                ),
                _scope(wk.GRAPH_OFFLINE_ACCESS, "offline_access", False, "Maintain access to data"),
                _scope(wk.GRAPH_OPENID, "openid", False, "Sign users in"),
                _scope(wk.GRAPH_PROFILE, "profile", False, "View users' basic profile"),
                _scope(
                    "e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20",
                    "AuditLog.Read.All",
                    True,
                    "Read audit logs",
                ),
                _scope(
                    "572fea84-0151-49b2-9301-11cb16974376",
                    "Policy.Read.All",
                    True,
                    "Read your organization's policies",
                ),
                _scope(
                    "ad902697-1014-4ef5-81ef-2b4301988e8c",
                    "Policy.ReadWrite.ConditionalAccess",
                    True,
                    "Read and write conditional access policies",
                ),
                _scope(
                    "c79f8feb-a9db-4090-85f9-90d820caa0eb",
                    "Application.Read.All",
                    True,
                    "Read applications",
                ),
                _scope(
                    "06da0dbc-49e2-44d2-8312-53f166ab848a",
                    "Directory.Read.All",
                    True,
                    "Read directory data",
                ),
                _role(
                    "b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read audit logs"
                ),
                _role("246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All", "Read policies"),
                _role(
                    "01c0a623-fc9b-48e9-b794-0756f8e8f067",
                    "Policy.ReadWrite.ConditionalAccess",
                    "Read and write conditional access policies",
                ),
                _role(
                    "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
                    "Application.Read.All",
                    "Read all applications",
                ),
                _role(
                    "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory"
                ),
            ],
            complete=False,
        ),
        Resource(
            KEY_VAULT_APP_ID,
            "Azure Key Vault",
            (KEY_VAULT_RESOURCE, "https://vault.usgovcloudapi.net", "https://vault.azure.cn"),
            [
                _scope(
                    KEY_VAULT_USER_IMPERSONATION,
                    "user_impersonation",
                    False,
                    "Have full access to the Azure Key Vault service",
                )
            ],
        ),
        Resource(
            wk.AZURE_SERVICE_MANAGEMENT_APP_ID,
            wk.AZURE_SERVICE_MANAGEMENT_NAME,
            ("https://management.azure.com", "https://management.core.windows.net"),
            [
                _scope(
                    wk.AZURE_SERVICE_MANAGEMENT_USER_IMPERSONATION,
                    "user_impersonation",
                    False,
                    "Access Azure Service Management as you",
                )
            ],
        ),
    ]


class Catalog:
    """Lookup of resources by app id or URI (case-insensitive, trailing slash ignored)."""

    def __init__(self, resources: list[Resource] | None = None) -> None:
        self.resources = resources if resources is not None else default_resources()

    def by_app_id(self, app_id: str) -> Resource | None:
        for res in self.resources:
            if res.app_id.lower() == app_id.lower():
                return res
        return None

    def by_uri(self, uri: str) -> Resource | None:
        wanted = uri.rstrip("/").lower()
        for res in self.resources:
            if wanted in (u.lower() for u in res.uris) or wanted == res.app_id.lower():
                return res
        return None

    @property
    def graph(self) -> Resource:
        res = self.by_app_id(wk.MICROSOFT_GRAPH_APP_ID)
        assert res is not None  # nosec B101
        return res
