"""Microsoft Graph v1.0, the few endpoints the product reads and writes, one module a concern:

* ``GET /v1.0/reports/authenticationMethods/userRegistrationDetails`` (AuditLog.Read.All; paged
  with a deliberately small page size so clients must follow ``@odata.nextLink``):
  ``graph_reports``, with the licence and role the report needs;
* ``GET/PATCH /v1.0/policies/identitySecurityDefaultsEnforcementPolicy``
  (Policy.Read.All / Policy.ReadWrite.SecurityDefaults or .ConditionalAccess) and
  ``GET/POST /v1.0/identity/conditionalAccess/policies`` (Policy.Read.All /
  Policy.ReadWrite.ConditionalAccess): ``graph_policies``, with how the two exclude each other;
* ``GET /v1.0/applications(appId='...')`` and ``/v1.0/applications/{id}`` (Application.Read.All,
  Directory.Read.All, or a delegated Directory.AccessAsUser.All): ``graph_applications``;
* the directory reads of ``verify``'s consent check (service principals, delegated grants, role
  assignments, groups and their members): ``graph_directory``, at ``Graph.objects``.

This module is the front door: it authenticates the caller (a Graph access token of a known
tenant), hands each module the permission check (:meth:`Graph._require`), routes the request
and turns a refusal into Graph's error reply (``graph_errors``). It keeps the tenant facts and
test hooks every caller reaches as ``CloudDouble.graph``: ``page_size``, ``set_premium``,
``assign_role``, ``add_users``.

The names other modules import from here (``GraphError``, ``graph_error_body``, the refusal
texts) live with their concern and are re-exported below; rebinding one here changes nothing
(``graph_reports.SNAPSHOTS``, say, is the one read).
"""

from __future__ import annotations

from typing import Any

from .graph_applications import Applications
from .graph_directory import GraphDirectory
from .graph_errors import (
    NO_PREMIUM,
    UNSUPPORTED_ROLE,
    GraphError,
    denied,
    error_response,
    graph_error_body,
)
from .graph_policies import CA_POLICIES_ON, SECURITY_DEFAULTS_ON, SignInPolicies
from .graph_reports import REPORT_ROLES, SNAPSHOTS, RegistrationReport
from .identity.catalog import GRAPH_RESOURCE
from .identity.directory import Directory, User
from .identity.tokens import TokenIssuer, TokenRejected, bearer_token
from .messages import Request, Response

__all__ = [
    "CA_POLICIES_ON",
    "NO_PREMIUM",
    "REPORT_ROLES",
    "SECURITY_DEFAULTS_ON",
    "SNAPSHOTS",
    "UNSUPPORTED_ROLE",
    "Graph",
    "GraphError",
    "graph_error_body",
]


class Graph:
    def __init__(self, directory: Directory, issuer: TokenIssuer) -> None:
        self.directory = directory
        self.issuer = issuer
        #: Small on purpose: tests and the product must page through @odata.nextLink. A test
        #: may set it (``monkeypatch.setattr``, the double outlives the test): Graph picks it.
        self.page_size = 2
        #: Tenants without Microsoft Entra ID P1/P2 (the default tenant has a licence).
        self.without_premium: set[str] = set()
        #: Directory roles other than Global Administrator (``User.admin``), by user object id.
        self.directory_roles: dict[str, set[str]] = {}
        self.report = RegistrationReport(directory, self._require, lambda: self.page_size,
                                         self.without_premium, self.directory_roles)
        self.policies = SignInPolicies(directory, self._require)
        self.applications = Applications(directory, self._require)
        self.objects = GraphDirectory(directory, self._require, lambda: self.page_size)

    def set_premium(self, tenant_id: str, licensed: bool = True) -> None:
        with self.directory.lock:
            (self.without_premium.discard if licensed else self.without_premium.add)(tenant_id)

    def assign_role(self, user_object_id: str, role: str) -> None:
        with self.directory.lock:
            self.directory_roles.setdefault(user_object_id, set()).add(role)

    def add_users(self, tenant_id: str, count: int, *, prefix: str = "user", mfa: bool = True,
                  admin: bool = False) -> list[User]:
        """``count`` users ``{prefix}{n:06d}@{initial domain}`` in one call, for a tenant of
        100,000: one lock held, no per-user round trip. Each is an ordinary directory user
        (``Directory.add_user``), so sign-in and every other endpoint see them."""
        with self.directory.lock:
            domain = self.directory.require_tenant(tenant_id).initial_domain
            return [self.directory.add_user(tenant_id, f"{prefix}{n:06d}@{domain}", mfa=mfa,
                                            admin=admin)
                    for n in range(count)]

    def route(self, request: Request) -> Response:
        try:
            try:
                return self._route(request)
            except ValueError:  # malformed JSON body or paging token
                raise GraphError(400, "BadRequest", "Unable to read the request.") from None
        except GraphError as err:
            return error_response(err, request)

    def _route(self, request: Request) -> Response:
        claims = self._authenticate(request)
        tenant = self.directory.tenant(str(claims["tid"]))
        if tenant is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Unknown tenant.")
        for endpoints in (self.report, self.policies, self.applications, self.objects):
            answer = endpoints.route(request, claims, tenant)
            if answer is not None:
                return answer
        path = request.path.rstrip("/")
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    # -- auth ------------------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> dict[str, Any]:
        token = bearer_token(request.header("authorization"))
        if token is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            audiences = (GRAPH_RESOURCE, "00000003-0000-0000-c000-000000000000")
            return self.issuer.verify(token, audiences)
        except TokenRejected as exc:
            raise GraphError(401, "InvalidAuthenticationToken",
                             f"Access token validation failure: {exc}.") from None

    def _require(
        self, claims: dict[str, Any], delegated: set[str], application: set[str], admin: bool
    ) -> None:
        """A delegated token needs one of ``delegated`` (and, if ``admin``, a Global
        Administrator user); an app-only token one of ``application`` among its roles."""
        if "scp" in claims:
            if not set(str(claims["scp"]).split()) & delegated:
                raise denied()
            user = self.directory.user_by_id(str(claims.get("oid")))
            if admin and (user is None or not user.admin):
                raise GraphError(403, UNSUPPORTED_ROLE[0], "User is not in the allowed roles.")
            return
        if not set(claims.get("roles", [])) & application:
            raise denied()
