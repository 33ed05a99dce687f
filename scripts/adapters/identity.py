"""The identity platform, as every task talks to it: MSAL clients for the CPV app, one
translation of MSAL's failures into typed errors, the checks every Partner Center token must
pass, and refresh-token redemption (rotate, verify).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from foundation.clouds import Endpoints
from foundation.errors import ServiceError, SignInError, StorageError
from foundation.naming import is_guid
from foundation.network import http
from foundation.wellknown import PARTNER_CENTER_APP_ID
from scripts.adapters.claims import (
    TokenClaims,
    read_claims,
    require_id_token,
    require_issued_to,
    require_partner_token,
)
from scripts.adapters.partner_center import OrganizationProfile, organization_profile
from scripts.types import PartnerApp

if TYPE_CHECKING:
    import msal

#: MSAL's token cache logs every token event at DEBUG, masking refresh tokens and client secrets
#: but not the authorization code or the PKCE verifier. Whatever logging a user (or a debugger)
#: turns on, that record is never created.
logging.getLogger("msal.token_cache").setLevel(logging.INFO)


@dataclass(frozen=True)
class PartnerTokens:
    refresh_token: str
    access_token: str
    claims: TokenClaims
    profile: OrganizationProfile

    def __repr__(self) -> str:
        return f"PartnerTokens(tenant={self.claims.tenant_id!r}, user={self.claims.user!r})"


def confidential_client(
    app: PartnerApp, endpoints: Endpoints
) -> msal.ConfidentialClientApplication:
    """The CPV app, with its secret: consent's code redemption, rotate and verify.

    Building it fetches the tenant's discovery document under ``--csp-domain``. Rotate and
    verify build it *before* reading the vault: a document fetched under the domain is also
    filed under the tenant's GUID, which the vault's challenge names
    (``foundation.network.discovery``), while one fetched under the GUID first cannot be matched
    to a domain. So the tenant's metadata is fetched once per run, whether the partner is named by
    domain or by GUID."""
    import msal

    with _building(app, endpoints):
        return msal.ConfidentialClientApplication(
            app.app_id, client_credential=app.app_secret, **_options(app, endpoints))


def public_client(app: PartnerApp, endpoints: Endpoints) -> msal.PublicClientApplication:
    """The CPV app without a secret: only for the device code grant."""
    import msal

    with _building(app, endpoints):
        return msal.PublicClientApplication(app.app_id, **_options(app, endpoints))


def _options(app: PartnerApp, endpoints: Endpoints) -> dict[str, Any]:
    return {
        "authority": f"{endpoints.authority_host}/{app.csp_domain}",
        # Only Microsoft's own clouds have an instance-discovery endpoint; for any other host
        # (a national cloud override, the local double) discovery would call the public cloud.
        "instance_discovery": endpoints.instance_discovery,
        # Retries 429/5xx, bounded timeouts, one discovery fetch per process, and a throttled
        # or non-JSON answer told as a service problem, not MSAL's bare ValueError
        # (foundation.network.http).
        "http_client": http.identity_session(),
    }


@contextmanager
def _building(app: PartnerApp, endpoints: Endpoints) -> Iterator[None]:
    """MSAL fetches the tenant's metadata while it builds a client, and says ``ValueError``
    when the authority (the tenant) is unusable."""
    try:
        with identity_errors(endpoints):
            yield
    except ValueError:
        raise SignInError(f"the identity platform refused the tenant {app.csp_domain}",
                          fix="check --csp-domain (CSP_DOMAIN), --cloud (CSP_CLOUD) and "
                          "AZURE_AUTHORITY_HOST", error="invalid_tenant") from None


@contextmanager
def identity_errors(endpoints: Endpoints) -> Iterator[None]:
    """MSAL raises ``MsalServiceError("HTTP Error: 503")`` for a 5xx that outlived the retries
    and requests' own errors for a network failure. Their text is not printed: one line of ours
    says what to do."""
    from msal.exceptions import MsalServiceError

    try:
        yield
    except (requests.RequestException, MsalServiceError) as exc:
        from foundation.network.failures import connection_error  # failed: its line only

        raise connection_error(exc, f"the identity platform at {endpoints.authority_host}",
                               "AZURE_AUTHORITY_HOST") from None
    except RuntimeError as exc:
        # MSAL's auth-code flow says a nonce mismatch (a reply that belongs to another sign-in,
        # replayed or forged) with a bare RuntimeError; anything else stays what it is: a bug.
        if "nonce in id token" not in str(exc):
            raise
        raise SignInError("the id_token's nonce is not this sign-in's: the reply belongs to "
                          "another sign-in", fix="sign in again in a private window; if it "
                          "recurs, check AZURE_AUTHORITY_HOST", error="token_mismatch") from None


def tenant_of(client: msal.ClientApplication, app: PartnerApp) -> str:
    """The CSP tenant's id: given as a GUID, or the one the authority's metadata resolved the
    domain to (MSAL already fetched it; no extra round trip)."""
    if is_guid(app.csp_domain):
        return app.csp_domain
    return str(getattr(client.authority, "tenant", "") or "")


#: Keeps a refresh token that passed the claims checks when Partner Center could not confirm it
#: (an outage): returns the owner-only file it is kept in.
Keeper = Callable[[str, TokenClaims], Path]


def partner_center_audiences(endpoints: Endpoints) -> tuple[str, ...]:
    """The ``aud`` a Partner Center token carries: the resource URI the scope names, or (when
    requested by application id) Partner Center's application id."""
    resource = endpoints.partner_center_scope.rsplit("/", 1)[0]
    return (resource, PARTNER_CENTER_APP_ID)


