"""Reading the claims of tokens we were just issued, and the checks consent and rotation share.

The tokens come straight from the token endpoint over TLS, so their signature is not what we are
checking: we read the claims to refuse, before storing anything, a token Partner Center would
reject later (no ``mfa`` in ``amr``) or one for the wrong partner tenant.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from foundation.errors import SignInError


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: str
    object_id: str
    amr: tuple[str, ...]
    user: str
    expires_at: int

    @property
    def has_mfa(self) -> bool:
        return "mfa" in self.amr


def read_claims(jwt: str) -> TokenClaims:
    """Decode a JWT's payload. Raises SignInError (never echoing the token) when it is not one."""
    try:
        payload_b64 = jwt.split(".")[1]
        padded = payload_b64 + "=" * (-len(payload_b64) % 4)
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(payload, dict):
            raise ValueError("payload is not an object")
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SignInError(
            "the identity platform returned an access token that is not a readable JWT",
            fix="check AZURE_AUTHORITY_HOST points at the Microsoft identity platform",
        ) from exc
    amr = payload.get("amr") or ()
    return TokenClaims(
        tenant_id=str(payload.get("tid", "")),
        object_id=str(payload.get("oid", "")),
        amr=tuple(str(a) for a in amr) if isinstance(amr, list) else (),
        user=str(payload.get("upn") or payload.get("unique_name") or payload.get("oid", "")),
        expires_at=int(payload.get("exp", 0)),
    )


def require_partner_token(claims: TokenClaims, expected_tenant_id: str | None) -> None:
    """Checks every Partner Center App+User token must pass before its refresh token is stored."""
    if not claims.has_mfa:
        raise SignInError(
            f"the sign-in of {claims.user or 'the user'} did not use MFA (amr has no 'mfa'), "
            "and Partner Center rejects such tokens with 'MFA required'",
            fix="enforce MFA for the account (security defaults or conditional access), "
            "then run consent again",
            error="mfa_required",
        )
    if expected_tenant_id and claims.tenant_id.lower() != expected_tenant_id.lower():
        raise SignInError(
            f"the token is for tenant {claims.tenant_id}, not the CSP tenant {expected_tenant_id}",
            fix=f"check that --csp-domain (CSP_DOMAIN) names the partner tenant "
            f"{expected_tenant_id}, and sign in with an admin account of that tenant in a "
            "private window",
            error="tenant_mismatch",
        )
