"""The few Microsoft Graph reads the lifecycle tasks make, and what each refusal means for them.

Token, request, paging and Graph's error shape are ``foundation.network.graph`` (shared with the
security defaults provider); the statuses are told here, in the words of the reports. Each line
ends with the ``request-id`` / ``client-request-id`` Graph puts in an error's ``innerError``
(Learn, "Microsoft Graph error responses and resource types"): what Graph support asks for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from foundation.clouds import Endpoints
from foundation.errors import ConfigError, SecureAppError, ServiceError, SignInError
from foundation.network import graph

E = TypeVar("E", bound=SecureAppError)

#: What each read needs (application permission, admin consent). Named in every refusal so the
#: fix is one click in the portal, not a search through Graph's permission reference.
PERMISSIONS_FIX = (
    "grant the identity Microsoft Graph AuditLog.Read.All (for mfa-report) or "
    "Application.Read.All (for the app secret expiry), with admin consent"
)


def graph_token(endpoints: Endpoints) -> str:
    """An app-only (or the signed-in admin's) Graph token from the writer's credential."""
    return graph.graph_token(
        endpoints,
        fix="sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
        "AZURE_CLIENT_SECRET for an identity with AuditLog.Read.All / Application.Read.All")


class TokenOnce:
    """The runner's Graph token, asked for once for every Graph read of one run (verify: the
    client app secret's expiry and each outlook check). A refusal is kept and raised again to
    each reader, so no reader asks a second time."""

    def __init__(self, endpoints: Endpoints) -> None:
        self._endpoints = endpoints
        self._fetched: str | SecureAppError | None = None

    def __call__(self) -> str:
        if self._fetched is None:
            try:
                self._fetched = graph_token(self._endpoints)
            except SecureAppError as exc:
                self._fetched = exc
        if isinstance(self._fetched, SecureAppError):
            raise self._fetched
        return self._fetched


def get_pages(endpoints: Endpoints, path: str, token: str) -> Iterator[dict[str, Any]]:
    """Every item of a Graph collection. The token goes only to the Graph endpoint we were
    configured with: a next link pointing anywhere else is refused, not followed."""
    return graph.get_pages(endpoints, path, token,
                           lambda status, body: _raise_for(status, body, path))


def get_one(endpoints: Endpoints, path: str, token: str) -> dict[str, Any]:
    status, body = graph.call(endpoints, "GET", path, token)
    _raise_for(status, body, path)
    return dict(body)


#: Graph's 403 codes for the two refusals a granted permission does not cure (the codes Graph
#: returns for reports; quoted in microsoftgraph/microsoft-graph-docs-contrib#8777 and
#: microsoftgraph/microsoft-graph-docs#10705). Learn, "Get userRegistrationDetails": delegated
#: callers need Reports Reader, Security Reader or Security Administrator; the report is an
#: Entra "usage and insights" report, which needs Microsoft Entra ID P1 or P2.
NO_PREMIUM_LICENCE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
UNSUPPORTED_USER_ROLE = "Authentication_RequestFromUnsupportedUserRole"
LICENCE_FIX = (
    "this report needs a Microsoft Entra ID P1 or P2 licence in the tenant; "
    "until then, see each user's methods in the Entra admin center"
)
ROLE_FIX = (
    "give the signed-in account the Reports Reader, Security Reader or Security Administrator "
    "role, or run the task as an app identity with AuditLog.Read.All"
)


def _raise_for(status: int, body: Any, path: str) -> None:
    error = _refusal(status, body, path.split("?")[0])
    if error is not None:
        raise _with_ids(error, body)


def _with_ids(error: E, body: Any) -> E:
    """``error`` with the ids of Graph's ``innerError`` at the end of its line."""
    from foundation.network.failures import with_response_ids  # a refusal only

    return with_response_ids(error, _inner_error(body))


def _inner_error(body: Any) -> dict[str, Any]:
    """``{"error": {"innerError": {"request-id": ..., "client-request-id": ..., "date": ...}}}``,
    the same names as Graph's response headers."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return {}
    inner = next((v for k, v in error.items() if str(k).lower() == "innererror"), None)
    return inner if isinstance(inner, dict) else {}


def _refusal(status: int, body: Any, what: str) -> SecureAppError | None:
    if status in (401, 403):
        code = graph.error_code(body)
        if code == NO_PREMIUM_LICENCE:
            return SignInError(
                f"Microsoft Graph refused {what} ({status} {code}): the tenant has no "
                "Microsoft Entra ID P1 or P2 licence", fix=LICENCE_FIX, error="licence_required")
        if code == UNSUPPORTED_USER_ROLE:
            return SignInError(
                f"Microsoft Graph refused {what} ({status} {code}): the signed-in account has "
                "no role that may read it", fix=ROLE_FIX, error="role_required")
        return SignInError(f"Microsoft Graph refused {what} ({status})", fix=PERMISSIONS_FIX,
                           error="forbidden")
    if status == 404:
        return ConfigError(f"Microsoft Graph has no {what} (404)",
                           fix="check the app id (KV_CLIENT_APP_ID) and that the identity reads "
                           "the partner tenant (AZURE_TENANT_ID, or 'az login --tenant')")
    if status >= 400 or not isinstance(body, dict):
        return ServiceError(f"Microsoft Graph answered {status} to {what}",
                            fix="check GRAPH_ENDPOINT and try again later")
    return None


# -- verify's outlook reads (consent, conditional-access): each refusal names its permission ----

#: The code Graph answers a token without the permission a read needs (Learn, "Microsoft Graph
#: error responses and resource types": 403 ``Authorization_RequestDenied``, "Insufficient
#: privileges to complete the operation.").
REQUEST_DENIED = "Authorization_RequestDenied"


def needs(permission: str) -> str:
    """The fix for a read refused for want of ``permission`` (README "Day 2" lists them all)."""
    return (f"grant the identity that runs verify the Microsoft Graph application permission "
            f"{permission}, with admin consent")


def read_object(endpoints: Endpoints, path: str, token: str, *,
                permission: str) -> dict[str, Any] | None:
    """One Graph object, or None when Graph has none (404: a service principal deleted is a
    finding of the check, not an error of the read)."""
    status, body = graph.call(endpoints, "GET", path, token)
    if status == 404:
        return None
    _judge(status, body, path, permission)
    return dict(body)


def read_collection(endpoints: Endpoints, path: str, token: str, *,
                    permission: str) -> list[dict[str, Any]]:
    """Every item of a Graph collection (all its pages), a refusal naming ``permission``."""
    return list(graph.get_pages(endpoints, path, token,
                                lambda status, body: _judge(status, body, path, permission)))


def _judge(status: int, body: Any, path: str, permission: str) -> None:
    what = path.split("?")[0]
    code = graph.error_code(body)
    if status in (401, 403) and code not in (NO_PREMIUM_LICENCE, UNSUPPORTED_USER_ROLE):
        shown = f"{status} {code}" if code == REQUEST_DENIED else str(status)
        error = SignInError(f"Microsoft Graph refused {what} ({shown}): reading it needs "
                            f"{permission}", fix=needs(permission), error="forbidden")
        raise _with_ids(error, body)
    if status == 404:
        raise _with_ids(ConfigError(
            f"Microsoft Graph has no {what} (404)",
            fix="check that the identity that runs verify reads the partner tenant "
            "(AZURE_TENANT_ID, or 'az login --tenant'), then run verify again"), body)
    _raise_for(status, body, path)
