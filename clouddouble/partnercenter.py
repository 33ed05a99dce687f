"""Partner Center REST API: the one call the product uses to prove a stored token works,
``GET /v1/profiles/organization`` (App+User only, MFA required in the token's ``amr``).

Error bodies use Partner Center's front-door shape ``{"code", "description", "data", "source"}``
(Learn, "Partner Center REST error codes": ``code`` is a string, always returned).
``down`` turns every request into a 503, as during a Partner Center outage.

A token without ``mfa`` in ``amr`` is refused in the form ``mfa_refusal`` names:

* ``"current"`` (the default): since MFA became mandatory for every App+User call on 2026-04-01
  (Learn, "Partner Center authentication"), Partner Center answers 401 with error code 900421
  (Microsoft's enforcement announcement as partners quote it: "HTTP 401 response code, Error code
  900421"). The exact description is not documented; ours deliberately does not contain "MFA".
* ``"legacy"``: the older refusal, 401, ``WWW-Authenticate: Bearer error="invalid_token"`` and
  "MFA required", which the .NET SDK reports as ``Authentication failed. MFA required. (10001)``
  (microsoft/Partner-Center-DotNet-Samples#59, microsoft/Partner-Center-PowerShell#331).
* ``"claims"``: the claims challenge Entra-protected APIs send for a token missing claims a policy
  requires (Learn, "Claims challenges, claims requests and client capabilities").

Partner Center's MFA-compliance reports (App+User, same authentication) are
``partnercenter_reports``: every App+User call authenticated here is recorded for them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Literal

from . import msids as wk
from .identity.directory import Directory
from .identity.tokens import TokenIssuer, TokenRejected, bearer_token
from .messages import Request, Response, json_response
from .partnercenter_reports import PATHS as REPORT_PATHS
from .partnercenter_reports import MfaReports

#: Partner Center's code for a token without MFA since the 2026 enforcement.
MFA_REQUIRED_CODE = "900421"
#: The older SDK-visible code for the same refusal ("MFA required").
LEGACY_MFA_REQUIRED_CODE = 10001
#: A tenant-independent claims challenge asking for MFA: base64 of
#: {"access_token":{"amr":{"essential":true,"values":["mfa"]}}} (the claims-request syntax of
#: OpenID Connect Core 5.5, as Learn's claims-challenge article uses it).
MFA_CLAIMS = "eyJhY2Nlc3NfdG9rZW4iOnsiYW1yIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWVzIjpbIm1mYSJdfX19"
MFA_DESCRIPTION = "Multi-factor authentication is required for App+User calls to this API."
MfaRefusal = Literal["current", "legacy", "claims"]


def mfa_refusal_body() -> tuple[bytes, str]:
    """The 2026 refusal's body, for ``CloudDouble.inject_fault(body=...)`` (see the module
    docstring for its source)."""
    body = {"code": MFA_REQUIRED_CODE, "description": MFA_DESCRIPTION, "data": [],
            "source": "PartnerFD"}
    return json.dumps(body).encode(), "application/json; charset=utf-8"


class PartnerCenter:
    def __init__(self, directory: Directory, issuer: TokenIssuer) -> None:
        self.directory = directory
        self.issuer = issuer
        self.down = False
        self.mfa_refusal: MfaRefusal = "current"
        self.reports = MfaReports(directory, issuer.clock)

    def route(self, request: Request) -> Response:
        if self.down:
            return _error(503, 503, "The service is temporarily unavailable. Try again later.")
        path = request.path.rstrip("/").lower()
        if path != "/v1/profiles/organization" and path not in REPORT_PATHS:
            return _error(404, 404, "Resource not found.")
        if request.method != "GET":
            return _error(405, 405, "Method not allowed.")
        claims = self._authenticate(request)
        if isinstance(claims, Response):
            return claims
        tenant = self.directory.tenant(str(claims.get("tid")))
        if tenant is None or not tenant.is_partner:
            return _error(
                403, 600021, "Partner tenant not found or not enrolled in the CSP program."
            )
        self.reports.record_call(claims, request, mfa=True)
        if path in REPORT_PATHS:
            return self.reports.respond(request, path, tenant.id, _error, _headers())
        return json_response(200, self._profile(tenant.id), _headers())

    def _authenticate(self, request: Request) -> dict[str, Any] | Response:
        token = bearer_token(request.header("authorization"))
        if token is None:
            return _unauthorized("Authorization header is missing.", None)
        try:
            claims = self.issuer.verify(token, (wk.PARTNER_CENTER_RESOURCE,))
        except TokenRejected as exc:
            return _unauthorized(str(exc), "invalid_token")
        if "scp" not in claims:
            # App-only tokens cannot call App+User APIs such as the organization profile.
            return _error(403, 900403, "This API supports only App+User authentication.")
        if "user_impersonation" not in str(claims.get("scp", "")).split():
            return _unauthorized("The token lacks the user_impersonation scope.", "invalid_token")
        if "mfa" not in claims.get("amr", []):
            self.reports.record_call(claims, request, mfa=False)
            return self._mfa_refusal()
        return claims

    def _mfa_refusal(self) -> Response:
        if self.mfa_refusal == "legacy":
            return _unauthorized("MFA required", "invalid_token", code=LEGACY_MFA_REQUIRED_CODE)
        if self.mfa_refusal == "claims":
            header = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                      f'common/oauth2/authorize", error="insufficient_claims", '
                      f'claims="{MFA_CLAIMS}"')
            return _error(401, 401, "The token does not satisfy the authentication requirements.",
                          [("WWW-Authenticate", header)])
        return _unauthorized(MFA_DESCRIPTION, "invalid_token", code=MFA_REQUIRED_CODE)

    def _profile(self, tenant_id: str) -> dict[str, Any]:
        tenant = self.directory.require_tenant(tenant_id)
        admins = [u for u in self.directory.users_in(tenant.id) if u.admin]
        email = admins[0].upn if admins else f"admin@{tenant.initial_domain}"
        etag = hashlib.sha256(f"{tenant.profile_id}{tenant.display_name}".encode()).hexdigest()
        return {
            "id": tenant.profile_id,
            "companyName": tenant.display_name,
            "defaultAddress": {
                "country": "US",
                "city": "Redmond",
                "state": "WA",
                "addressLine1": "1 Microsoft Way",
                "postalCode": "98052",
                "firstName": "Partner",
                "lastName": "Admin",
                "phoneNumber": "4255550100",
            },
            "tenantId": tenant.id,
            "domain": tenant.initial_domain,
            "email": email,
            "language": "en",
            "culture": "en-US",
            "profileType": "OrganizationProfile",
            "links": {"self": {"uri": "/profiles/organization", "method": "GET", "headers": []}},
            "attributes": {"etag": etag, "objectType": "OrganizationProfile"},
        }


def _headers() -> list[tuple[str, str]]:
    return [("MS-CorrelationId", str(uuid.uuid4())), ("MS-RequestId", str(uuid.uuid4()))]


def _error(
    status: int, code: int | str, description: str, extra: list[tuple[str, str]] | None = None
) -> Response:
    body: dict[str, Any] = {
        "code": code, "description": description, "data": [], "source": "PartnerFD"
    }
    return json_response(status, body, _headers() + (extra or []))


def _unauthorized(description: str, error: str | None, code: int | str = 401) -> Response:
    header = "Bearer" if error is None else f'Bearer error="{error}"'
    return _error(401, code, description, [("WWW-Authenticate", header)])
