"""Reading and writing the refresh token in Key Vault with the real azure-keyvault-secrets client.

Retries (429 with Retry-After, 5xx, connection resets) are azure-core's RetryPolicy, tuned here to
give up within about a minute; it sleeps for the ``Retry-After`` the vault advertised. Every SDK
error is translated into one typed error that says what is wrong and who must do what; none
carries a secret. Key Vault answers every refusal 403 ``Forbidden``; the inner code of its body
tells them apart (Learn, "Azure Key Vault REST API error codes"): ``ForbiddenByFirewall`` (the
vault's network rules do not allow this machine's address), ``ForbiddenByRbac`` (no effective
role assignment; also while a new one propagates) and ``AccessDenied`` (no access policy).
Those tables are ``scripts.adapters.keyvault_refusals``, loaded only once something failed.

Disabling many versions (``rotate --keep``) is ``scripts.adapters.keyvault_versions``.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from foundation.clouds import Endpoints, is_loopback_host
from foundation.errors import SecureAppError, SignInError
from foundation.naming import is_guid
from foundation.network.credentials import deployer_credential, identity_options
from foundation.network.discovery import azure_transport
from foundation.wellknown import REFRESH_TOKEN_LIFETIME_DAYS, TOKEN_CONTENT_TYPE

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.keyvault.secrets import KeyVaultSecret, SecretClient

    from foundation.support_ids import SupportIds

#: Bounded retries: a pipeline should fail within a minute, not azure-core's default ten tries.
RETRY_OPTIONS: dict[str, Any] = {
    "retry_total": 4,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
}


#: How long a write refused with ``ForbiddenByRbac`` is retried: a role assigned just now takes
#: "up to 10 minutes (600 seconds)" to apply (Learn, "Provide access to Key Vault keys,
#: certificates, and secrets with Azure role-based access control", role assignment latency).
#: ``SECURE_APP_RBAC_WAIT`` overrides it; ``scripts.inputs.rbac_wait_seconds`` reads and checks it.
RBAC_WAIT_ENV: Final = "SECURE_APP_RBAC_WAIT"
RBAC_WAIT_DEFAULT: Final = 600.0
#: First pause between retries while a role propagates; doubled each time, at most the second.
RBAC_RETRY_PAUSES: Final = (2.0, 15.0)


def client_options() -> dict[str, Any]:
    """The Key Vault client's retries, and the transport every client shares (one connection per
    host, our timeouts, no back-off on an untrusted certificate: ``discovery.azure_transport``)."""
    return {**RETRY_OPTIONS, "transport": azure_transport()}


@dataclass(frozen=True)
class StoredToken:
    value: str
    secret_id: str  # https://{vault}/secrets/{name}/{version}
    version: str
    created_on: dt.datetime | None
    expires_on: dt.datetime | None
    enabled: bool
    tags: dict[str, str]

    def __repr__(self) -> str:
        return f"StoredToken(secret_id={self.secret_id!r})"


def writer_credential(endpoints: Endpoints) -> TokenCredential:
    """Who writes the token: the admin's ``az login``, or a pipeline's ``AZURE_*`` variables."""
    return deployer_credential(endpoints)


def platform_credential(endpoints: Endpoints, tenant_id: str, client_id: str,
                        client_secret: str) -> TokenCredential:
    """Who reads the token: the Key Vault client app, exactly as the platform is configured."""
    from azure.identity import ClientSecretCredential

    # Platforms are configured with the partner's *domain*; the vault's challenge names the
    # tenant's GUID, which azure-identity treats as another tenant. Allow it only in that case:
    # this credential only ever answers the challenge of the one vault URL it was given.
    others = [] if is_guid(tenant_id) else ["*"]
    return ClientSecretCredential(tenant_id, client_id, client_secret,
                                  additionally_allowed_tenants=others,
                                  **identity_options(endpoints))


def secret_client(vault_url: str, credential: TokenCredential) -> SecretClient:
    from azure.keyvault.secrets import SecretClient

    # The SDK accepts a bearer challenge only when its resource is a parent domain of the vault's
    # host. A loopback vault (the local cloud double) has no such domain; a real vault host always
    # keeps the check on.
    return SecretClient(vault_url, credential,
                        verify_challenge_resource=not is_loopback_host(vault_url),
                        **client_options())


def token_tags(*, source: str, user: str, tenant_id: str, app_id: str) -> dict[str, str]:
    """Who, when, which tenant and app: nothing secret, each within Key Vault's 256 characters."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    tags = {"source": source, "obtainedBy": user, "obtainedAt": now, "tenantId": tenant_id,
            "cpvAppId": app_id}
    return {k: v[:256] for k, v in tags.items() if v}


def _progress(line: str) -> None:
    """Progress goes to stderr (stdout carries only a task's result); never an ``error:`` line."""
    print(line, file=sys.stderr, flush=True)


