"""Reading and writing the refresh token in Key Vault with the real azure-keyvault-secrets client.

Retries (429 with Retry-After, 5xx, connection resets) are azure-core's RetryPolicy, tuned here to
give up within about a minute; it sleeps for the ``Retry-After`` the vault advertised. Every SDK
error is translated into one typed error that says what is wrong and who must do what; none
carries a secret. Key Vault answers every refusal 403 ``Forbidden``; the inner code of its body
tells them apart (Learn, "Azure Key Vault REST API error codes"): ``ForbiddenByFirewall`` (the
vault's network rules do not allow this machine's address), ``ForbiddenByRbac`` (no effective
role assignment; also while a new one propagates) and ``AccessDenied`` (no access policy).

Disabling many versions (``disable_listed``) runs a few PATCHes at once over the one client. Azure
SDK clients are thread-safe and meant to be shared, their model objects are not (Learn, "Thread
safety and client lifetime management for Azure SDK objects", written for .NET, the design every
Azure SDK follows; azure-core's sync transport is a requests session over urllib3's thread-safe
connection pool). So a worker is handed a version string, never a ``SecretProperties``.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from foundation.advice import SupportIds, support_id, with_ids
from foundation.clouds import Endpoints, is_loopback_host
from foundation.errors import ConfigError, SecureAppError, ServiceError, SignInError
from foundation.naming import is_guid
from foundation.network.credentials import deployer_credential, identity_options
from foundation.network.discovery import azure_transport
from foundation.network.failures import connection_error, credential_error, is_tls
from foundation.wellknown import REFRESH_TOKEN_LIFETIME_DAYS, TOKEN_CONTENT_TYPE
from scripts.adapters import keyvault_refusals as refusals

if TYPE_CHECKING:
    from concurrent.futures import Future

    from azure.core.credentials import TokenCredential
    from azure.keyvault.secrets import KeyVaultSecret, SecretClient, SecretProperties

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

#: PATCHes in flight at once while disabling old versions: below the 10 connections per host
#: azure-core's requests transport pools (more would open and drop a TLS connection per call),
#: and enough to keep up :data:`DISABLE_RATE` with round trips of up to 40 ms.
DISABLE_WORKERS: Final = 8
#: PATCHes started per second, at most: half of the 4,000 secret transactions per 10 seconds
#: a vault allows (Learn, "Azure Key Vault service limits"; past it every caller gets 429). The
#: platform reads the token from the same vault, so a rotation's clean-up must never use up the
#: vault's budget; a 429 from other traffic is still waited out (``Retry-After``) by azure-core.
DISABLE_RATE: Final = 200.0


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
                vault = _vault_name(client.vault_url)
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
        vault = _vault_name(client.vault_url)
        az_name = _az_vault_name(client.vault_url)
        raise SignInError(
            f"secret {name} in {vault} is soft-deleted and this identity may not recover it "
            "(no secrets 'recover' permission)",
            fix=f"run 'az keyvault secret recover --vault-name {az_name} --name {name}' (or "
            f"'az keyvault secret purge ...' to start afresh)",
            error="forbidden",
        ) from None


@dataclass(frozen=True)
class Disabled:
    """What :func:`disable_listed` did: the versions it disabled, in the order they were picked;
    each one it could not disable, with why; and why the listing stopped early, if it did."""

    versions: tuple[str, ...]
    failures: tuple[tuple[str, SecureAppError], ...] = ()
    listing_error: SecureAppError | None = None


def disable_listed(client: SecretClient, name: str,
                   pick: Callable[[SecretProperties], str | None], *,
                   workers: int = DISABLE_WORKERS, rate: float = DISABLE_RATE) -> Disabled:
    """List every version of ``name``; each one ``pick`` names is disabled at once, ``workers``
    at a time and at most ``rate`` a second, while the listing goes on (a PATCH never waits for
    the last list page).

    One failure stops nothing: every PATCH is tried, and every failure is kept with its version.
    A listing that fails part-way keeps what was already picked. ``pick`` runs in this thread
    only. Ctrl-C drops the PATCHes not yet started and waits for those in flight (at most
    ``workers`` round trips), so no thread outlives the call."""
    from concurrent.futures import ThreadPoolExecutor  # only --keep needs threads

    pending: list[tuple[str, Future[SecureAppError | None]]] = []
    listing_error: SecureAppError | None = None
    pace = _Pace(rate)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyvault-disable")
    try:
        try:
            for props in client.list_properties_of_secret_versions(name):
                version = pick(props)
                if version is not None:
                    pending.append((version, pool.submit(_disable, client, name, version,
                                                         pace)))
        except Exception as exc:
            listing_error = translate(exc, client.vault_url, name, "list")
        pool.shutdown(wait=True)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    outcomes = [(version, future.result()) for version, future in pending]
    return Disabled(versions=tuple(v for v, failed in outcomes if failed is None),
                    failures=tuple((v, failed) for v, failed in outcomes if failed is not None),
                    listing_error=listing_error)


class _Pace:
    """Spaces the starts of calls from any thread at least ``1 / rate`` seconds apart: each call
    takes the next start time under a lock, then sleeps until it outside the lock."""

    def __init__(self, rate: float) -> None:
        self._gap = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._gap
        if start > now:
            time.sleep(start - now)


def _disable(client: SecretClient, name: str, version: str, pace: _Pace) -> SecureAppError | None:
    """One PATCH (``enabled: false``; Key Vault asks the secrets 'set' permission for it). Returns
    the failure instead of raising it: the caller reports every one, not the first."""
    pace.wait()
    try:
        client.update_secret_properties(name, version, enabled=False)
    except Exception as exc:
        return translate(exc, client.vault_url, name, "set")
    return None


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
        raise SignInError(
            f"the current version of secret {name} in {_vault_name(vault_url)} expired on "
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
    return with_ids(_translate(exc, vault_url, name, permission), request_id(exc))


def request_id(exc: BaseException) -> SupportIds:
    """The ``x-ms-request-id`` of the answer an ``HttpResponseError`` carries, only if shaped like
    an id (``foundation.advice.support_id``: bounded, hex and dashes): it comes from outside."""
    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    value = support_id(headers.get("x-ms-request-id")) if hasattr(headers, "get") else None
    return ((REQUEST_ID_LABEL, value),) if value else ()


def _translate(exc: Exception, vault_url: str, name: str, permission: str) -> SecureAppError:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, SecureAppError):
        return exc
    vault = _vault_name(vault_url)
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        return credential_error(
            exc, service=f"Key Vault {vault}",
            fix="sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
            "AZURE_CLIENT_SECRET (or use workload identity) for a pipeline",
        )
    if isinstance(exc, ResourceNotFoundError):
        # Soft-deleted looks the same as never created (404) to an identity without 'list'.
        az_name = _az_vault_name(vault_url)
        recover = f"az keyvault secret recover --vault-name {az_name} --name {name}"
        return ConfigError(
            f"secret {name} does not exist in {vault}",
            fix=f"check --secret-name (KEY_VAULT_SECRET_NAME); if it was deleted, recover it "
            f"with '{recover}'; if it never existed, run 'pulumi up' or 'csp-secure-app consent'")
    if isinstance(exc, HttpResponseError) and exc.status_code == 429:
        return refusals.throttled(exc, vault)
    if isinstance(exc, HttpResponseError) and exc.status_code in (401, 403):
        text = str(exc.message or "")
        inner = refusals.codes(exc)[1]
        if inner == "ForbiddenByFirewall" or "Client address is not authorized" in text:
            return refusals.firewall(exc, vault)
        if "disabled" in text.lower():
            return ConfigError(f"the current version of secret {name} in {vault} is disabled",
                               fix="enable it in the portal, or store a new token with consent")
        if inner == "ForbiddenByRbac":
            return SignInError(
                f"this identity has no secrets '{permission}' permission on {vault} "
                f"({exc.status_code} ForbiddenByRbac: the vault uses Azure RBAC)",
                fix="assign it 'Key Vault Secrets Officer' on the token secret (add its object id "
                "to writerObjectIds with accessMode rbac) and run 'pulumi up'; access policies "
                "do nothing on an RBAC vault, and a new assignment can take a few minutes",
                error="forbidden",
            )
        return SignInError(
            f"this identity has no secrets '{permission}' permission on {vault} "
            f"({exc.status_code})",
            fix="grant it: add its object id to writerObjectIds (or the platform's app to the "
            "access policy) and run 'pulumi up'",
            error="forbidden",
        )
    if isinstance(exc, HttpResponseError) and exc.status_code == 400:
        return ConfigError(f"Key Vault {vault} rejected the request: {_first_line(exc)}",
                           fix="check the secret name and vault URL")
    if isinstance(exc, ServiceRequestError | ServiceResponseError | HttpResponseError):
        status = getattr(exc, "status_code", None)
        if status and not is_tls(exc):
            return ServiceError(f"Key Vault {vault} answered {status} after retries",
                                fix="check the vault URL, then try again later")
        return connection_error(exc, f"Key Vault {vault}")
    return ServiceError(f"Key Vault {vault} failed: {type(exc).__name__}",
                        fix="try again; if it persists, report it")


def _vault_name(vault_url: str) -> str:
    return urlsplit(vault_url).netloc or vault_url


def _az_vault_name(vault_url: str) -> str:
    """What ``az keyvault ... --vault-name`` takes: the first label of the vault's host."""
    if is_loopback_host(vault_url):
        return _vault_name(vault_url)
    return (urlsplit(vault_url).hostname or vault_url).split(".", 1)[0]


def _first_line(exc: Exception) -> str:
    """The SDK's first sentence: enough to act on, without the SDK's multi-line dump."""
    lines = str(getattr(exc, "message", None) or exc).strip().splitlines()
    first = lines[0] if lines else type(exc).__name__
    return first.split(". ")[0].rstrip(".")[:200]


def platform_key_vault_url(secret_id: str, api_version: str) -> str:
    """The module setting "Key Vault URL": the versioned identifier with the api-version the
    platform quotes (``{vault}/secrets/{name}/{version}?api-version=7.0``)."""
    return f"{secret_id.rstrip('/')}?api-version={api_version}"

