"""Microsoft Graph's application reads, routed from ``graph.Graph`` (which authenticates the
caller and resolves its tenant first): ``GET /v1.0/applications(appId='...')`` and
``/v1.0/applications/{id}`` (Application.Read.All, Directory.Read.All, or a delegated
Directory.AccessAsUser.All).

The reply is the app registration of the caller's own tenant, with the property names of
Graph's ``application`` resource; a password credential's ``secretText`` is null (Learn,
"passwordCredential resource type": the secret is returned only when the password is added).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .graph_errors import METADATA, GraphError, Require
from .identity.directory import Directory, Tenant
from .messages import Request, Response, json_response

_APP_BY_APPID = re.compile(r"^/v1\.0/applications\(appId='(?P<id>[^']+)'\)$", re.IGNORECASE)
_APP_BY_ID = re.compile(r"^/v1\.0/applications/(?P<id>[0-9a-fA-F-]{36})$")


class Applications:
    def __init__(self, directory: Directory, require: Require) -> None:
        self.directory = directory
        self._require = require

    def route(self, request: Request, claims: dict[str, Any], tenant: Tenant) -> Response | None:
        """The application a GET names (by appId or object id), or None for any other request."""
        path = request.path.rstrip("/")
        match = _APP_BY_APPID.match(path) or _APP_BY_ID.match(path)
        if not match or request.method != "GET":
            return None
        readers = {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                   "Directory.ReadWrite.All"}
        self._require(claims, readers | {"Directory.AccessAsUser.All"}, readers, False)
        return self._application(match["id"], tenant, by_app_id=match.re is _APP_BY_APPID)

    def _application(self, ident: str, tenant: Tenant, by_app_id: bool) -> Response:
        with self.directory.lock:
            found = None
            for app in self.directory.apps.values():
                key = app.app_id if by_app_id else app.object_id
                if key.lower() == ident.lower() and app.tenant_id == tenant.id:
                    found = app
            if found is None:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{ident}' does not exist or one of its queried "
                    "reference-property objects are not present.",
                )
            return json_response(
                200,
                {
                    "@odata.context": f"{METADATA}#applications/$entity",
                    "id": found.object_id,
                    "appId": found.app_id,
                    "displayName": found.display_name,
                    "signInAudience": "AzureADMultipleOrgs"
                    if found.multi_tenant
                    else "AzureADMyOrg",
                    "isFallbackPublicClient": found.public_client,
                    "web": {"redirectUris": list(found.redirect_uris)},
                    "requiredResourceAccess": [
                        {
                            "resourceAppId": res,
                            "resourceAccess": [{"id": i, "type": t} for i, t in perms],
                        }
                        for res, perms in found.required_resource_access
                    ],
                    "passwordCredentials": [
                        {
                            "customKeyIdentifier": None,
                            "displayName": p.display_name,
                            "endDateTime": _iso(p.end),
                            "hint": p.hint,
                            "keyId": p.key_id,
                            "secretText": None,
                            "startDateTime": _iso(p.start),
                        }
                        for p in found.passwords
                    ],
                },
            )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
