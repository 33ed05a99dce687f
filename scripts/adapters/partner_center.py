"""The Partner Center calls the flows make: the organization profile, to prove the token works
(App+User, MFA) and to learn the CSP MS ID / account id of the module settings; and, for
``verify``'s ``partner-center-mfa`` check, Partner Center's own MFA-compliance reports
(``scripts.adapters.partner_center_reports``, which only that check loads).

Every refusal's line ends with Partner Center's ``MS-RequestId`` and ``MS-CorrelationId`` (its
response headers, Learn "Partner Center REST and response headers"): what Partner Center support
asks for. The CPV app's permissions are its vendor's to change, so a fix says "ask your CPV
vendor" (an in-house app's: ``pulumi up``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from foundation.errors import ServiceError, SignInError
from foundation.network import http

if TYPE_CHECKING:
    import requests

#: Partner Center's codes for "this App+User token carries no MFA claim". 900421 is what it
#: returns since MFA became mandatory for every App+User call on 2026-04-01 (Learn, "Partner
#: Center authentication"; partners' reports of the enforcement quote "401 ... error code
#: 900421"); 10001 is the older "MFA required" of the .NET SDK and PowerShell module
#: (microsoft/Partner-Center-DotNet-Samples#59, microsoft/Partner-Center-PowerShell#331).
MFA_REFUSAL_CODES = frozenset({"900421", "10001"})
#: The claims challenge Entra-protected APIs send when a token lacks claims a policy requires
#: (Learn, "Claims challenges, claims requests and client capabilities":
#: ``WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64>"``).
#: A pattern, compiled (and cached by ``re``) only when a refusal is read.
_CLAIMS_CHALLENGE = r'error\s*=\s*"?insufficient_claims|\bclaims\s*=\s*"'
#: Words a refusal's text uses for MFA; 2026's 900421 bodies need not contain any of them.
_MFA_WORDS = ("mfa", "multi-factor", "multifactor")
MFA_FIX = (
    "enforce MFA for the admin account (security defaults or a Conditional Access policy), "
    "then run 'csp-secure-app consent' again and complete the MFA prompt; a stored token "
    "without MFA cannot be repaired by rotating it"
)


@dataclass(frozen=True)
class OrganizationProfile:
    tenant_id: str
    company_name: str
    domain: str


def organization_profile(endpoint: str, access_token: str) -> OrganizationProfile:
    url = f"{endpoint.rstrip('/')}/v1/profiles/organization"
    resp, body = http.call_json(http.session(), url, token=access_token, service="Partner Center")
    if resp.status_code < 400 and isinstance(body, dict):
        return OrganizationProfile(
            tenant_id=str(body.get("tenantId", "")),
            company_name=str(body.get("companyName", "")),
            domain=str(body.get("domain", "")),
        )
    from foundation.network.failures import with_response_ids  # refused: the ids end its line

    if is_mfa_refusal(resp, body):
        raise with_response_ids(SignInError(
            f"Partner Center refused the token ({resp.status_code}{code_note(body)}): its "
            "sign-in did not satisfy MFA, which every App+User call requires",
            fix=MFA_FIX,
            error="mfa_required",
        ), resp.headers)
    if resp.status_code == 401:
        raise with_response_ids(SignInError(
            "Partner Center refused the token (401 Unauthorized)",
            fix="run 'csp-secure-app consent' again as an admin agent of the partner tenant; if "
            "it recurs, ask your CPV vendor whether the CPV app has Partner Center's "
            "user_impersonation permission (in-house app: 'pulumi up')",
            error="unauthorized",
        ), resp.headers)
    if resp.status_code == 403:
        raise with_response_ids(SignInError(
            "Partner Center refused the account (403 Forbidden)",
            fix="run 'csp-secure-app consent' again, signed in as a Global Admin or Admin Agent "
            "of the partner's Partner Center account",
            error="forbidden",
        ), resp.headers)
    raise with_response_ids(ServiceError(
        f"Partner Center answered {resp.status_code} to GET /v1/profiles/organization",
        fix="check PARTNER_CENTER_ENDPOINT and try again later",
    ), resp.headers)


def is_mfa_refusal(resp: requests.Response, body: Any) -> bool:
    """Partner Center's MFA refusal in every form it has been seen in: 401 or 403 with code
    900421 (or the older 10001) in the body's ``code``/``errorCode``, a claims challenge in
    ``WWW-Authenticate``, or the words "MFA required" in the header or body."""
    if resp.status_code not in (401, 403):
        return False
    header = resp.headers.get("WWW-Authenticate", "")
    if re.search(_CLAIMS_CHALLENGE, header, re.IGNORECASE):
        return True
    if _error_code(body) in MFA_REFUSAL_CODES:
        return True
    text = f"{header} {resp.text}".lower()
    return any(word in text for word in _MFA_WORDS)


def _error_code(body: Any) -> str:
    """Partner Center's ``code`` (a string in the documented schema, a number in older replies),
    or ``errorCode`` / a nested ``error.code`` as some gateways wrap it."""
    if not isinstance(body, dict):
        return ""
    inner = body.get("error")
    candidates = [body.get("code"), body.get("errorCode")]
    if isinstance(inner, dict):
        candidates += [inner.get("code"), inner.get("errorCode")]
    for value in candidates:
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def code_note(body: Any) -> str:
    code = _error_code(body)
    return f", code {code}" if code in MFA_REFUSAL_CODES else ""
