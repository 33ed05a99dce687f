"""Reading the claims of tokens we were just issued, and the checks consent and rotation share.

The tokens come straight from the token endpoint over TLS, so their signature is not what we are
checking: we read the claims to refuse, before storing anything, a token Partner Center would
reject later (no ``mfa`` in ``amr``), one for the wrong partner tenant, one issued to another app
or for another API, and an id_token that is not this sign-in's (MSAL 1.38+ validates none of the
id_token's claims but the nonce: ``aud``, ``iss`` and ``exp`` are checked here).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

from foundation.errors import SignInError

#: Clock skew tolerated on an id_token's ``exp``, as MSAL's legacy check did.
CLOCK_SKEW_SECONDS = 120


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: str
    object_id: str
    amr: tuple[str, ...]
    user: str
    expires_at: int
    #: ``aud``: the API the token is for.
    audience: str = ""
    #: ``appid`` (v1 tokens) or ``azp`` (v2): the client app the token was issued to.
    client_id: str = ""

    @property
    def has_mfa(self) -> bool:
        return "mfa" in self.amr


def read_claims(jwt: str) -> TokenClaims:
    """Decode a JWT's payload. Raises SignInError (never echoing the token) when it is not one."""
    payload = _payload(jwt, "an access token")
    amr = payload.get("amr") or ()
    return TokenClaims(
        tenant_id=str(payload.get("tid", "")),
        object_id=str(payload.get("oid", "")),
        amr=tuple(str(a) for a in amr) if isinstance(amr, list) else (),
        user=str(payload.get("upn") or payload.get("unique_name") or payload.get("oid", "")),
        expires_at=_int(payload.get("exp")),
        audience=str(payload.get("aud", "")),
        client_id=str(payload.get("appid") or payload.get("azp") or ""),
    )


def _int(value: object) -> int:
    """A numeric claim, 0 when absent or not a number (a token without ``exp`` is expired)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        return int(value)
    except ValueError:
        return 0


def _payload(jwt: str, what: str) -> dict[str, Any]:
    try:
        payload_b64 = jwt.split(".")[1]
        padded = payload_b64 + "=" * (-len(payload_b64) % 4)
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(payload, dict):
            raise ValueError("payload is not an object")
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SignInError(
            f"the identity platform returned {what} that is not a readable JWT",
            fix="check AZURE_AUTHORITY_HOST points at the Microsoft identity platform",
        ) from exc
    return payload


def _same(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def require_issued_to(claims: TokenClaims, app_id: str, audiences: tuple[str, ...]) -> None:
    """The access token was issued to the CPV app (``appid``/``azp``) for Partner Center
    (``aud``: its resource URI or application id). A token for another app or API would be
    stored as if it were ours, and fail (or worse, work elsewhere) later."""
    fix = ("check AZURE_AUTHORITY_HOST points at the Microsoft identity platform and "
           "--app-id (CPV_APP_ID) is the CPV app, then run consent again")
    if not _same(claims.client_id, app_id):
        raise SignInError(
            f"the access token was issued to the app {claims.client_id or '(none named)'}, not "
            f"the CPV app {app_id}", fix=fix, error="token_mismatch")
    if not any(_same(claims.audience, audience) for audience in audiences):
        raise SignInError(
            f"the access token is for {claims.audience or '(no audience)'}, not Partner Center",
            fix=fix, error="token_mismatch")


def require_id_token(id_token: str, app_id: str, issuer: str, *, nonce: str | None = None,
                     now: float | None = None) -> None:
    """The id_token is this sign-in's: for the CPV app (``aud``), from the tenant's issuer
    (``iss``), not expired (``exp``) and, when one was sent, echoing our ``nonce``."""
    claims = _payload(id_token, "an id_token")
    fix = "sign in again in a private window; if it recurs, check AZURE_AUTHORITY_HOST"
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and _same(a, app_id) for a in audiences):
        raise SignInError(f"the id_token was issued to {audience!s:.80}, not the CPV app "
                          f"{app_id}", fix=fix, error="token_mismatch")
    if not _same(str(claims.get("iss", "")), issuer):
        raise SignInError(f"the id_token comes from the issuer {claims.get('iss')!s:.120}, not "
                          f"{issuer}", fix=fix, error="token_mismatch")
    clock = time.time() if now is None else now
    if _int(claims.get("exp")) + CLOCK_SKEW_SECONDS < clock:
        raise SignInError("the id_token has expired: the reply is stale or replayed",
                          fix=fix + " (and that this machine's clock is right)",
                          error="token_mismatch")
    if nonce is not None and claims.get("nonce") != nonce:
        raise SignInError("the id_token's nonce is not this sign-in's: the reply belongs to "
                          "another sign-in", fix=fix, error="token_mismatch")


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
