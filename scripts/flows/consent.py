"""The partner admin's consent: one authorization-code sign-in with MFA, checked, then stored.

MSAL runs the protocol (PKCE S256, ``state``, ``nonce``, code redemption); this module decides the
options, receives the redirect, refuses any token Partner Center would reject later, and stores
the refresh token so that it can never be lost.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from foundation.advice import to_error
from foundation.clouds import Endpoints
from foundation.errors import ConfigError, SecureAppError, SignInError, StorageError
from scripts.adapters import keyvault as vault
from scripts.adapters.claims import TokenClaims
from scripts.adapters.identity import (
    Keeper,
    PartnerTokens,
    check_partner_result,
    confidential_client,
    identity_errors,
    public_client,
    tenant_of,
)
from scripts.inputs import PartnerApp, VaultTarget
from scripts.local import children
from scripts.local import pending as fallback
from scripts.local.loopback import RedirectListener, parse_pasted_url

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient

Mode = Literal["browser", "no-browser", "paste", "device-code"]

#: ``prompt=login`` makes the identity platform ask for credentials (and so MFA) even when the
#: browser has a session: the partner guide's "use a private window, sign out of other Microsoft
#: accounts first" advice, automated. ``select_account`` would let an existing session (maybe a
#: customer's or a non-admin's) through without a fresh sign-in; ``consent`` alone would not
#: force re-authentication.
PROMPT = "login"


@dataclass
class SignInUI:
    """How the sign-in talks to the person: injected so tests and `demo` can play the user."""

    show_url: Callable[[str], None]
    #: Launches the browser without our credentials in its environment (scripts.local.children).
    open_browser: Callable[[str], bool] = children.open_browser
    read_pasted: Callable[[], str] = input
    tell: Callable[[str], None] = field(default=lambda _msg: None)


def sign_in(app: PartnerApp, endpoints: Endpoints, ui: SignInUI, *, mode: Mode = "browser",
            port: int = 8400, timeout: float = 300.0,
            target: VaultTarget | None = None) -> PartnerTokens:
    """``target``: where the token will go, recorded in the fallback file should Partner Center
    be down when the token arrives (the token is kept, never dropped)."""
    keep = _keeper(app, target)
    if mode == "device-code":
        return _device_code_sign_in(app, endpoints, ui, timeout, keep)
    client = confidential_client(app, endpoints)
    redirect_uri = f"http://localhost:{port}"
    with warnings.catch_warnings():
        # MSAL recommends response_mode=form_post for web apps. This is a native app with a
        # loopback redirect (RFC 8252 uses the query there): the code is single-use and
        # PKCE-bound, and only a query lets --paste work, since a POST cannot be pasted.
        warnings.filterwarnings("ignore", message="response_mode", category=UserWarning)
        flow = client.initiate_auth_code_flow(
            scopes=[endpoints.partner_center_scope], redirect_uri=redirect_uri, prompt=PROMPT)
    _check_flow(flow)
    if mode == "paste":
        ui.show_url(flow["auth_uri"])
        params = parse_pasted_url(ui.read_pasted(), flow["state"])
    else:
        # Listen before showing the link, so a busy port fails before anyone signs in.
        listener = RedirectListener(port, flow["state"])
        try:
            ui.show_url(flow["auth_uri"])
            if mode == "browser" and not ui.open_browser(flow["auth_uri"]):
                ui.tell("could not open a browser: open the link above yourself")
        except BaseException:
            listener.close()
            raise
        params = listener.wait(timeout)
    if "error" in params:
        raise to_error(params["error"], params.get("error_description"), context="sign-in")
    try:
        with identity_errors(endpoints):
            result = client.acquire_token_by_auth_code_flow(flow, params)
    except ValueError as exc:  # state or nonce mismatch, detected by MSAL
        raise SignInError("the sign-in response did not match this sign-in (state or nonce)",
                          fix="run consent again") from exc
    return check_partner_result(result, app, endpoints, tenant_of(client, app), keep=keep)


def _device_code_sign_in(app: PartnerApp, endpoints: Endpoints, ui: SignInUI,
                         timeout: float, keep: Keeper) -> PartnerTokens:
    """``--device-code``: for an admin whose browser is on another machine. Only for CPV apps
    that allow public client flows: the device code grant carries no client secret."""
    client = public_client(app, endpoints)
    with identity_errors(endpoints):
        flow = client.initiate_device_flow(scopes=[endpoints.partner_center_scope])
    if "user_code" not in flow:
        raise to_error(flow.get("error"), flow.get("error_description"),
                       flow.get("error_codes") or (), context="device code sign-in")
    # MSAL polls until the code expires; --timeout shortens that, never lengthens it.
    flow["expires_at"] = min(float(flow["expires_at"]), time.time() + timeout)
    ui.show_url(str(flow["message"]))
    with identity_errors(endpoints):
        result = client.acquire_token_by_device_flow(flow)
    if result.get("error") == "authorization_pending":  # our --timeout ran out first
        raise SignInError(f"the device code sign-in did not finish within {int(timeout)} s",
                          fix="run consent again and enter the code sooner", error="timeout")
    return check_partner_result(result, app, endpoints, tenant_of(client, app), keep=keep)


def _keeper(app: PartnerApp, target: VaultTarget | None) -> Keeper:
    def keep(refresh_token: str, claims: TokenClaims) -> Path:
        return fallback.keep(_pending(refresh_token, claims, app, target))

    return keep


def _pending(refresh_token: str, claims: TokenClaims, app: PartnerApp,
             target: VaultTarget | None) -> fallback.PendingToken:
    return fallback.PendingToken(
        refresh_token=refresh_token, tenant_id=claims.tenant_id, app_id=app.app_id,
        vault_url=target.vault_url if target else "",
        secret_name=target.secret_name if target else "", user=claims.user, obtained_at=_now())


def _check_flow(flow: dict[str, Any]) -> None:
    if "error" in flow:
        raise to_error(flow.get("error"), flow.get("error_description"), context="sign-in")


def store(tokens: PartnerTokens, app: PartnerApp, target: VaultTarget, endpoints: Endpoints,
          *, source: str = "consent", client: SecretClient | None = None) -> vault.StoredToken:
    """Store the refresh token as a new secret version, never losing it.

    The owner-only fallback file is written first and removed only once the vault has confirmed
    the new version: a vault error, a crash or Ctrl-C in between leaves the token recoverable.
    ``client``: the writer's vault client when the caller already has one (rotate), so the same
    credential and token serve the read and the write.
    """
    pending = _pending(tokens.refresh_token, tokens.claims, app, target)
    path = fallback.keep(pending)
    stored = _push(pending, target, endpoints, path, source, client)
    fallback.discard(path)
    return stored


def store_pending(
    path: Path, endpoints: Endpoints, target: VaultTarget | None = None
) -> vault.StoredToken:
    """``invoke store-token --from-file PATH``: push a kept token, then delete its file."""
    pending = fallback.load(path)
    target = target or VaultTarget(vault_url=pending.vault_url, secret_name=pending.secret_name)
    if not target.vault_url or not target.secret_name:
        raise ConfigError(f"{path} names no vault (it was kept by a consent with --store manual)",
                          fix="pass --vault-url and --secret-name")
    stored = _push(pending, target, endpoints, path, "store-token")
    fallback.discard(path)
    return stored


def _push(pending: fallback.PendingToken, target: VaultTarget, endpoints: Endpoints, path: Path,
          source: str, client: SecretClient | None = None) -> vault.StoredToken:
    retry = f"run 'invoke store-token --from-file {path}'"
    try:
        client = client or vault.secret_client(target.vault_url,
                                               vault.writer_credential(endpoints))
        tags = vault.token_tags(source=source, user=pending.user, tenant_id=pending.tenant_id,
                                app_id=pending.app_id)
        return vault.store_token(client, target.secret_name, pending.refresh_token, tags)
    except SecureAppError as exc:
        raise StorageError(
            f"the refresh token was not stored ({exc.message}); it is kept in {path}",
            fix=f"{(exc.fix or 'fix the cause').rstrip('.')}, then {retry}",
            fallback_path=str(path),
        ) from None
    except KeyboardInterrupt:
        raise StorageError(f"interrupted while storing; the refresh token is kept in {path}",
                           fix=retry, fallback_path=str(path)) from None


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
