"""Microsoft Graph's MFA registration report, ``GET
/v1.0/reports/authenticationMethods/userRegistrationDetails`` (AuditLog.Read.All), routed from
``graph.Graph`` (which authenticates the caller and resolves its tenant first).

The registration report is a "usage and insights" report: it needs a Microsoft Entra ID P1 or P2
licence in the tenant and, for a delegated caller, one of the roles Reports Reader, Security
Reader or Security Administrator (Learn, "Get userRegistrationDetails" and the Entra monitoring
licence table; Global Administrator, higher-privileged, also passes). ``Graph.without_premium``
(tenant ids without P1/P2; every tenant has it unless ``Graph.set_premium(tid, False)``) and
``Graph.directory_roles`` (user object id -> role names) are those tenant facts, read here.

Paging (Learn, "Paging Microsoft Graph data in your app"): in server-side paging Graph "returns
a default number of results in a single page", "different APIs might have different default and
maximum page sizes", and the client follows the whole ``@odata.nextLink`` URL, never taking its
``$skiptoken`` apart. The report's page size is not documented: ``page_size`` is the double's
(2, or 1 for thousands of pages), ``$top`` only lowers it. A chain's first page sorts the
tenant's users once into a snapshot; the skiptoken is that snapshot and an offset, so a page
costs its own rows, never a sort of the directory, and keeps its order as a cursor does.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .graph_errors import METADATA, NO_PREMIUM, UNSUPPORTED_ROLE, GraphError, Require
from .identity.directory import Directory, Tenant, User
from .messages import Request, Response, json_response

_URD = "/v1.0/reports/authenticationmethods/userregistrationdetails"
#: Report chains whose ordered snapshot is kept; an older chain's next page sorts afresh.
SNAPSHOTS = 16
#: The built-in roles Learn lists for delegated access to userRegistrationDetails.
REPORT_ROLES = frozenset({"Reports Reader", "Security Reader", "Security Administrator"})


class RegistrationReport:
    def __init__(self, directory: Directory, require: Require, page_size: Callable[[], int],
                 without_premium: set[str], directory_roles: dict[str, set[str]]) -> None:
        self.directory = directory
        self._require = require
        #: ``Graph.page_size``, read per page: a test may change it on a running double.
        self._page_size = page_size
        #: ``Graph``'s tenant facts (the same objects, which its hooks change).
        self.without_premium = without_premium
        self.directory_roles = directory_roles
        #: Ordered users of each live report chain, by snapshot id (oldest dropped first).
        self._snapshots: OrderedDict[str, tuple[str, tuple[User, ...]]] = OrderedDict()
        self._snapshots_lock = threading.Lock()

    def route(self, request: Request, claims: dict[str, Any], tenant: Tenant) -> Response | None:
        """The report's page, or None for a request that is not a GET of the report."""
        if request.path.rstrip("/").lower() != _URD or request.method != "GET":
            return None
        self._require(claims, {"AuditLog.Read.All"}, {"AuditLog.Read.All"}, False)
        self._require_report_access(claims, tenant)
        return self._registration_details(request, tenant)

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

    def _registration_details(self, request: Request, tenant: Tenant) -> Response:
        query = request.query
        page_size = self._page_size()
        size = min(int(query.get("$top") or page_size), page_size)
        if size < 1:
            raise GraphError(400, "BadRequest", "Invalid value for '$top'.")
        snapshot, users, start = self._cursor(query.get("$skiptoken"), tenant)
        body: dict[str, Any] = {
            "@odata.context": f"{METADATA}#reports/authenticationMethods/userRegistrationDetails",
            "value": [registration_row(u) for u in users[start : start + size]],
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


def registration_row(u: User) -> dict[str, Any]:
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
