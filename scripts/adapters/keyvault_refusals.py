"""Key Vault's refusals, told apart: each one's cause and fix, from the status and the codes of
the reply body (never from its free text, which could carry control characters or a token).

Every refusal of Key Vault is 403 ``Forbidden``; the inner code tells them apart (Learn, "Azure
Key Vault REST API error codes", and the real replies quoted in ``clouddouble/shapes.py``).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import TYPE_CHECKING

from foundation.errors import ServiceError, SignInError

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
