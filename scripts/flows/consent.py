"""The partner admin's consent: one authorization-code sign-in with MFA, checked, then stored.

MSAL runs the protocol (PKCE S256, ``state``, ``nonce``, code redemption); this module decides the
options, receives the redirect, refuses any token Partner Center would reject later, hands the
refresh token to ``scripts.storage`` (which never loses it) and builds the module settings that
``csp-secure-app consent`` prints, saying what it did on the way.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from foundation.advice import to_error
from foundation.clouds import Endpoints
from foundation.errors import SignInError
from scripts import inputs, storage
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import (
    PartnerTokens,
    check_partner_result,
    confidential_client,
    identity_errors,
    public_client,
    tenant_of,
)
from scripts.flows import settings
from scripts.local import children
from scripts.local.loopback import RedirectListener, parse_pasted_url
from scripts.types import PartnerApp, Say, StorageOptions, VaultTarget

if TYPE_CHECKING:
    from scripts.adapters.identity import Keeper

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


def consent(given: inputs.ConsentInputs, ui: SignInUI, *, mode: Mode, timeout: float,
            say: Say) -> settings.ModuleSettings:
    """``csp-secure-app consent``: sign in, store the token (unless ``--store manual``: then the settings
    carry it), and the module settings for the platform's form."""
    app, target = given.app, given.target
    tokens = sign_in(app, given.endpoints, ui, mode=mode, port=given.port, timeout=timeout,
                     target=target, options=given.storage)
    say(f"Signed in as {tokens.claims.user} (MFA); Partner Center: "
        f"{tokens.profile.company_name or tokens.profile.tenant_id}.")
    # A GUID given for the tenant: the settings name its domain, as Partner Center knows it.
    domain = app.csp_domain if "." in app.csp_domain else tokens.profile.domain or app.csp_domain
    if target is None:
        return settings.build(csp_domain=domain, csp_account_id=tokens.claims.tenant_id,
                              app_id=app.app_id, app_secret=app.app_secret,
                              refresh_token=tokens.refresh_token)
    stored = store(tokens, app, target, given.endpoints, given.storage)
    say(f"Stored as a new version of {target.secret_name}: {stored.version}.")
    return settings.build(csp_domain=domain, csp_account_id=tokens.claims.tenant_id,
                          app_id=app.app_id, app_secret=app.app_secret,
                          kv_client=given.reader, secret_id=stored.secret_id)


def store(tokens: PartnerTokens, app: PartnerApp, target: VaultTarget, endpoints: Endpoints,
          options: StorageOptions | None = None) -> vault.StoredToken:
    """Store the consented token as a new version (``scripts.storage``: it is never lost).
    ``options``: None for the environment's (``scripts.inputs``)."""
    return storage.store(tokens, app, target, endpoints, options or inputs.storage_options())


def sign_in(app: PartnerApp, endpoints: Endpoints, ui: SignInUI, *, mode: Mode = "browser",
            port: int = 8400, timeout: float = 300.0, target: VaultTarget | None = None,
            options: StorageOptions | None = None) -> PartnerTokens:
    """``target``: where the token will go, recorded in the fallback file should Partner Center
    be down when the token arrives (the token is kept, never dropped). ``options``: where that
    file goes; None for the environment's (``scripts.inputs``)."""
    keep = storage.keeper(app, target, options or inputs.storage_options())
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
        # Listen before showing the link, so a busy port (or one another user squats on ::1)
        # fails before anyone signs in.
        listener = RedirectListener(port, flow["state"])
        try:
            ui.show_url(flow["auth_uri"])
            # The browser's command line is readable by every user (ps): it gets a one-time
            # local address that redirects to the sign-in page, never the state or challenge.
            if mode == "browser" and not ui.open_browser(
                    listener.start_address(flow["auth_uri"])):
                ui.tell("could not open a browser: open the link above yourself")
        except BaseException:
            listener.close()
            raise
        try:
            params = listener.wait(timeout)
        finally:
            if listener.ignored:
                ui.tell(f"ignored {listener.ignored} request(s) to the sign-in listener that "
                        "were not this run's redirect (forged, for another host, or never "
                        "finished): another program or a web page may have tried to end or "
                        "stall this sign-in")
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


def _check_flow(flow: dict[str, Any]) -> None:
    if "error" in flow:
        raise to_error(flow.get("error"), flow.get("error_description"), context="sign-in")
