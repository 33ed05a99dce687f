"""Server-side state of sign-ins: pending authorize transactions, authorization codes, refresh
tokens and device codes. Kept here (not in cookies or JavaScript) so the HTML pages work for any
client, including the programmatic user in ``browser.py``.

Refresh tokens are opaque random strings, as Entra's are to clients; only their records here carry
meaning (client, user, tenant, MFA time, expiry).
"""

from __future__ import annotations

import dataclasses
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .directory import App, Tenant, User
from .scopes import ScopeRequest

CODE_LIFETIME = timedelta(minutes=10)
REFRESH_LIFETIME = timedelta(days=90)
DEVICE_CODE_LIFETIME = timedelta(minutes=15)
TRANSACTION_LIFETIME = timedelta(hours=1)


@dataclass
class AuthRequest:
    """A validated authorize (or devicecode) request."""

    path_tenant: str
    tenant: Tenant | None  # None for organizations/common
    app: App
    scopes: ScopeRequest
    redirect_uri: str | None = None
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: str | None = None
    login_hint: str | None = None
    response_mode: str = "query"


@dataclass
class SignIn:
    """Who signed in and how: the facts every token minted from this sign-in carries."""

    user: User
    tenant_id: str  # the tenant tokens are issued for
    amr: tuple[str, ...]
    auth_time: datetime


@dataclass
class Transaction:
    id: str
    request: AuthRequest
    created: datetime
    stage: str = "login"  # login -> mfa -> consent -> done
    sign_in: SignIn | None = None
    pending_user: User | None = None
    device_code: str | None = None


@dataclass
class AuthCode:
    request: AuthRequest
    sign_in: SignIn
    issued: datetime
    redeemed: bool = False


@dataclass
class RefreshToken:
    client_id: str
    sign_in: SignIn
    issued: datetime
    expires: datetime


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    request: AuthRequest
    expires: datetime
    status: str = "pending"  # pending | approved | declined | redeemed
    sign_in: SignIn | None = None


@dataclass
class AuthState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    device_codes: dict[str, DeviceCode] = field(default_factory=dict)

    def new_transaction(self, request: AuthRequest, now: datetime) -> Transaction:
        with self.lock:
            self._prune(now)
            tx = Transaction(secrets.token_urlsafe(24), request, now)
            self.transactions[tx.id] = tx
            return tx

    def transaction(self, tx_id: str, now: datetime) -> Transaction | None:
        with self.lock:
            tx = self.transactions.get(tx_id)
            if tx is None or now - tx.created > TRANSACTION_LIFETIME:
                return None
            return tx

    def bind_to_another_challenge(self, code: str) -> None:
        """Make ``code`` one that a different sign-in attempt asked for: its PKCE challenge is
        no longer the redeemer's, so redeeming it gets Entra's PKCE refusal (AADSTS50148) with
        a valid state. What a redirect from an older or parallel sign-in looks like."""
        with self.lock:
            record = self.codes[code]
            record.request = dataclasses.replace(
                record.request, code_challenge=secrets.token_urlsafe(32),
                code_challenge_method="S256")

    def issue_code(self, request: AuthRequest, sign_in: SignIn, now: datetime) -> str:
        with self.lock:
            # Real codes are long opaque strings starting with a version marker.
            value = "1.A" + secrets.token_urlsafe(48)
            self.codes[value] = AuthCode(request, sign_in, now)
            return value

    def issue_refresh_token(self, client_id: str, sign_in: SignIn, now: datetime) -> str:
        with self.lock:
            value = "1.A" + secrets.token_urlsafe(96)
            self.refresh_tokens[value] = RefreshToken(
                client_id, sign_in, now, now + REFRESH_LIFETIME
            )
            return value

    def new_device_code(self, request: AuthRequest, now: datetime) -> DeviceCode:
        with self.lock:
            alphabet = string.ascii_uppercase + string.digits
            user_code = "".join(secrets.choice(alphabet) for _ in range(9))
            code = DeviceCode(
                "DAQAB" + secrets.token_urlsafe(48),
                user_code,
                request,
                now + DEVICE_CODE_LIFETIME,
            )
            self.device_codes[code.device_code] = code
            return code

    def device_by_user_code(self, user_code: str) -> DeviceCode | None:
        with self.lock:
            for code in self.device_codes.values():
                if code.user_code == user_code.strip().upper():
                    return code
            return None

    def refresh_tokens_of(self, upn: str | None) -> list[RefreshToken]:
        with self.lock:
            return [
                rt
                for rt in self.refresh_tokens.values()
                if upn is None or rt.sign_in.user.upn.lower() == upn.lower()
            ]

    def _prune(self, now: datetime) -> None:
        """Drop stale transactions and codes so a long demo run never grows without bound."""
        self.transactions = {
            k: t for k, t in self.transactions.items() if now - t.created <= TRANSACTION_LIFETIME
        }
        self.codes = {k: c for k, c in self.codes.items() if now - c.issued <= CODE_LIFETIME * 6}
        self.device_codes = {
            k: d for k, d in self.device_codes.items() if d.expires + CODE_LIFETIME > now
        }