def store_token(client: SecretClient, name: str, refresh_token: str, tags: dict[str, str],
                tell: Callable[[str], None] = _progress, *, rbac_wait: float) -> StoredToken:
    """Write the token as a new version with a 90-day expiry (its lifetime). A soft-deleted
    secret of that name is recovered first when the writer may; otherwise the error says how.

    Refused with ``ForbiddenByRbac``, the write is retried for up to ``rbac_wait`` seconds
    (``SECURE_APP_RBAC_WAIT``): right after ``pulumi up`` assigned the writer its role, Key Vault
    keeps answering 403 until the assignment propagates, and the token in hand cost a human an
    MFA sign-in."""
    from azure.core.exceptions import HttpResponseError

    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=REFRESH_TOKEN_LIFETIME_DAYS)
    deadline: float | None = None
    pause, max_pause = RBAC_RETRY_PAUSES
    while True:
        try:
            secret = _set_or_recover(client, name, refresh_token, tags, expires)
            return _stored(secret)
        except HttpResponseError as exc:
            # The refusal tables load only when a write was refused.
            from scripts.adapters import keyvault_refusals as refusals

            if not (exc.status_code == 403 and refusals.codes(exc)[1] == "ForbiddenByRbac"):
                raise translate(exc, client.vault_url, name, "set") from None
            bound = rbac_wait
            if deadline is None:
                if bound <= 0:
                    raise translate(exc, client.vault_url, name, "set") from None
                deadline = time.monotonic() + bound
                tell(f"waiting for the role assignment to take effect (Azure RBAC can take a few "
                     f"minutes); retrying for up to {bound:g} s")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                vault = refusals.vault_name(client.vault_url)
                raise refusals.role_not_effective(vault, bound, RBAC_WAIT_ENV) from None
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, max_pause)
        except Exception as exc:
            raise translate(exc, client.vault_url, name, "set") from None


def _set_or_recover(client: SecretClient, name: str, refresh_token: str, tags: dict[str, str],
                    expires: dt.datetime) -> KeyVaultSecret:
    from azure.core.exceptions import HttpResponseError

    try:
        return client.set_secret(name, refresh_token, content_type=TOKEN_CONTENT_TYPE,
                                 tags=tags, expires_on=expires, enabled=True)
    except HttpResponseError as exc:
        if exc.status_code != 409:
            raise
    _recover_deleted(client, name)
    return client.set_secret(name, refresh_token, content_type=TOKEN_CONTENT_TYPE,
                             tags=tags, expires_on=expires, enabled=True)


def _recover_deleted(client: SecretClient, name: str) -> None:
    from azure.core.exceptions import HttpResponseError

    try:
        client.begin_recover_deleted_secret(name).wait()
    except HttpResponseError as exc:
        if exc.status_code not in (401, 403):
            raise
        from scripts.adapters import keyvault_refusals as refusals  # refused: its words only

        vault = refusals.vault_name(client.vault_url)
        az_name = refusals.az_vault_name(client.vault_url)
        raise SignInError(
            f"secret {name} in {vault} is soft-deleted and this identity may not recover it "
            "(no secrets 'recover' permission)",
            fix=f"run 'az keyvault secret recover --vault-name {az_name} --name {name}' (or "
            f"'az keyvault secret purge ...' to start afresh)",
            error="forbidden",
        ) from None


def read_token(client: SecretClient, name: str, version: str | None = None) -> StoredToken:
    try:
        secret = client.get_secret(name, version)
    except Exception as exc:
        raise translate(exc, client.vault_url, name, "get") from None
    return _stored(secret)


def require_unexpired(stored: StoredToken, name: str, vault_url: str) -> StoredToken:
    """A version whose expiry passed holds a refresh token past its lifetime (each version is
    stored with the token's own 90 days): refuse to hand its identifier to the platform."""
    if stored.expires_on is not None and stored.expires_on <= dt.datetime.now(dt.UTC):
        from scripts.adapters.keyvault_refusals import vault_name  # only for the error's line

        raise SignInError(
            f"the current version of secret {name} in {vault_name(vault_url)} expired on "
            f"{stored.expires_on.date().isoformat()}; the refresh token in it no longer works",
            fix="run 'csp-secure-app consent' to store a new token, then schedule "
            "'csp-secure-app rotate' so it never expires again",
            error="expired",
        )
    return stored


def _stored(secret: Any) -> StoredToken:
    props = secret.properties
    return StoredToken(value=secret.value or "", secret_id=str(secret.id),
                       version=str(props.version), created_on=props.created_on,
                       expires_on=props.expires_on, enabled=bool(props.enabled),
                       tags=dict(props.tags or {}))


#: Key Vault's ``x-ms-request-id`` (Learn, "Azure Key Vault REST API: common parameters and
#: headers"), as a refusal's line ends with it: what Key Vault support asks for.
REQUEST_ID_LABEL: Final = "Key Vault request id"


def translate(exc: Exception, vault_url: str, name: str, permission: str) -> SecureAppError:
    """One SDK exception -> one typed error with the cause and the fix, and Key Vault's request
    id when the vault answered. Never includes a token."""
    # The refusal tables load only once something failed.
    from foundation.support_ids import with_ids
    from scripts.adapters import keyvault_refusals as refusals

    return with_ids(refusals.translate(exc, vault_url, name, permission), request_id(exc))


def request_id(exc: BaseException) -> SupportIds:
    """The ``x-ms-request-id`` of the answer an ``HttpResponseError`` carries, only if shaped like
    an id (``foundation.support_ids.support_id``: bounded, hex and dashes): it comes from
    outside."""
    from foundation.support_ids import support_id  # a failure's line only

    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    value = support_id(headers.get("x-ms-request-id")) if hasattr(headers, "get") else None
    return ((REQUEST_ID_LABEL, value),) if value else ()


def platform_key_vault_url(secret_id: str, api_version: str) -> str:
    """The module setting "Key Vault URL": the versioned identifier with the api-version the
    platform quotes (``{vault}/secrets/{name}/{version}?api-version=7.0``)."""
    return f"{secret_id.rstrip('/')}?api-version={api_version}"

