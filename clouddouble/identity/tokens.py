"""JWT minting and checking: one RS256 signing key per double, published as a JWKS.

Access tokens follow the v1 shape Partner Center, Key Vault and Graph receive from Entra (``aud`` =
resource URI, ``appid``, ``scp`` or ``roles``, ``amr``); id tokens the v2 OIDC shape (``aud`` =
client id, ``nonce`` echoed verbatim from the authorize request, which MSAL checks).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from ..clock import Clock

ACCESS_TOKEN_LIFETIME = 3599
#: How many tokens whose signature checked out are remembered (``TokenIssuer.verify``).
SIGNED_CACHE_SIZE = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def client_info(uid: str, utid: str) -> str:
    """The ``client_info`` MSAL asks for with ``client_info=1``: base64url JSON {uid, utid}."""
    return b64url(json.dumps({"uid": uid, "utid": utid}).encode())


class TokenRejected(Exception):
    """Why a presented bearer token is not acceptable (message safe to return to the caller)."""


@dataclass(frozen=True)
class Subject:
    """Who a token is for: a user (delegated) or a service principal (app-only)."""

    tenant_id: str
    object_id: str
    upn: str | None = None
    name: str | None = None
    amr: tuple[str, ...] = ()


class TokenIssuer:
    def __init__(self, clock: Clock, authority_host: str) -> None:
        self.clock = clock
        self.authority_host = authority_host
        # 2048-bit RSA takes ~50 ms: fine for a double that must start in under a second.
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:27]
        #: Test hook: claims to overwrite in the user tokens issued to one client app, by kind
        #: ("access", "id"); a value of None removes the claim. Keyed by the client (a test's
        #: own CPV app) so a forgery never leaks into another test sharing the double.
        self._forged: dict[tuple[str, str], dict[str, Any]] = {}
        #: Tokens whose RS256 signature already checked out, and their claims. The signing key
        #: never changes, so a token's signature verdict never does either: a client that pages
        #: through thousands of Graph pages with one access token is not re-verified (PyJWT
        #: costs about half a millisecond a token). Audience, issuer and lifetime are checked on
        #: every request, against the double's clock as it is then.
        self._signed: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._signed_lock = threading.Lock()

    def forge(self, client_id: str, kind: str, **claims: Any) -> None:
        """From now on, the ``kind`` ("access" or "id") tokens issued to ``client_id`` for a user
        carry ``claims`` instead of the true ones: a token for another app, another audience, a
        stale or foreign id_token, as a compromised or misdirected token endpoint would issue."""
        if kind not in ("access", "id"):
            raise ValueError(f"unknown token kind {kind!r}")
        self._forged.setdefault((client_id.lower(), kind), {}).update(claims)

    def _apply_forgery(self, client_id: str, kind: str, claims: dict[str, Any]) -> None:
        for name, value in self._forged.get((client_id.lower(), kind), {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()

        def enc(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": enc(numbers.n),
                    "e": enc(numbers.e),
                }
            ]
        }

    def v1_issuer(self, tenant_id: str) -> str:
        return f"{self.authority_host}/{tenant_id}/"

    def v2_issuer(self, tenant_id: str) -> str:
        return f"{self.authority_host}/{tenant_id}/v2.0"

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def access_token(
        self,
        subject: Subject,
        audience: str,
        client_id: str,
        scopes: set[str] | None = None,
        roles: set[str] | None = None,
    ) -> tuple[str, int]:
        """Returns (token, lifetime seconds). ``scopes`` → delegated ``scp``; ``roles`` → app."""
        now = self.clock.timestamp()
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.v1_issuer(subject.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "appid": client_id,
            "azp": client_id,
            "appidacr": "1",
            "idtyp": "user" if scopes is not None else "app",
            "oid": subject.object_id,
            "sub": subject.object_id,
            "tid": subject.tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
        }
        if scopes is not None:
            claims["scp"] = " ".join(sorted(scopes))
            claims["amr"] = list(subject.amr)
            if subject.upn:
                claims["upn"] = subject.upn
                claims["unique_name"] = subject.upn
            if subject.name:
                claims["name"] = subject.name
            self._apply_forgery(client_id, "access", claims)
        else:
            claims["roles"] = sorted(roles or ())
        return self._sign(claims), ACCESS_TOKEN_LIFETIME

    def id_token(self, subject: Subject, client_id: str, nonce: str | None) -> str:
        now = self.clock.timestamp()
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": self.v2_issuer(subject.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "oid": subject.object_id,
            "sub": subject.object_id,
            "tid": subject.tenant_id,
            "preferred_username": subject.upn,
            "name": subject.name,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        self._apply_forgery(client_id, "id", claims)
        return self._sign(claims)

    def verify(self, token: str, audiences: tuple[str, ...]) -> dict[str, Any]:
        """Signature, issuer shape, audience and lifetime (against the double's clock)."""
        claims = self._signed_claims(token)
        aud = str(claims.get("aud", "")).rstrip("/").lower()
        if aud not in {a.rstrip("/").lower() for a in audiences}:
            raise TokenRejected(f"invalid audience '{claims.get('aud')}'")
        tid = str(claims.get("tid", ""))
        if claims.get("iss") != self.v1_issuer(tid):
            raise TokenRejected("invalid issuer")
        now = self.clock.timestamp()
        if int(claims.get("exp", 0)) <= now:
            raise TokenRejected("the token is expired")
        if int(claims.get("nbf", 0)) > now + 300:
            raise TokenRejected("the token is not yet valid")
        return claims

    def _signed_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token this double signed (a fresh copy each call), else
        TokenRejected. Only a good signature is remembered; a bad one is checked every time."""
        with self._signed_lock:
            known = self._signed.get(token)
            if known is not None:
                self._signed.move_to_end(token)
                copy: dict[str, Any] = json.loads(json.dumps(known))
                return copy
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                # Lifetimes are checked by ``verify`` against the double's clock, which tests
                # advance; PyJWT would check iat/exp/nbf against the real clock.
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected("invalid token signature") from exc
        with self._signed_lock:
            self._signed[token] = json.loads(json.dumps(claims))
            while len(self._signed) > SIGNED_CACHE_SIZE:
                self._signed.popitem(last=False)
        return claims


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
