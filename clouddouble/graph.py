"""Microsoft Graph v1.0, the few endpoints the product reads and writes:

* ``GET /v1.0/reports/authenticationMethods/userRegistrationDetails`` (AuditLog.Read.All; paged
  with a deliberately small page size so clients must follow ``@odata.nextLink``; see
  "Paging" below);
* ``GET/PATCH /v1.0/policies/identitySecurityDefaultsEnforcementPolicy``
  (Policy.Read.All / Policy.ReadWrite.SecurityDefaults or .ConditionalAccess);
* ``GET /v1.0/applications(appId='...')`` and ``/v1.0/applications/{id}`` (Application.Read.All,
  Directory.Read.All, or a delegated Directory.AccessAsUser.All);
* ``GET/POST /v1.0/identity/conditionalAccess/policies`` (Policy.Read.All /
  Policy.ReadWrite.ConditionalAccess);
* the directory reads of ``verify``'s consent check (service principals, delegated grants, role
  assignments, groups and their members): ``graph_directory``, at ``Graph.objects``.

Delegated calls to policies also need an admin user, like Entra's role checks.

The registration report is a "usage and insights" report: it needs a Microsoft Entra ID P1 or P2
licence in the tenant and, for a delegated caller, one of the roles Reports Reader, Security
Reader or Security Administrator (Learn, "Get userRegistrationDetails" and the Entra monitoring
licence table; Global Administrator, higher-privileged, also passes). ``premium`` (tenant ids
with P1/P2; every tenant has it unless ``set_premium(tid, False)``) and ``directory_roles``
(user object id -> role names) are those tenant facts.

Security defaults and Conditional Access (Learn, "Security defaults in Microsoft Entra ID"):
organisations that implement Conditional Access policies that replace security defaults "must
disable security defaults", and the admin center refuses to switch a policy on while they are
on ("You must first disable Security defaults before enabling a Conditional Access policy");
report-only and off policies can be created. Conversely, "if you have Conditional Access
policies enabled ... security defaults won't be available" (the article's earlier text,
MicrosoftDocs/azure-docs#41233). Graph's own wording for either refusal is not documented.

Paging (Learn, "Paging Microsoft Graph data in your app"): in server-side paging Graph "returns
a default number of results in a single page", "different APIs might have different default and
maximum page sizes", and the client follows the whole ``@odata.nextLink`` URL, never taking its
``$skiptoken`` apart. The report's page size is not documented: ``page_size`` is the double's
(2, or 1 for thousands of pages), ``$top`` only lowers it. A chain's first page sorts the
tenant's users once into a snapshot; the skiptoken is that snapshot and an offset, so a page
costs its own rows, never a sort of the directory, and keeps its order as a cursor does.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .identity.catalog import GRAPH_RESOURCE
from .identity.directory import Directory, Tenant, User
from .identity.tokens import TokenIssuer, TokenRejected, bearer_token
from .messages import Request, Response, empty, json_response

_APP_BY_APPID = re.compile(r"^/v1\.0/applications\(appId='(?P<id>[^']+)'\)$", re.IGNORECASE)
_APP_BY_ID = re.compile(r"^/v1\.0/applications/(?P<id>[0-9a-fA-F-]{36})$")
_URD = "/v1.0/reports/authenticationmethods/userregistrationdetails"
_SD = "/v1.0/policies/identitysecuritydefaultsenforcementpolicy"
_CA = "/v1.0/identity/conditionalaccess/policies"
_CTX = "https://graph.microsoft.com/v1.0/$metadata"
#: Report chains whose ordered snapshot is kept; an older chain's next page sorts afresh.
SNAPSHOTS = 16


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


#: Graph's refusals for the registration report, as Graph returns them (error codes and messages
#: quoted in microsoftgraph/microsoft-graph-docs-contrib#8777 and #3808 for the licence,
#: microsoftgraph/microsoft-graph-docs#10705 and microsoft/zerotrustassessment#1395 for the role).
NO_PREMIUM = (
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Neither tenant is B2C or tenant doesn't have premium license",
)
UNSUPPORTED_ROLE = (
    "Authentication_RequestFromUnsupportedUserRole",
    "User is not in the allowed roles",
)
#: The built-in roles Learn lists for delegated access to userRegistrationDetails.
REPORT_ROLES = frozenset({"Reports Reader", "Security Reader", "Security Administrator"})
SECURITY_DEFAULTS_ON = (
    "You must first disable security defaults before enabling a Conditional Access policy."
)
CA_POLICIES_ON = (
    "Security defaults cannot be enabled while Conditional Access policies are enabled."
)


def graph_error_body(code: str, message: str) -> tuple[bytes, str]:
    """Graph's error shape (Learn, "Microsoft Graph error responses and resource types"), for
    ``CloudDouble.inject_fault(body=...)``: e.g. ``graph_error_body(*UNSUPPORTED_ROLE)``."""
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                                     "request-id": str(uuid.uuid4()),
                                     "client-request-id": str(uuid.uuid4())}}}
    return json.dumps(body).encode(), "application/json; charset=utf-8"


def _denied() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


class Graph:
    def __init__(self, directory: Directory, issuer: TokenIssuer) -> None:
        self.directory = directory
        self.issuer = issuer
        #: Small on purpose: tests and the product must page through @odata.nextLink. A test
        #: may set it (``monkeypatch.setattr``, the double outlives the test): Graph picks it.
        self.page_size = 2
        #: Ordered users of each live report chain, by snapshot id (oldest dropped first).
        self._snapshots: OrderedDict[str, tuple[str, tuple[User, ...]]] = OrderedDict()
        self._snapshots_lock = threading.Lock()
        #: Tenants without Microsoft Entra ID P1/P2 (the default tenant has a licence).
        self.without_premium: set[str] = set()
        #: Directory roles other than Global Administrator (``User.admin``), by user object id.
        self.directory_roles: dict[str, set[str]] = {}
        from .graph_directory import GraphDirectory  # it imports GraphError from this module

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
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            inner = {
                "date": now,
                "request-id": str(uuid.uuid4()),
                "client-request-id": request.header("client-request-id") or str(uuid.uuid4()),
            }
            body = {"error": {"code": err.code, "message": err.message, "innerError": inner}}
            headers = []
            if err.status == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="", error="invalid_token"'))
            return json_response(err.status, body, headers)

    def _route(self, request: Request) -> Response:
        claims = self._authenticate(request)
        tenant = self.directory.tenant(str(claims["tid"]))
        if tenant is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Unknown tenant.")
        path = request.path.rstrip("/")
        lowered, method = path.lower(), request.method
        if lowered == _URD and method == "GET":
            self._require(claims, {"AuditLog.Read.All"}, {"AuditLog.Read.All"}, admin=False)
            self._require_report_access(claims, tenant)
            return self._registration_details(request, tenant)
        if lowered == _SD:
            return self._security_defaults(request, claims, tenant)
        if lowered == _CA:
            return self._conditional_access(request, claims, tenant)
        match = _APP_BY_APPID.match(path) or _APP_BY_ID.match(path)
        if match and method == "GET":
            readers = {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                       "Directory.ReadWrite.All"}
            self._require(claims, readers | {"Directory.AccessAsUser.All"}, readers, admin=False)
            return self._application(match["id"], tenant, by_app_id=match.re is _APP_BY_APPID)
        answer = self.objects.route(request, claims, tenant)
        if answer is not None:
            return answer
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
        if "scp" in claims:
            if not set(str(claims["scp"]).split()) & delegated:
                raise _denied()
            user = self.directory.user_by_id(str(claims.get("oid")))
            if admin and (user is None or not user.admin):
                raise GraphError(403, UNSUPPORTED_ROLE[0], "User is not in the allowed roles.")
            return
        if not set(claims.get("roles", [])) & application:
            raise _denied()

    def _require_report_access(self, claims: dict[str, Any], tenant: Tenant) -> None:
        """The licence (app-only callers too), then a delegated caller's role."""
        with self.directory.lock:
            if tenant.id in self.without_premium:
                raise GraphError(403, *NO_PREMIUM)
            if "scp" not in claims:
                return
            user = self.directory.user_by_id(str(claims.get("oid")))
            roles = self.directory_roles.get(user.object_id, set()) if user else set()
            if user is None or not (user.admin or roles & REPORT_ROLES):
                raise GraphError(403, *UNSUPPORTED_ROLE)

    # -- endpoints -------------------------------------------------------------------------------
    def _registration_details(self, request: Request, tenant: Tenant) -> Response:
        query = request.query
        size = min(int(query.get("$top") or self.page_size), self.page_size)
        if size < 1:
            raise GraphError(400, "BadRequest", "Invalid value for '$top'.")
        snapshot, users, start = self._cursor(query.get("$skiptoken"), tenant)
        body: dict[str, Any] = {
            "@odata.context": f"{_CTX}#reports/authenticationMethods/userRegistrationDetails",
            "value": [_registration_row(u) for u in users[start : start + size]],
        }
        if start + size < len(users):
            params = {"$top": str(size), "$skiptoken": f"{snapshot}.{start + size}"}
            body["@odata.nextLink"] = f"{request.base_url}{request.path}?{urlencode(params)}"
        return json_response(200, body)

    def _cursor(self, skiptoken: str | None,
                tenant: Tenant) -> tuple[str, tuple[User, ...], int]:
        """(snapshot id, its users, offset) of this page. No token starts a chain: the tenant's
        users, sorted once. A token names a snapshot and an offset (a malformed one is a
        ValueError: 400); a snapshot dropped since, or another tenant's, is sorted afresh for
        the caller's tenant, so no token ever shows one tenant another's users."""
        snapshot, _, offset = (skiptoken or "").partition(".")
        start = int(offset) if skiptoken is not None else 0
        if start < 0:
            raise ValueError("negative offset")
        with self._snapshots_lock:
            kept = self._snapshots.get(snapshot)
            if kept is not None and kept[0] == tenant.id:
                self._snapshots.move_to_end(snapshot)
                return snapshot, kept[1], start
        users = tuple(sorted(self.directory.users_in(tenant.id), key=lambda u: u.upn.lower()))
        snapshot = secrets.token_hex(8)
        with self._snapshots_lock:
            self._snapshots[snapshot] = (tenant.id, users)
            while len(self._snapshots) > SNAPSHOTS:
                self._snapshots.popitem(last=False)
        return snapshot, users, start

    def _security_defaults(
        self, request: Request, claims: dict[str, Any], tenant: Tenant
    ) -> Response:
        writers = {"Policy.ReadWrite.SecurityDefaults", "Policy.ReadWrite.ConditionalAccess"}
        if request.method == "GET":
            self._require(
                claims, writers | {"Policy.Read.All"}, writers | {"Policy.Read.All"}, admin=True
            )
            return json_response(
                200,
                {
                    "@odata.context": f"{_CTX}#policies/"
                    "identitySecurityDefaultsEnforcementPolicy/$entity",
                    "id": "00000000-0000-0000-0000-000000000005",
                    "displayName": "Security Defaults",
                    "description": "Security defaults is a set of basic identity security "
                    "mechanisms recommended by Microsoft. When enabled, these recommendations "
                    "will be automatically enforced in your organization.",
                    "isEnabled": tenant.security_defaults,
                },
            )
        if request.method == "PATCH":
            self._require(claims, writers, writers, admin=True)
            body = request.json() or {}
            if not isinstance(body.get("isEnabled"), bool):
                raise GraphError(400, "BadRequest", "Property 'isEnabled' must be a boolean.")
            with self.directory.lock:
                if body["isEnabled"] and any(p.get("state") == "enabled"
                                             for p in tenant.ca_policies):
                    raise GraphError(400, "BadRequest", CA_POLICIES_ON)
                tenant.security_defaults = body["isEnabled"]
            return empty(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    def _conditional_access(
        self, request: Request, claims: dict[str, Any], tenant: Tenant
    ) -> Response:
        writers = {"Policy.ReadWrite.ConditionalAccess"}
        if request.method == "GET":
            self._require(
                claims, writers | {"Policy.Read.All"}, writers | {"Policy.Read.All"}, admin=True
            )
            with self.directory.lock:
                return json_response(
                    200,
                    {
                        "@odata.context": f"{_CTX}#identity/conditionalAccess/policies",
                        "value": list(tenant.ca_policies),
                    },
                )
        if request.method != "POST":
            raise GraphError(405, "Request_BadRequest", "Method not allowed.")
        self._require(claims, writers, writers, admin=True)
        body = request.json()
        if not isinstance(body, dict) or not body.get("displayName"):
            raise GraphError(400, "BadRequest", "Property 'displayName' is required.")
        if body.get("state") not in ("enabled", "disabled", "enabledForReportingButNotEnforced"):
            raise GraphError(400, "BadRequest", "Property 'state' has an invalid value.")
        if not isinstance(body.get("conditions"), dict):
            raise GraphError(400, "BadRequest", "Property 'conditions' is required.")
        with self.directory.lock:
            # Report-only and off policies enforce nothing and may coexist with security
            # defaults; only switching one on needs them off (see the module docstring).
            if tenant.security_defaults and body["state"] == "enabled":
                raise GraphError(400, "BadRequest", SECURITY_DEFAULTS_ON)
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            policy = {
                **body,
                "id": str(uuid.uuid4()),
                "createdDateTime": now,
                "modifiedDateTime": None,
            }
            tenant.ca_policies.append(policy)
        return json_response(
            201, {"@odata.context": f"{_CTX}#identity/conditionalAccess/policies/$entity", **policy}
        )

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
                    "@odata.context": f"{_CTX}#applications/$entity",
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


def _registration_row(u: User) -> dict[str, Any]:
    """One userRegistrationDetails row (Learn, "userRegistrationDetails resource type"), built
    when its page is served, from the user's record as it is then."""
    methods = ["microsoftAuthenticatorPush", "softwareOneTimePasscode"] if u.mfa_registered else []
    mfa = u.mfa_registered
    return {
        "id": u.object_id, "userPrincipalName": u.upn, "userDisplayName": u.display_name,
        "userType": "member", "isAdmin": u.admin, "isSsprRegistered": mfa,
        "isSsprEnabled": False, "isSsprCapable": False, "isMfaRegistered": mfa,
        "isMfaCapable": mfa, "isPasswordlessCapable": False, "methodsRegistered": methods,
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "systemPreferredAuthenticationMethods": methods[:1],
        "userPreferredMethodForSecondaryAuthentication": "push" if methods else "none",
        "lastUpdatedDateTime": u.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "defaultMfaMethod": "microsoftAuthenticatorPush" if methods else "none",
    }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
