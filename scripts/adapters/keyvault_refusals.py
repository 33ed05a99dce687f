"""Key Vault's refusals, told apart: each one's cause and fix, from the status and the codes of
the reply body (never from its free text, which could carry control characters or a token).

Every refusal of Key Vault is 403 ``Forbidden``; the inner code tells them apart (Learn, "Azure
Key Vault REST API error codes", and the real replies quoted in ``clouddouble/shapes.py``).
:func:`translate` turns any SDK exception into one typed error. Only a failure needs this
module: ``scripts.adapters.keyvault`` imports it when something went wrong.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from foundation.clouds import is_loopback_host
from foundation.errors import ConfigError, SecureAppError, ServiceError, SignInError
from foundation.network.failures import connection_error, credential_error, is_tls

if TYPE_CHECKING:
    from azure.core.exceptions import HttpResponseError

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")
_CLIENT_ADDRESS = re.compile(r"Client address: ([0-9A-Fa-f:.]{2,45})")


def codes(exc: HttpResponseError) -> tuple[str, str]:
    """(``error.code``, ``error.innererror.code``) of Key Vault's JSON reply; "" where the body
    has none (plain text, HTML from a proxy). Only code-shaped strings are kept: never server
    text that could carry control characters into the one error line."""
    response = getattr(exc, "response", None)
    try:
        body = json.loads(response.text()) if response is not None else None
    except (ValueError, TypeError, AttributeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    inner = error.get("innererror")
    inner_code = inner.get("code") if isinstance(inner, dict) else None
    return _code_or_empty(error.get("code")), _code_or_empty(inner_code)


def _code_or_empty(value: object) -> str:
    return value if isinstance(value, str) and _CODE.match(value) else ""


def firewall(exc: HttpResponseError, vault: str) -> SignInError:
    """The vault's network rules refused this machine: name the address the vault saw (parsed
    and re-printed as an IP address, so no server text reaches the line) and where to allow it."""
    found = _CLIENT_ADDRESS.search(str(exc.message or exc))
    try:
        address = str(ipaddress.ip_address(found.group(1))) if found else ""
    except ValueError:
        address = ""
    seen = f"this machine's address {address}" if address else "this machine's address"
    allow = address or "this machine's public address"
    return SignInError(
        f"Key Vault {vault} refused {seen}: its firewall (network rules) does not allow it "
        "(403 ForbiddenByFirewall); the identity's permissions were not checked",
        fix=f"add {allow} to writerIpRanges (where consent and rotate run) or allowedIpRanges "
        "(the platform's egress addresses) in the stack config and run 'pulumi up', or run from "
        "an allowed network; GitHub-hosted runners change address: use a self-hosted runner with "
        "a fixed address, or add and remove a temporary rule ('az keyvault network-rule add')",
        error="firewall",
    )


def throttled(exc: HttpResponseError, vault: str) -> ServiceError:
    """429 after azure-core's retries (each slept for the advertised ``Retry-After``), whatever
    the body: Key Vault's JSON ``Throttled``, or plain text from something in front of it."""
    code = codes(exc)[0]
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    raw = str(headers.get("Retry-After") or "").strip()
    seconds = int(raw) if raw.isdigit() else None
    asked = f"; it asked to wait {seconds} s" if seconds is not None else ""
    return ServiceError(
        f"Key Vault {vault} throttled the requests (429{' ' + code if code else ''}) and kept "
        f"refusing after retries{asked}; nothing was changed",
        fix=f"try again in {max(seconds or 0, 60)} s or later; if it keeps happening, fewer "
        "jobs should call this vault at the same time",
        error="throttled",
    )


def role_not_effective(vault: str, waited: float, wait_env: str) -> SignInError:
    """The write was still refused with ``ForbiddenByRbac`` when the wait for propagation ended."""
    return SignInError(
        f"this identity still has no secrets 'set' permission on {vault} after "
        f"waiting {waited:g} s for a role assignment to take effect (403 ForbiddenByRbac)",
        fix="check that it holds 'Key Vault Secrets Officer' on the token secret (add its object "
        "id to writerObjectIds with accessMode rbac, then 'pulumi up'); if the role was assigned "
        f"just now, wait a few minutes (or set {wait_env} to wait longer)",
        error="forbidden",
    )


def translate(exc: Exception, vault_url: str, name: str, permission: str) -> SecureAppError:
    """One SDK exception -> one typed error with the cause and the fix (without Key Vault's
    request id, which ``scripts.adapters.keyvault.translate`` adds). Never includes a token."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, SecureAppError):
        return exc
    vault = vault_name(vault_url)
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        return credential_error(
            exc, service=f"Key Vault {vault}",
            fix="sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
            "AZURE_CLIENT_SECRET (or use workload identity) for a pipeline",
        )
    if isinstance(exc, ResourceNotFoundError):
        # Soft-deleted looks the same as never created (404) to an identity without 'list'.
        az_name = az_vault_name(vault_url)
        recover = f"az keyvault secret recover --vault-name {az_name} --name {name}"
        return ConfigError(
            f"secret {name} does not exist in {vault}",
            fix=f"check --secret-name (KEY_VAULT_SECRET_NAME); if it was deleted, recover it "
            f"with '{recover}'; if it never existed, run 'pulumi up' or 'csp-secure-app consent'")
    if isinstance(exc, HttpResponseError) and exc.status_code == 429:
        return throttled(exc, vault)
    if isinstance(exc, HttpResponseError) and exc.status_code in (401, 403):
        return _refused(exc, vault, name, permission)
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


def _refused(exc: HttpResponseError, vault: str, name: str, permission: str) -> SecureAppError:
    """401 or 403: the firewall, a disabled version, no role (RBAC) or no access policy."""
    text = str(exc.message or "")
    inner = codes(exc)[1]
    if inner == "ForbiddenByFirewall" or "Client address is not authorized" in text:
        return firewall(exc, vault)
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


def vault_name(vault_url: str) -> str:
    return urlsplit(vault_url).netloc or vault_url


def az_vault_name(vault_url: str) -> str:
    """What ``az keyvault ... --vault-name`` takes: the first label of the vault's host."""
    if is_loopback_host(vault_url):
        return vault_name(vault_url)
    return (urlsplit(vault_url).hostname or vault_url).split(".", 1)[0]


def _first_line(exc: Exception) -> str:
    """The SDK's first sentence: enough to act on, without the SDK's multi-line dump."""
    lines = str(getattr(exc, "message", None) or exc).strip().splitlines()
    first = lines[0] if lines else type(exc).__name__
    return first.split(". ")[0].rstrip(".")[:200]
