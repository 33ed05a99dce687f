"""The one Partner Center call the flow needs: the organization profile, to prove the token works
(App+User, MFA) and to learn the CSP MS ID / account id of the module settings."""

from __future__ import annotations

from dataclasses import dataclass

from scripts import http
from scripts.errors import ServiceError, SignInError


@dataclass(frozen=True)
class OrganizationProfile:
    tenant_id: str
    company_name: str
    domain: str


def organization_profile(endpoint: str, access_token: str) -> OrganizationProfile:
    url = f"{endpoint.rstrip('/')}/v1/profiles/organization"
    resp, body = http.get_json(http.session(), url, token=access_token, service="Partner Center")
    if resp.status_code == 401:
        text = f"{resp.headers.get('WWW-Authenticate', '')} {resp.text}".lower()
        if "mfa" in text:
            raise SignInError(
                "Partner Center refused the token: MFA required (the sign-in did not satisfy MFA)",
                fix="enforce MFA for the admin account, then run consent again",
                error="mfa_required",
            )
        raise SignInError(
            "Partner Center refused the token (401 Unauthorized)",
            fix="make sure the account is an admin agent of the partner tenant and the CPV app "
            "has the Partner Center user_impersonation permission, then run consent again",
            error="unauthorized",
        )
    if resp.status_code == 403:
        raise SignInError(
            "Partner Center refused the account (403 Forbidden)",
            fix="sign in with a Global Admin or Admin Agent of the partner's Partner Center "
            "account",
            error="forbidden",
        )
    if resp.status_code >= 400 or not isinstance(body, dict):
        raise ServiceError(
            f"Partner Center answered {resp.status_code} to GET /v1/profiles/organization",
            fix="check PARTNER_CENTER_ENDPOINT and try again later",
        )
    return OrganizationProfile(
        tenant_id=str(body.get("tenantId", "")),
        company_name=str(body.get("companyName", "")),
        domain=str(body.get("domain", "")),
    )
