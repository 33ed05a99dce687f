"""Shared test helpers: a partner set up in the cloud double, and MSAL sign-ins driven through
the double's pages. Other test modules add their own helpers here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal

from clouddouble import App, CloudDouble, Tenant, User
from foundation import wellknown as wk

REDIRECT_URI = f"http://localhost:{wk.DEFAULT_REDIRECT_PORT}"
PC_ACCESS = (wk.PARTNER_CENTER_APP_ID, [(wk.PARTNER_CENTER_USER_IMPERSONATION, "Scope")])


def unique_domain(prefix: str = "contoso") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}.onmicrosoft.com"


def query_params(url: str) -> dict[str, str]:
    """The query of a redirect URL as the flat dict MSAL's auth-code flow expects."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Partner:
    """A CSP partner tenant with an MFA admin and a single-tenant app asking for Partner Center."""

    cloud: CloudDouble
    tenant: Tenant
    admin: User
    password: str
    app: App
    secret: str

    @property
    def authority(self) -> str:
        return f"{self.cloud.authority_host}/{self.tenant.id}"

    def msal_app(
        self,
        secret: str | None = None,
        client_id: str | None = None,
    ) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            client_id or self.app.app_id,
            client_credential=secret or self.secret,
            authority=self.authority,
            instance_discovery=False,
        )

    def add_user(self, name: str, mfa: bool = True, admin: bool = False) -> User:
        return self.cloud.add_user(
            self.tenant.id,
            f"{name}@{self.tenant.initial_domain}",
            password=self.password,
            mfa=mfa,
            admin=admin,
        )


def make_partner(
    cloud: CloudDouble,
    *,
    multi_tenant: bool = False,
    access: list[tuple[str, list[tuple[str, str]]]] | None = None,
    redirect_uris: list[str] | None = None,
    mfa: bool = True,
    public_client: bool = False,
) -> Partner:
    tenant = cloud.add_tenant(domain=unique_domain())
    password = f"Pw-{uuid.uuid4().hex}"
    admin = cloud.add_user(
        tenant.id, f"admin@{tenant.initial_domain}", password=password, mfa=mfa, admin=True
    )
    app = cloud.register_app(
        tenant.id,
        "Partner Center SAM app",
        multi_tenant=multi_tenant,
        redirect_uris=redirect_uris or [REDIRECT_URI],
        required_resource_access=access if access is not None else [PC_ACCESS],
        public_client=public_client,
    )
    secret = cloud.add_password(app.app_id)
    return Partner(cloud, tenant, admin, password, app, secret)


def sign_in_with_msal(
    partner: Partner,
    scopes: list[str] | None = None,
    user: User | None = None,
    cca: msal.ConfidentialClientApplication | None = None,
    password: str | None = None,
    **sign_in: Any,
) -> dict[str, Any]:
    """The product's consent path: MSAL builds the authorize URL, the double's pages are filled
    in by the programmatic user, MSAL redeems the code. Returns MSAL's result dict."""
    cca = cca or partner.msal_app()
    flow = cca.initiate_auth_code_flow(
        scopes=scopes or [wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI, prompt="login"
    )
    who = user or partner.admin
    redirect = partner.cloud.sign_in(
        flow["auth_uri"], who.upn, password or partner.password, **sign_in
    )
    result: dict[str, Any] = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    return result
