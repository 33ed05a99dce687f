"""A Key Vault data plane (secrets) on its own HTTPS listener: ``vault.uri`` is
``https://127.0.0.1:PORT/``, so each vault is a distinct host as in Azure.

Request checks run in the real service's order: ``api-version``, then the bearer token (401 with
the ``WWW-Authenticate`` challenge azure-keyvault-secrets parses to learn tenant and resource),
then throttling (429 ``Throttled`` with ``Retry-After``), then the firewall (``networkAcls``: 403
``ForbiddenByFirewall``; the real message names the caller, so it comes after authentication),
then the secret name, then authorization (access policies, or role assignments for RBAC vaults,
each effective only after its propagation delay), then the operation.

Two knobs for scale: ``latency`` adds a network round trip to every request the vault answers,
and ``add_history`` gives a secret hundreds of older versions in one in-process call. Versions
are listed in version-id order, not by age: the real service's order is not by age either (see
``_route``).
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from .. import shapes
from ..clock import Clock
from ..faults import FaultTable
from ..identity.catalog import KEY_VAULT_RESOURCE
from ..identity.tokens import TokenIssuer, TokenRejected, bearer_token
from ..messages import Request, Response, empty, json_response
from ..server import Listener, RequestLog
from . import guard
from .guard import ALL_SECRET_PERMISSIONS, RoleAssignment, Throttle
from .store import SecretStore, SecretVersion, VaultError, check_name

SUPPORTED_API_VERSIONS = frozenset(
    {"2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"}
)
PAGE_SIZE = 25
T = TypeVar("T")


class Vault:
    """One vault. Admin methods (``set_access_policy``, ``grant_role`` (with a propagation
    delay), ``set_network_rules``, ``throttle``, ``secret_versions``, ``soft_delete``, ``purge``,
    ``set_secret``, ``add_history``) act in-process, for fixtures and demo mocks.

    ``latency`` (seconds, a constructor option and a plain attribute tests and benchmarks set):
    how long every request waits before it is answered, the 401 challenge and the vault's own
    refusals included (faults injected with ``CloudDouble.inject_fault`` answer at once). A
    client on a runner pays one network round trip per Key Vault REST call; 0.02 stands for a
    vault in a region near the runner (Learn, "Azure network round-trip latency statistics",
    for the figures between regions). The wait holds no lock, so concurrent requests overlap as
    they do on a real vault."""

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
        latency: float = 0.0,
    ) -> None:
        self.name = name
        self.latency = latency
        self.last_request_id: str | None = None
        self.tenant_id = tenant_id
        self.rbac = rbac
        self.resource = resource
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.RLock()
        self._policies: dict[str, set[str]] = {}
        self._roles: list[RoleAssignment] = []
        #: ARM's ``properties.networkAcls`` shape; None = open to every network (the default).
        self.network_acls: dict[str, Any] | None = None
        self._throttle: Throttle | None = None
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

    def grant_role(
        self,
        object_id: str,
        role_definition_id: str,
        scope: str | None = None,
        effective_after: timedelta = timedelta(0),
    ) -> None:
        """Assign a built-in role; ``scope`` may be a subscription/resource group/vault scope or
        ``.../vaults/{name}/secrets/{secret}`` for one secret (None = this vault).
        ``effective_after``: the propagation delay, on the double's clock (real time + offset)."""
        role = role_definition_id.rsplit("/", 1)[-1].lower()
        effective_at = self._clock.now() + effective_after
        with self._lock:
            self._roles.append(RoleAssignment(object_id, role, scope, effective_at))

    def revoke_role(self, object_id: str, role_definition_id: str) -> None:
        role = role_definition_id.rsplit("/", 1)[-1].lower()
        with self._lock:
            self._roles = [r for r in self._roles if (r.object_id, r.role) != (object_id, role)]

    def set_network_rules(
        self,
        ip_rules: list[str] | tuple[str, ...] = (),
        default_action: str = "Deny",
        bypass: str = "AzureServices",
    ) -> None:
        """The vault firewall, as ARM's ``networkAcls`` (Learn, "Configure Azure Key Vault
        networking settings"): ``ipRules`` are IPv4 addresses or CIDR ranges. ``bypass`` is kept
        for fidelity only: no caller of the double is a trusted Azure service."""
        acls = guard.network_acls(ip_rules, default_action, bypass)
        with self._lock:
            self.network_acls = acls

    def clear_network_rules(self) -> None:
        with self._lock:
            self.network_acls = None

    def throttle(self, count: int = 1, retry_after: int = 1,
                 reason: str = shapes.KEY_VAULT_THROTTLE_REASON) -> None:
        """Refuse the next ``count`` authenticated requests with 429 ``Throttled`` (Learn, "Azure
        Key Vault throttling guidance") and hold the caller to the ``Retry-After`` it was told."""
        with self._lock:
            self._throttle = Throttle(count, retry_after, reason)

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

    def add_history(
        self, name: str, count: int, every: timedelta = timedelta(days=7)
    ) -> list[SecretVersion]:
        """Give a live secret ``count`` older versions, one every ``every`` (weekly by default: a
        secret rotated weekly for ``count`` weeks), copies of its oldest: 1,000 versions cost
        milliseconds, not 1,000 PUTs. Returns them oldest first."""
        with self._lock:
            return self.store.add_history(name, count, every)

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
        if self.latency > 0:
            # A stopping double stops waiting: its clients are being cut off anyway.
            self.listener.stopping.wait(self.latency)
        try:
            response = self._route(request)
        except VaultError as err:
            response = json_response(err.status, err.payload())
        # Every answer names the request (Learn, "Azure Key Vault REST API: common parameters
        # and headers"; the Azure REST API guidelines' x-ms-request-id): what support asks for.
        # The last one is kept (``last_request_id``) for tests that look for it in a line.
        self.last_request_id = str(uuid.uuid4())
        response.headers.append(("x-ms-request-id", self.last_request_id))
        return response

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
        throttled = self._throttle.refusal() if self._throttle else None
        if throttled is not None:
            return throttled
        with self._lock:
            acls = self.network_acls
        guard.check_firewall(acls, claims, self.name)
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
                # Learn, "Get Secret Versions" (REST), promises no order; the SDK team found it
                # "deterministic but not chronological" (Azure/azure-sdk-for-python#35923). By
                # version id, then: a client that takes the last one listed for the newest, or
                # stops early, is caught here as it would be in Azure.
                self._authorize(claims, "list", name)
                listed = sorted(store.versions(name), key=lambda v: v.version)
                return self._page(request, listed, lambda v: store.bundle(v, value=False))
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
        return self._page(request, items, lambda item: item)

    def _page(
        self, request: Request, items: list[T], shape: Callable[[T], dict[str, Any]]
    ) -> Response:
        """One page of at most 25 (Key Vault's ``maxresults`` limit), shaped only once it is cut
        out: a secret with 1,000 versions must not cost 1,000 bundles per page."""
        query = request.query
        size = min(int(query.get("maxresults") or PAGE_SIZE), PAGE_SIZE)
        start = int(query.get("$skiptoken") or 0)
        page = [shape(item) for item in items[start : start + size]]
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
        with self._lock:
            if self.rbac:
                guard.check_roles(self._roles, claims, permission, secret, self.name,
                                       self._clock.now())
            else:
                guard.check_policies(self._policies, claims, permission, self.name)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        raise VaultError(400, "BadParameter", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise VaultError(400, "BadParameter", "The request body must be a JSON object.")
    return body
