"""Partner Center REST API: the one call the product uses to prove a stored token works,
``GET /v1/profiles/organization`` (App+User only, MFA required in the token's ``amr``).

Error bodies use Partner Center's front-door shape ``{"code", "description", "data", "source"}``.
``down`` turns every request into a 503, as during a Partner Center outage.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from . import msids as wk
from .directory import Directory
from .server import Request, Response, json_response
from .tokens import TokenIssuer, TokenRejected, bearer_token

MFA_REQUIRED_CODE = 10001


class PartnerCenter:
    def __init__(self, directory: Directory, issuer: TokenIssuer) -> None:
        self.directory = directory
        self.issuer = issuer
        self.down = False

    def route(self, request: Request) -> Response:
        if self.down:
            return _error(503, 503, "The service is temporarily unavailable. Try again later.")
        path = request.path.rstrip("/").lower()
        if path != "/v1/profiles/organization":
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
            return _unauthorized("MFA required", "invalid_token", code=MFA_REQUIRED_CODE)
        return claims

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
    status: int, code: int, description: str, extra: list[tuple[str, str]] | None = None
) -> Response:
    body = {"code": code, "description": description, "data": [], "source": "PartnerFD"}
    return json_response(status, body, _headers() + (extra or []))


def _unauthorized(description: str, error: str | None, code: int = 401) -> Response:
    header = "Bearer" if error is None else f'Bearer error="{error}"'
    return _error(401, code, description, [("WWW-Authenticate", header)])
