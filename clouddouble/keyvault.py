"""A Key Vault data plane (secrets) on its own HTTPS listener: ``vault.uri`` is
``https://127.0.0.1:PORT/``, so each vault is a distinct host as in Azure.

Request checks run in the real service's order: ``api-version``, then the bearer token (401 with
the ``WWW-Authenticate`` challenge azure-keyvault-secrets parses to learn tenant and resource),
then the secret name, then authorization (access policies, or role assignments for RBAC vaults),
then the operation.
"""

from __future__ import annotations

import ssl
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from . import msids as wk
from .catalog import KEY_VAULT_RESOURCE
from .clock import Clock
from .server import (
    FaultTable,
    Listener,
    Request,
    RequestLog,
    Response,
    empty,
    json_response,
)
from .tokens import TokenIssuer, TokenRejected, bearer_token
from .vaultstore import SecretStore, SecretVersion, VaultError, check_name

SUPPORTED_API_VERSIONS = frozenset(
    {"2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"}
)
KEY_VAULT_ADMINISTRATOR_ROLE = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
ALL_SECRET_PERMISSIONS = frozenset(
    {"get", "list", "set", "delete", "recover", "backup", "restore", "purge"}
)
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    wk.KEY_VAULT_SECRETS_USER_ROLE: frozenset({"get", "list"}),
    wk.KEY_VAULT_SECRETS_OFFICER_ROLE: ALL_SECRET_PERMISSIONS,
    KEY_VAULT_ADMINISTRATOR_ROLE: ALL_SECRET_PERMISSIONS,
}
_RBAC_ACTIONS = {
    "get": "secrets/getSecret/action",
    "list": "secrets/readMetadata/action",
    "set": "secrets/setSecret/action",
    "delete": "secrets/delete",
    "recover": "secrets/recover/action",
    "purge": "secrets/purge/action",
}
PAGE_SIZE = 25


