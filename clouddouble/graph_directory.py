"""Microsoft Graph v1.0's directory reads, for ``verify``'s consent and Conditional Access checks.

Routed from ``graph.Graph`` (which authenticates the caller and resolves its tenant first):

* ``GET /v1.0/servicePrincipals(appId='{appId}')`` (Learn, "Get servicePrincipal": application
  Application.Read.All, or Directory.Read.All). Microsoft's own apps (Partner Center, Graph, Key
  Vault, Azure Service Management) have a service principal in every tenant, at an object id
  that is the tenant's own; an app of the directory has one where it was consented or added.
* ``GET /v1.0/oauth2PermissionGrants`` with ``$filter=clientId eq '{spObjectId}'`` (Learn, "List
  oAuth2PermissionGrants" and the "oAuth2PermissionGrant resource type": ``clientId`` and
  ``resourceId`` are service principal *object* ids, ``consentType`` ``AllPrincipals`` or
  ``Principal`` with ``principalId``, ``scope`` space-separated; DelegatedPermissionGrant.Read.All
  or Directory.Read.All).
* ``GET /v1.0/roleManagement/directory/roleAssignments`` with ``$filter=principalId eq '...'`` or
  ``roleDefinitionId eq '...'`` (Learn, "List unifiedRoleAssignments":
  RoleManagement.Read.Directory, RoleManagement.Read.All or Directory.Read.All; for a built-in
  role ``roleDefinitionId`` is its template id, Global Administrator
  ``62e90394-69f5-4237-9190-012177145e10``). A user created
  ``admin=True`` holds Global Administrator until :meth:`GraphDirectory.remove_role`.
* ``GET /v1.0/groups`` with ``$filter=displayName eq '...'``, ``GET /v1.0/groups/{id}/members`` and
  ``/transitiveMembers`` (Learn, "List groups", "List group members", "List group transitive
  members": GroupMember.Read.All). Members are ``directoryObject``s; an app without a permission
  to read users (User.Read.All, User.ReadBasic.All, Directory.Read.All) gets each user "with
  limited information": only ``@odata.type`` and ``id``, the other properties null (Learn,
  "Limited information returned for inaccessible member objects").

A partner tenant gets the groups Partner Center keeps for its roles (``AdminAgents``,
``HelpdeskAgents``, ``SalesAgents``; Learn, "Assign roles and permissions to users" in Partner
Center: the Admin agent role is membership of AdminAgents) the first time any of them is read or
changed, with the tenant's Global Administrators of that moment in AdminAgents.

Conditional Access policies and security defaults are ``graph.Graph``'s own routes; the
helpers here seed them as an admin would (:meth:`add_ca_policy`, :meth:`set_security_defaults`).

``$filter`` takes one ``property eq 'value'`` clause on a property the resource lets you filter
(anything else is Graph's ``400 Request_UnsupportedQuery``); ``$select`` keeps the named
properties. Collections page at ``Graph.page_size`` through ``@odata.nextLink``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .graph_errors import METADATA, GraphError, Require
from .identity.catalog import Permission
from .identity.directory import Directory, DirectoryError, Tenant, User
from .messages import Request, Response, json_response

#: Graph application permissions (app roles) these endpoints check, as the Microsoft Graph
#: permissions reference lists them; added to the double's Graph catalog when missing.
APP_ROLES = {
    "DelegatedPermissionGrant.Read.All": "81b4724a-58aa-41c1-8a55-84ef97466587",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
}
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PARTNER_GROUPS = ("AdminAgents", "HelpdeskAgents", "SalesAgents")
#: ``appOwnerOrganizationId`` of Microsoft's own apps: Microsoft's first-party services tenant.
MICROSOFT_SERVICES_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
_SP_BY_APPID = re.compile(r"^/v1\.0/serviceprincipals\(appid='(?P<id>[^']+)'\)$")
_MEMBERS = re.compile(r"^/v1\.0/groups/(?P<id>[0-9a-f-]{36})/(?P<rel>members|transitivemembers)$")
_FILTER = re.compile(r"^\s*(?P<prop>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
_DIRECTORY_READERS = {"Directory.Read.All", "Directory.ReadWrite.All"}
_USER_READERS = {"User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All"} | _DIRECTORY_READERS



@dataclass
class Group:
    id: str
    display_name: str
    #: Object ids of users or groups (``transitiveMembers`` flattens nested groups).
    members: list[str] = field(default_factory=list)


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "clouddouble:" + "/".join(parts)))


def _opaque_id(*parts: str) -> str:
    """Graph's grant and assignment ids are opaque base64url strings, not GUIDs."""
    return base64.urlsafe_b64encode(hashlib.sha256("/".join(parts).encode()).digest()[:33]).decode()