def tenant_issuer(endpoints: Endpoints, tenant_id: str) -> str:
    """The ``iss`` of the tenant's v2.0 id_tokens."""
    return f"{endpoints.authority_host.rstrip('/')}/{tenant_id}/v2.0"


def check_partner_result(result: dict[str, Any], app: PartnerApp, endpoints: Endpoints,
                         expected_tenant: str, *, keep: Keeper | None = None,
                         nonce: str | None = None) -> PartnerTokens:
    """Everything a token must pass before its refresh token is stored (consent and rotate):
    issued to the CPV app for Partner Center, MFA, the partner tenant, an id_token (when one
    came) for the CPV app from the tenant's issuer, unexpired, with ``nonce`` when given.

    ``keep``: consent's token cost a human an MFA sign-in. If only Partner Center's confirmation
    is missing (it is down), the token is kept rather than dropped; rotate passes nothing, since
    the token it redeemed is still stored and still valid."""
    error = result.get("error")
    if error is not None and not isinstance(error, str):
        # Not an OAuth error response: a throttling or outage body that outlived the retries.
        raise ServiceError(
            "the identity platform kept throttling or failing the token request",
            fix="try again in a few minutes; nothing was changed",
        )
    if error is not None:
        from foundation.advice import to_error  # a refusal: the advice tables load only now

        # The result is Entra's error JSON: its trace_id / correlation_id end the line.
        raise to_error(result.get("error"), result.get("error_description"),
                       result.get("error_codes") or (), context="token redemption", reply=result)
    refresh_token = result.get("refresh_token")
    access_token = result.get("access_token")
    if not refresh_token or not access_token:
        raise SignInError(
            "the identity platform returned no refresh token",
            fix="ask your CPV vendor whether the CPV app may request offline_access (in-house "
            "app: 'pulumi up'), then run 'csp-secure-app consent' again",
            error="no_refresh_token",
        )
    claims = read_claims(access_token)
    require_issued_to(claims, app.app_id, partner_center_audiences(endpoints))
    guid_tenant = expected_tenant if is_guid(expected_tenant or "") else None
    require_partner_token(claims, guid_tenant)
    id_token = result.get("id_token")
    if id_token:
        require_id_token(str(id_token), app.app_id, tenant_issuer(endpoints, claims.tenant_id),
                         nonce=nonce)
    try:
        profile = organization_profile(endpoints.partner_center, access_token)
    except ServiceError as exc:
        if keep is None:
            raise
        from foundation.support_ids import ids_of, with_ids  # failed: its line only

        path = keep(refresh_token, claims)
        raise with_ids(ServiceError(
            f"{exc.message}; the refresh token (MFA and tenant checked, not yet confirmed by "
            f"Partner Center) is kept in {path}",
            fix=f"once Partner Center answers, run 'csp-secure-app store-token --from-file {path}' "
            "(or run consent again)",
        ), ids_of(exc)) from None
    except KeyboardInterrupt:
        if keep is None:
            raise
        path = keep(refresh_token, claims)
        raise StorageError(f"interrupted before the token was stored; it is kept in {path}",
                           fix=f"run 'csp-secure-app store-token --from-file {path}'",
                           fallback_path=str(path)) from None
    if profile.tenant_id and profile.tenant_id.lower() != claims.tenant_id.lower():
        raise SignInError(
            f"Partner Center answered for tenant {profile.tenant_id}, not {claims.tenant_id}",
            fix="sign in with an admin agent of the partner tenant that --csp-domain names",
            error="tenant_mismatch",
        )
    return PartnerTokens(refresh_token=refresh_token, access_token=access_token,
                         claims=claims, profile=profile)


def redeem(app: PartnerApp, endpoints: Endpoints, refresh_token: str,
           expected_tenant: str, *,
           client: msal.ConfidentialClientApplication | None = None) -> PartnerTokens:
    """Redeem ``refresh_token`` for Partner Center and run every check consent runs (MFA in
    ``amr``, the partner tenant, the organization profile). The redeemed token stays valid: a
    refresh token rolls, it is not consumed.

    ``client``: built beforehand by a caller that reads the vault first (see
    ``confidential_client``'s note on discovery)."""
    client = client or confidential_client(app, endpoints)
    with identity_errors(endpoints):
        result = client.acquire_token_by_refresh_token(
            refresh_token, scopes=[endpoints.partner_center_scope])
    return check_partner_result(result, app, endpoints, expected_tenant)
