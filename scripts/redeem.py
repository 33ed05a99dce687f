"""Redeeming the stored refresh token, shared by ``rotate`` (which stores the result) and
``verify`` (which only looks at it).

MSAL's own HTTP session retries failed connections only: a throttled token endpoint (429 with
Retry-After) comes back as a non-OAuth error body, and a 5xx raises a bare ``requests`` error.
A weekly pipeline must ride those out the way the Key Vault client rides out its own, so MSAL
gets our retrying session here, and whatever still fails becomes one typed error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from scripts import consent, http
from scripts.errors import ServiceError, SignInError

if TYPE_CHECKING:
    import msal

    from scripts.clouds import Endpoints
    from scripts.inputs import PartnerApp


class RetryingHttp:
    """The ``http_client`` MSAL accepts (``post``/``get``/``close``): ``scripts.http``'s session
    (429 honouring Retry-After, 5xx, resets) plus the timeout MSAL would otherwise set itself."""

    def __init__(self) -> None:
        self._session = http.session()

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", http.TIMEOUT)
        return self._session.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", http.TIMEOUT)
        return self._session.get(url, **kwargs)

    def close(self) -> None:
        self._session.close()


def token_client(app: PartnerApp, endpoints: Endpoints) -> msal.ConfidentialClientApplication:
    """The CPV app as MSAL sees it: the same authority and discovery rule as the consent flow,
    with the retrying session."""
    import msal

    return msal.ConfidentialClientApplication(
        app.app_id,
        client_credential=app.app_secret,
        authority=f"{endpoints.authority_host}/{app.csp_domain}",
        # Only Microsoft's own clouds have an instance-discovery endpoint (see consent.py).
        instance_discovery=endpoints.instance_discovery,
        http_client=RetryingHttp(),
    )


def redeem(app: PartnerApp, endpoints: Endpoints, refresh_token: str,
           expected_tenant: str) -> consent.PartnerTokens:
    """Redeem ``refresh_token`` for Partner Center and run every check consent runs (MFA in
    ``amr``, the partner tenant, the organization profile). The redeemed token stays valid: a
    refresh token rolls, it is not consumed."""
    from msal.exceptions import MsalServiceError

    try:
        client = token_client(app, endpoints)
        result = client.acquire_token_by_refresh_token(
            refresh_token, scopes=[endpoints.partner_center_scope])
    except (requests.RequestException, MsalServiceError) as exc:
        # MSAL raises MsalServiceError("HTTP Error: 503") for a 5xx that outlived the retries,
        # and requests' own errors for a network failure. Their text is not printed: one line
        # of ours says what to do.
        raise ServiceError(
            f"the identity platform at {endpoints.authority_host} could not be reached or kept "
            f"failing after retries ({type(exc).__name__})",
            fix="try again later; if it persists, check AZURE_AUTHORITY_HOST and the network",
        ) from None
    except ValueError:  # MSAL's way of saying the authority (tenant) is unusable
        raise SignInError(f"the identity platform refused the tenant {app.csp_domain}",
                          fix="check --csp-domain (CSP_DOMAIN) and AZURE_AUTHORITY_HOST",
                          error="invalid_tenant") from None
    error = result.get("error")
    if error is not None and not isinstance(error, str):
        # Not an OAuth error response: a throttling or outage body that outlived the retries.
        raise ServiceError(
            "the identity platform kept throttling or failing the token request",
            fix="try again in a few minutes; nothing was changed",
        )
    return consent.check_partner_result(result, app, endpoints, expected_tenant)