class GraphDirectory:
    def __init__(self, directory: Directory, require: Require,
                 page_size: Callable[[], int]) -> None:
        self.directory = directory
        self._require = require
        self._page_size = page_size
        self.groups: dict[str, list[Group]] = {}
        self.disabled: set[tuple[str, str]] = set()  # (tenant id, app id)
        self.added_roles: set[tuple[str, str, str]] = set()  # tenant, principal, template
        self.removed_roles: set[tuple[str, str, str]] = set()
        graph = directory.catalog.graph
        known = {p.id for p in graph.permissions}
        for name, role_id in APP_ROLES.items():
            if role_id not in known:
                graph.permissions.append(Permission(role_id, name, "Role", True, name))

    # -- test and demo hooks (what an admin does in the Entra admin center) ----------------------
    def disable_service_principal(self, tenant_id: str, app_id: str, disabled: bool = True) -> None:
        with self.directory.lock:
            key = (tenant_id, app_id.lower())
            (self.disabled.add if disabled else self.disabled.discard)(key)

    def delete_service_principal(self, tenant_id: str, app_id: str) -> None:
        """What deleting an enterprise application does: its service principal and the
        delegated grants and app role assignments that named it leave the tenant (the app's
        registration, in its own tenant, stays)."""
        with self.directory.lock:
            app_id = app_id.lower()
            self.directory.service_principals = [
                sp for sp in self.directory.service_principals
                if (sp.tenant_id, sp.app_id) != (tenant_id, app_id)]
            self.directory.revoke_consent(tenant_id, app_id)

    def add_group(self, tenant_id: str, name: str, members: list[str] | None = None) -> Group:
        with self.directory.lock:
            group = Group(str(uuid.uuid4()), name, list(members or []))
            self._groups_of(self.directory.require_tenant(tenant_id)).append(group)
            return group

    def group(self, tenant_id: str, name: str) -> Group:
        with self.directory.lock:
            tenant = self.directory.require_tenant(tenant_id)
            for group in self._groups_of(tenant):
                if group.display_name.lower() == name.lower():
                    return group
            raise DirectoryError(f"no group {name} in {tenant_id}")

    def add_member(self, tenant_id: str, group_name: str, object_id: str) -> None:
        with self.directory.lock:
            group = self.group(tenant_id, group_name)
            if object_id not in group.members:
                group.members.append(object_id)

    def remove_member(self, tenant_id: str, group_name: str, object_id: str) -> None:
        with self.directory.lock:
            group = self.group(tenant_id, group_name)
            group.members = [m for m in group.members if m != object_id]

    def assign_role(self, tenant_id: str, principal_id: str, template_id: str) -> None:
        with self.directory.lock:
            self.removed_roles.discard((tenant_id, principal_id, template_id))
            self.added_roles.add((tenant_id, principal_id, template_id))

    def remove_role(self, tenant_id: str, principal_id: str,
                    template_id: str = GLOBAL_ADMINISTRATOR) -> None:
        """The role assignment is gone; the user's sign-ins and refresh tokens are untouched,
        as in Entra (a role is checked when it is used, not when a token is redeemed)."""
        with self.directory.lock:
            self.added_roles.discard((tenant_id, principal_id, template_id))
            self.removed_roles.add((tenant_id, principal_id, template_id))

    def add_ca_policy(self, tenant_id: str, policy: dict[str, Any]) -> dict[str, Any]:
        """A conditionalAccessPolicy as ``POST /identity/conditionalAccess/policies`` stores it
        (Learn, "Create conditionalAccessPolicy"): an enabled one is refused while security
        defaults are on, as there (``graph_policies.SECURITY_DEFAULTS_ON``)."""
        with self.directory.lock:
            tenant = self.directory.require_tenant(tenant_id)
            if tenant.security_defaults and policy.get("state") == "enabled":
                raise DirectoryError("disable security defaults before enabling a policy")
            stored = {"id": str(uuid.uuid4()), "createdDateTime": "2026-12-01T00:00:00Z",
                      "modifiedDateTime": None, "grantControls": None, "sessionControls": None,
                      **policy}
            tenant.ca_policies.append(stored)
            return stored

    def set_security_defaults(self, tenant_id: str, enabled: bool) -> None:
        with self.directory.lock:
            tenant = self.directory.require_tenant(tenant_id)
            if enabled and any(p.get("state") == "enabled" for p in tenant.ca_policies):
                raise DirectoryError("security defaults need every Conditional Access policy off")
            tenant.security_defaults = enabled

    # -- routing ---------------------------------------------------------------------------------
    def route(self, request: Request, claims: dict[str, Any], tenant: Tenant) -> Response | None:
        """The answer to one of this module's endpoints, or None for a path it does not serve."""
        path = request.path.rstrip("/").lower()
        if request.method != "GET":
            return None
        if match := _SP_BY_APPID.match(path):
            readers = {"Application.Read.All", "Application.ReadWrite.All"} | _DIRECTORY_READERS
            self._require(claims, readers | {"Directory.AccessAsUser.All"}, readers, False)
            return self._service_principal(request, tenant, match["id"])
        if path == "/v1.0/oauth2permissiongrants":
            readers = {"DelegatedPermissionGrant.Read.All",
                       "DelegatedPermissionGrant.ReadWrite.All"} | _DIRECTORY_READERS
            self._require(claims, readers, readers, False)
            return self._page(request, "oauth2PermissionGrants", self._grants(tenant),
                              ("clientId", "consentType", "principalId", "resourceId"))
        if path == "/v1.0/rolemanagement/directory/roleassignments":
            readers = {"RoleManagement.Read.Directory", "RoleManagement.Read.All",
                       "RoleManagement.ReadWrite.Directory"} | _DIRECTORY_READERS
            self._require(claims, readers, readers, False)
            return self._page(request, "roleManagement/directory/roleAssignments",
                              self._role_assignments(tenant),
                              ("principalId", "roleDefinitionId", "directoryScopeId"))
        readers = {"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All",
                   "GroupMember.ReadWrite.All"} | _DIRECTORY_READERS
        if path == "/v1.0/groups":
            self._require(claims, readers, readers, False)
            with self.directory.lock:
                rows = [_group_row(g) for g in self._groups_of(tenant)]
            return self._page(request, "groups", rows, ("displayName", "id"))
        if match := _MEMBERS.match(path):
            self._require(claims, readers, readers, False)
            full = _reads_users(claims)
            with self.directory.lock:
                group = next((g for g in self._groups_of(tenant) if g.id == match["id"]), None)
                if group is None:
                    raise _not_found(match["id"])
                ids = (self._flatten(tenant, group) if match["rel"] == "transitivemembers"
                       else list(group.members))
                rows = [row for i in ids if (row := self._member_row(i, full)) is not None]
            return self._page(request, "directoryObjects", rows, ())
        return None

    # -- endpoints -------------------------------------------------------------------------------
    def _service_principal(self, request: Request, tenant: Tenant, app_id: str) -> Response:
        with self.directory.lock:
            row = self._sp_row(tenant, app_id)
        if row is None:
            raise _not_found(app_id)
        body = {"@odata.context": f"{METADATA}#servicePrincipals/$entity", **row}
        return json_response(200, _select(body, request.query.get("$select")))

    def _sp_row(self, tenant: Tenant, app_id: str) -> dict[str, Any] | None:
        """The servicePrincipal resource (Learn, "servicePrincipal resource type"), trimmed to
        the properties a reader of consent needs."""
        app_id = app_id.lower()
        resource = self.directory.catalog.by_app_id(app_id)
        sp = self.directory.service_principal(tenant.id, app_id)
        if sp is not None:
            app = self.directory.app(app_id)
            name, owner = (app.display_name, app.tenant_id) if app else (app_id, tenant.id)
            object_id = sp.object_id
        elif resource is not None:
            name, owner = resource.display_name, MICROSOFT_SERVICES_TENANT
            object_id = self.first_party_sp_id(tenant.id, app_id)
        else:
            return None
        return {"id": object_id, "appId": app_id, "displayName": name, "appDisplayName": name,
                "accountEnabled": (tenant.id, app_id) not in self.disabled,
                "appOwnerOrganizationId": owner, "servicePrincipalType": "Application"}

    @staticmethod
    def first_party_sp_id(tenant_id: str, app_id: str) -> str:
        """The object id of a Microsoft app's service principal in ``tenant_id``: per tenant, as
        in Entra, where the same app id has a different object id in every tenant."""
        return _stable_id("sp", tenant_id, app_id.lower())

    def _sp_object_id(self, tenant: Tenant, app_id: str) -> str | None:
        row = self._sp_row(tenant, app_id)
        return str(row["id"]) if row else None

    def _grants(self, tenant: Tenant) -> list[dict[str, Any]]:
        """Each delegated grant of the tenant; a grant whose client has no service principal
        any more (the enterprise app was deleted) went with it, as in Entra."""
        rows = []
        with self.directory.lock:
            for grant in self.directory.grants:
                if grant.tenant_id != tenant.id:
                    continue
                client = self.directory.service_principal(tenant.id, grant.client_app_id)
                resource = self._sp_object_id(tenant, grant.resource_app_id)
                if client is None or resource is None:
                    continue
                principal = grant.principal_id
                rows.append({
                    "id": _opaque_id(client.object_id, resource, principal or ""),
                    "clientId": client.object_id,
                    "consentType": "Principal" if principal else "AllPrincipals",
                    "principalId": principal, "resourceId": resource,
                    "scope": " ".join(sorted(grant.scopes))})
        return rows

    def _role_assignments(self, tenant: Tenant) -> list[dict[str, Any]]:
        with self.directory.lock:
            held = {(u.object_id, GLOBAL_ADMINISTRATOR)
                    for u in self.directory.users_in(tenant.id) if u.admin}
            held |= {(p, r) for t, p, r in self.added_roles if t == tenant.id}
            held -= {(p, r) for t, p, r in self.removed_roles if t == tenant.id}
        return [{"id": _opaque_id(principal, role), "principalId": principal,
                 "roleDefinitionId": role, "directoryScopeId": "/", "appScopeId": None}
                for principal, role in sorted(held)]

    def _groups_of(self, tenant: Tenant) -> list[Group]:
        if tenant.id not in self.groups:
            groups: list[Group] = []
            if tenant.is_partner:
                admins = [u.object_id for u in self.directory.users_in(tenant.id) if u.admin]
                groups = [Group(_stable_id("group", tenant.id, name), name,
                                admins if name == "AdminAgents" else [])
                          for name in PARTNER_GROUPS]
            self.groups[tenant.id] = groups
        return self.groups[tenant.id]

    def _flatten(self, tenant: Tenant, group: Group, seen: set[str] | None = None) -> list[str]:
        seen = seen if seen is not None else {group.id}
        by_id = {g.id: g for g in self._groups_of(tenant)}
        found: list[str] = []
        for member in group.members:
            nested = by_id.get(member)
            if nested is not None and member not in seen:
                seen.add(member)
                found += [member, *self._flatten(tenant, nested, seen)]
            elif nested is None and member not in found:
                found.append(member)
        return list(dict.fromkeys(found))

    def _member_row(self, object_id: str, full: bool) -> dict[str, Any] | None:
        user: User | None = self.directory.user_by_id(object_id)
        if user is None:
            group = next((g for groups in self.groups.values() for g in groups
                          if g.id == object_id), None)
            return _group_row(group) if group else None
        return {"@odata.type": "#microsoft.graph.user", "id": user.object_id,
                "displayName": user.display_name if full else None,
                "userPrincipalName": user.upn if full else None}

    def _page(self, request: Request, entity: str, rows: list[dict[str, Any]],
              filterable: tuple[str, ...]) -> Response:
        query = request.query
        if query.get("$filter"):
            prop, value = _clause(query["$filter"], filterable)
            rows = [r for r in rows if str(r.get(prop) or "").casefold() == value.casefold()]
        start = int(query.get("$skiptoken") or 0)
        size = max(1, min(int(query.get("$top") or self._page_size()), self._page_size()))
        body: dict[str, Any] = {
            "@odata.context": f"{METADATA}#{entity}",
            "value": [_select(r, query.get("$select")) for r in rows[start:start + size]]}
        if start + size < len(rows):
            params = {k: v for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = str(start + size)
            body["@odata.nextLink"] = f"{request.base_url}{request.path}?{urlencode(params)}"
        return json_response(200, body)


def _group_row(group: Group) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.group", "id": group.id,
            "displayName": group.display_name, "securityEnabled": True, "mailEnabled": False,
            "groupTypes": []}


def _reads_users(claims: dict[str, Any]) -> bool:
    granted = set(str(claims.get("scp", "")).split()) | set(claims.get("roles", []))
    return bool(granted & _USER_READERS)


def _clause(clause: str, filterable: tuple[str, ...]) -> tuple[str, str]:
    """(property, value) of ``property eq 'value'``; Graph refuses anything it cannot filter on,
    whether or not any row would have matched."""
    match = _FILTER.match(clause)
    prop = next((p for p in filterable if match and p.lower() == match["prop"].lower()), None)
    if match is None or prop is None:
        raise GraphError(400, "Request_UnsupportedQuery",
                         "Unsupported or invalid query filter clause specified.")
    return prop, match["value"].replace("''", "'")


def _select(row: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return row
    wanted = {s.strip().lower() for s in select.split(",")}
    return {k: v for k, v in row.items() if k.startswith("@odata") or k.lower() in wanted}


def _not_found(ident: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{ident}' does not exist or one of its queried "
                      "reference-property objects are not present.")