class Vault:
    """One vault. Admin methods (``set_access_policy``, ``grant_role``, ``secret_versions``,
    ``soft_delete``, ``purge``, ``set_secret``) act in-process, for fixtures and demo mocks."""

    def __init__(
        self,
        name: str,
        tenant_id: str,
        rbac: bool,
        issuer: TokenIssuer,
        clock: Clock,
        ssl_context: ssl.SSLContext,
        log: RequestLog,
        faults: FaultTable,
        purge_protection: bool = False,
        resource: str = KEY_VAULT_RESOURCE,
    ) -> None:
        self.name = name
        self.tenant_id = tenant_id
        self.rbac = rbac
        self.resource = resource
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.RLock()
        self._policies: dict[str, set[str]] = {}
        self._roles: list[tuple[str, str, str | None]] = []
        self.listener = Listener(f"vault:{name}", self.route, ssl_context, log, faults)
        self.uri = self.listener.base_url + "/"
        self.host_port = self.listener.host_port
        self.store = SecretStore(self.uri, purge_protection)

    # -- administration (in-process) -------------------------------------------------------------
    def set_access_policy(self, object_id: str, secrets: list[str] | None = None) -> None:
        """Replace this object id's secret permissions (``["get", "list", "set", ...]``)."""
        perms = {p.lower() for p in secrets or []}
        if "all" in perms:
            perms = set(ALL_SECRET_PERMISSIONS)
        with self._lock:
            self._policies[object_id] = perms

    def remove_access_policy(self, object_id: str) -> None:
        with self._lock:
            self._policies.pop(object_id, None)

    def grant_role(self, object_id: str, role_definition_id: str, scope: str | None = None) -> None:
        """Assign a built-in role; ``scope`` may be a subscription/resource group/vault scope or
        ``.../vaults/{name}/secrets/{secret}`` for one secret (None = this vault)."""
        with self._lock:
            self._roles.append((object_id, role_definition_id.rsplit("/", 1)[-1].lower(), scope))

    def revoke_role(self, object_id: str, role_definition_id: str) -> None:
        role = role_definition_id.rsplit("/", 1)[-1].lower()
        with self._lock:
            self._roles = [r for r in self._roles if (r[0], r[1]) != (object_id, role)]

    def secret_versions(self, name: str) -> list[SecretVersion]:
        """All versions of a live secret, oldest first (empty if absent or soft-deleted)."""
        with self._lock:
            return list(self.store.live.get(name.lower(), []))

    def set_secret(
        self,
        name: str,
        value: str,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        expires: datetime | None = None,
    ) -> SecretVersion:
        check_name(name)
        body: dict[str, Any] = {"value": value, "contentType": content_type, "tags": tags}
        if expires:
            body["attributes"] = {"exp": int(expires.timestamp())}
        with self._lock:
            return self.store.set(name, body, self._clock.now())

    def soft_delete(self, name: str) -> None:
        with self._lock:
            self.store.delete(name, self._clock.now())

    def purge(self, name: str) -> None:
        with self._lock:
            self.store.purge(name)

    def is_deleted(self, name: str) -> bool:
        with self._lock:
            return name.lower() in self.store.deleted

    # -- HTTP ------------------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        try:
            return self._route(request)
        except VaultError as err:
            return json_response(err.status, err.payload())

    def _route(self, request: Request) -> Response:
        api_version = request.query.get("api-version")
        if not api_version:
            raise VaultError(400, "BadParameter", "The api-version query parameter is missing.")
        if api_version not in SUPPORTED_API_VERSIONS and "-preview" not in api_version:
            raise VaultError(
                400,
                "BadParameter",
                f"The specified version ({api_version}) is not recognized. Consider using the "
                "latest supported version (2026-04-01).",
            )
        claims = self._authenticate(request)
        if isinstance(claims, Response):
            return claims
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if not parts or parts[0] not in ("secrets", "deletedsecrets"):
            raise VaultError(400, "BadParameter", "Unsupported path.")
        if len(parts) == 1:
            self._authorize(claims, "list", None)
            return self._list(request, deleted=parts[0] == "deletedsecrets")
        name = parts[1]
        check_name(name)
        now = self._clock.now()
        with self._lock:
            store = self.store
            if parts[0] == "deletedsecrets":
                if len(parts) == 3 and parts[2] == "recover" and method == "POST":
                    self._authorize(claims, "recover", name)
                    return json_response(200, store.bundle(store.recover(name), value=False))
                if len(parts) == 2 and method == "GET":
                    self._authorize(claims, "list", name)
                    store.deleted_entry(name)
                    return json_response(200, store.deleted_bundle(name))
                if len(parts) == 2 and method == "DELETE":
                    self._authorize(claims, "purge", name)
                    store.purge(name)
                    return empty(204)
                raise VaultError(405, "MethodNotAllowed", "Method not allowed.")
            version = parts[2] if len(parts) > 2 else None
            if version == "versions" and method == "GET":
                self._authorize(claims, "list", name)
                return self._page(
                    request, [store.bundle(v, value=False) for v in store.versions(name)]
                )
            if method == "PUT" and version is None:
                self._authorize(claims, "set", name)
                return json_response(200, store.bundle(store.set(name, _body(request), now)))
            if method == "PATCH":
                self._authorize(claims, "set", name)
                updated = store.update(name, version, _body(request), now)
                return json_response(200, store.bundle(updated, value=False))
            if method == "DELETE" and version is None:
                self._authorize(claims, "delete", name)
                store.delete(name, now)
                return json_response(200, store.deleted_bundle(name))
            if method == "GET":
                self._authorize(claims, "get", name)
                secret = store.get(name, version)
                if not secret.enabled:
                    raise VaultError(
                        403,
                        "Forbidden",
                        "Operation get is not allowed on a disabled secret.",
                        "SecretDisabled",
                    )
                return json_response(200, store.bundle(secret))
        raise VaultError(405, "MethodNotAllowed", "Method not allowed.")

    def _list(self, request: Request, deleted: bool) -> Response:
        with self._lock:
            if deleted:
                items = [self.store.deleted_bundle(n) for n in sorted(self.store.deleted)]
                for item in items:
                    item["id"] = item["id"].rsplit("/", 1)[0]
            else:
                items = [
                    self.store.bundle(versions[-1], value=False, versioned=False)
                    for _, versions in sorted(self.store.live.items())
                ]
        return self._page(request, items)

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        query = request.query
        size = min(int(query.get("maxresults") or PAGE_SIZE), PAGE_SIZE)
        start = int(query.get("$skiptoken") or 0)
        page = items[start : start + size]
        next_link = None
        if start + size < len(items):
            params = {
                "api-version": query["api-version"],
                "$skiptoken": str(start + size),
                "maxresults": str(size),
            }
            next_link = f"{self.listener.base_url}{request.path}?{urlencode(params)}"
        return json_response(200, {"value": page, "nextLink": next_link})

    # -- auth ------------------------------------------------------------------------------------
    def _challenge(self, message: str) -> Response:
        authority = f"{self._issuer.authority_host}/{self.tenant_id}"
        header = f'Bearer authorization="{authority}", resource="{self.resource}"'
        return json_response(
            401,
            {"error": {"code": "Unauthorized", "message": message}},
            [("WWW-Authenticate", header)],
        )

    def _authenticate(self, request: Request) -> dict[str, Any] | Response:
        token = bearer_token(request.header("authorization"))
        if token is None:
            return self._challenge("AKV10000: Request is missing a Bearer or PoP token.")
        try:
            claims = self._issuer.verify(token, (self.resource,))
        except TokenRejected as exc:
            return self._challenge(f"AKV10022: {exc}.")
        if claims.get("tid") != self.tenant_id:
            expected = self._issuer.v1_issuer(self.tenant_id)
            return self._challenge(
                f"AKV10032: Invalid issuer. Expected one of {expected}, found {claims.get('iss')}."
            )
        return claims

    def _authorize(self, claims: dict[str, Any], permission: str, secret: str | None) -> None:
        oid = str(claims.get("oid"))
        caller = f"appid={claims.get('appid')};oid={oid};iss={claims.get('iss')}"
        with self._lock:
            if self.rbac:
                allowed: set[str] = set()
                for r_oid, role, scope in self._roles:
                    if r_oid == oid and self._scope_covers(scope, secret):
                        allowed |= ROLE_PERMISSIONS.get(role, frozenset())
                if permission in allowed:
                    return
                raise VaultError(
                    403,
                    "Forbidden",
                    "Caller is not authorized to perform action on resource.\r\n"
                    "If role assignments, deny assignments or role definitions were changed "
                    "recently, please observe propagation time.\r\n"
                    f"Caller: {caller}\r\n"
                    f"Action: 'Microsoft.KeyVault/vaults/{_RBAC_ACTIONS.get(permission)}'"
                    f"\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\n"
                    f"Vault: {self.name};location=westeurope\r\n",
                    "ForbiddenByRbac",
                )
            if permission in self._policies.get(oid, set()):
                return
        raise VaultError(
            403,
            "Forbidden",
            f"The user, group or application '{caller}' does not have secrets {permission} "
            f"permission on key vault '{self.name};location=westeurope'. For help resolving this "
            "issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            "ForbiddenByPolicy",
        )

    def _scope_covers(self, scope: str | None, secret: str | None) -> bool:
        if not scope or scope == "/":
            return True
        lowered = scope.rstrip("/").lower()
        marker = f"/vaults/{self.name.lower()}"
        if "/vaults/" not in lowered:
            return True  # subscription or resource group scope
        if lowered.endswith(marker):
            return True
        return secret is not None and lowered.endswith(f"{marker}/secrets/{secret.lower()}")


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        raise VaultError(400, "BadParameter", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise VaultError(400, "BadParameter", "The request body must be a JSON object.")
    return body
